"""A study's results, typed: what the study runner's ``build_results`` assembles, ``report.json``
holds and every report renderer reads by attribute.

This module is the source of truth for the fields; ``report/SCHEMA.md`` explains what they mean
and how the reports use them. Each record is strict about names (an unknown or misspelt key is a
validation error, not a silent ``KeyError`` in the report) and faithful about layout: a document
read from JSON is written back with its keys in the order it was read and without the fields it
did not have, so ``StudyResults.model_validate(d).to_json()`` is ``json.dumps(d, indent=2) + "\\n"``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    ValidationError,
    ValidatorFunctionWrapHandler,
    model_serializer,
    model_validator,
)
from pydantic_core import ErrorDetails

from alignscope.errors import AlignscopeError, located

if TYPE_CHECKING:
    from typing_extensions import Self  # typing.Self needs Python 3.11

__all__ = [
    "Aggregate",
    "BenchmarkInfo",
    "Comparison",
    "Example",
    "FineTuneVerdict",
    "Flip",
    "Grid",
    "GridCell",
    "JudgeLabel",
    "Level",
    "MetricRow",
    "ModelInfo",
    "PromptRef",
    "Provenance",
    "Reference",
    "Skipped",
    "StudyResults",
    "Truncation",
    "load_results",
]

Level = bool | int | float | str | None  # one grid axis level, as the study file wrote it
JudgeLabel = str | int | float | None  # a judge's label, its numeric score, or "error"
Expected = Literal["refuse", "comply"]


class _Record(BaseModel):
    """Base of every results record: unknown keys are errors, and key order survives a round trip.

    Fields a document did not have stay unset, and ``to_json`` leaves them out, so results
    written before a field existed are written back unchanged.
    """

    model_config = ConfigDict(extra="forbid")

    # The keys in the order the document (or the constructor call) gave them.
    _order: tuple[str, ...] = PrivateAttr(default=())

    @model_validator(mode="wrap")
    @classmethod
    def _remember_order(cls, data: Any, handler: ValidatorFunctionWrapHandler) -> Self:
        record = handler(data)
        if isinstance(data, dict):
            record._order = tuple(data)
        return record

    @model_serializer(mode="wrap")
    def _in_order(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        out = handler(self)
        return {**{key: out[key] for key in self._order if key in out}, **out}


# ------------------------------------------------------------------------------- models


class GridCell(_Record):
    """Which cell of which grid a model is."""

    name: str = Field(description="the grid (its finetune entry's name)")
    params: dict[str, Level] = Field(description="the cell's level on every non-seed axis")
    seed: int | None = Field(description="the cell's seed; null without a seed axis")


class ModelInfo(_Record):
    """One model of the study: the base, the aligned model, or a fine-tune."""

    key: str = Field(description="unique key every other field refers to the model by")
    label: str = Field(description="display name")
    parent: str | None = Field(None, description="key of the model it was fine-tuned from")
    recipe: str | None = Field(None, description="the recipe that made it from its parent")
    fingerprint: str | None = Field(None, description="content hash of its weights")
    path: str | None = Field(None, description="local directory, Hub id or api name")
    eval_system_prompt: str | None = Field(None, description="system prompt used when evaluating it")
    info: dict[str, Any] = Field(default_factory=dict, description="the recipe's own record (free-form)")
    grid: GridCell | None = Field(None, description="the grid cell it is, or null")
    backend: str | None = Field(None, description="engine that wrote its responses: hf, vllm, api (or a+b)")
    served_name: str | None = Field(None, description="api: the model name sent with each request")
    base_url: str | None = Field(None, description="api: the endpoint, without user info, query or key")
    tensor_parallel_size: int | None = Field(None, description="vllm: GPUs per model")
    lora_unmerged: bool | None = Field(None, description="vllm: an adapter served without merging")


class BenchmarkInfo(_Record):
    """One benchmark's prompt set and where it came from."""

    name: str = Field(description="the benchmark's name in the study")
    expected: Expected = Field(description="the first prompt's expected behaviour (unreliable for mixed sets)")
    n: int | None = Field(None, description="number of prompts")
    rows: int | None = Field(None, description="number of prompts, in results that predate `n`")
    source: str | None = Field(None, description="exact source: builtin:<name>, a path, or an hf: id")
    sha256: str | None = Field(None, description="hash of the prompt ids and texts (or loaded records)")
    revision: str | None = Field(None, description="the source's revision, for a registry set")
    notes: str | list[str] | None = Field(None, description="notes on the data, e.g. which release")


# ------------------------------------------------------------------------------ numbers


class MetricRow(_Record):
    """One metric of one judge for one model on one benchmark (or one of its categories).

    ``value``, ``ci_low`` and ``ci_high`` are null when nothing was scored; the interval also
    when fewer than two responses were.
    """

    model: str = Field(description="model key")
    benchmark: str = Field(description="benchmark name")
    category: str | None = Field(None, description="the prompt category; per_category rows only")
    judge: str = Field(description="the judge's display name (a key of provenance.judges)")
    judge_kind: str = Field(description="what the judge measures: refusal, harm-score, guard, ...")
    metric: str = Field(description="asr, over_refusal, harmfulness_score, ...")
    value: float | None = Field(description="a fraction in [0, 1], or a mean on the judge's scale")
    ci_low: float | None = Field(description="95% interval, low end")
    ci_high: float | None = Field(description="95% interval, high end")
    n: int = Field(description="prompts")
    n_scored: int = Field(description="verdicts that count: n - n_failed")
    n_failed: int = Field(description="verdicts the judge could not give or that did not parse")


class Example(_Record):
    """One model's response to one prompt, with every judge's verdict on it."""

    model: str = Field(description="model key")
    benchmark: str = Field(description="benchmark name")
    prompt_id: str = Field(description="the prompt's id")
    category: str = Field(description="the prompt's category")
    prompt: str = Field(description="prompt text, verbatim: escape it")
    response: str = Field(description="the model's response, verbatim: escape it")
    label: str | None = Field(None, description="the first judge's label, kept for older readers")
    labels: dict[str, JudgeLabel] = Field(default_factory=dict, description="judge display name -> verdict")


# ----------------------------------------------------------------------- study designs


class Grid(_Record):
    """A set of fine-tunes that differ only in a few settings (its axes)."""

    name: str = Field(description="the finetune entry the grid came from")
    axes: list[str] = Field(description="non-seed axes, in study order")
    values: dict[str, list[Level]] = Field(description="each axis's levels, in study order")
    seeds: list[int | None] = Field(description="seeds; [null] or [0] without a seed axis")
    cells: list[str] = Field(description="model keys of the cells")
    parent: str | None = Field(description="the model every cell was fine-tuned from")
    kind: Literal["numeric", "factorial"] = Field(description="factorial when any level is a string or bool")


class Comparison(_Record):
    """Model ``b`` against model ``a`` on the prompts both scored; ``diff`` is b - a."""

    a: str = Field(description="model key of the first model")
    b: str = Field(description="model key of the second model")
    why: str = Field(description="parent, factor:<axis> or requested")
    benchmark: str = Field(description="benchmark name")
    judge: str = Field(description="judge display name")
    metric: str = Field(description="metric name")
    n: int = Field(description="prompts both models had scored")
    a_value: float | None = Field(description="a's value on those prompts")
    b_value: float | None = Field(description="b's value on those prompts")
    diff: float | None = Field(description="b - a (fraction or scale points, as the metric)")
    ci_low: float | None = Field(description="95% paired bootstrap interval of diff, low end")
    ci_high: float | None = Field(description="95% paired bootstrap interval of diff, high end")
    test: Literal["mcnemar-exact", "paired-bootstrap"] = Field(description="the test behind p")
    p: float | None = Field(description="two-sided p, uncorrected")
    discordant: list[int] | None = Field(description="[a only, b only] for binary metrics, else null")


class Aggregate(_Record):
    """The mean over seeds of one grid cell, with a Student-t interval over seeds."""

    grid: str = Field(description="grid name")
    params: dict[str, Level] = Field(description="the cell's levels, without the seed")
    benchmark: str = Field(description="benchmark name")
    judge: str = Field(description="judge display name")
    metric: str = Field(description="metric name")
    value: float | None = Field(description="mean over seeds")
    ci_low: float | None = Field(description="95% t-interval over seeds, low end (null with one seed)")
    ci_high: float | None = Field(description="95% t-interval over seeds, high end")
    n_seeds: int = Field(description="seeds averaged")
    models: list[str] = Field(description="model keys of the seeds")


class PromptRef(_Record):
    """A prompt named in a flip."""

    prompt_id: str = Field(description="the prompt's id")
    category: str = Field(description="the prompt's category")
    prompt: str = Field(description="prompt text, verbatim: escape it, behind a content warning")


class Flip(_Record):
    """A fine-tuned model against its parent under one refusal judge, prompt by prompt."""

    model: str = Field(description="the fine-tuned model's key")
    parent: str = Field(description="its parent's key")
    benchmark: str = Field(description="benchmark name")
    judge: str = Field(description="refusal judge display name")
    n: int = Field(description="harmful prompts both models had scored")
    broken: list[PromptRef] = Field(description="prompts the parent refused and the model answers")
    fixed: list[PromptRef] = Field(description="prompts the parent answered and the model refuses")


class Reference(_Record):
    """A number quoted from a paper for one of this study's models."""

    model: str = Field(description="model key")
    metric: str = Field(description="the paper's metric, e.g. harmfulness_rate")
    value: float = Field(description="the paper's figure")
    source: str = Field(description="paper, table, and the paper's model and judge")
    benchmark: str | None = Field(None, description="where it is measured here; null: the first harmful one")


class Truncation(_Record):
    """The share of one model's responses to one benchmark that hit the token limit."""

    model: str = Field(description="model key")
    benchmark: str = Field(description="benchmark name")
    value: float | None = Field(description="share with finish reason `length`")
    ci_low: float | None = Field(description="95% Wilson interval, low end")
    ci_high: float | None = Field(description="95% Wilson interval, high end")
    n: int = Field(description="responses")
    n_scored: int = Field(description="responses with a finish reason (all of them)")
    n_failed: int = Field(description="always 0: kept so the row formats like a metric row")


class FineTuneVerdict(_Record):
    """The headline answer for one fine-tune on one harmful benchmark (see ``alignscope.verdict``)."""

    model: str = Field(description="the fine-tune's model key")
    parent: str = Field(description="the model it is compared with")
    benchmark: str = Field(description="benchmark name")
    judge: str = Field(description="the refusal judge whose ASR decides")
    verdict: Literal["safety degraded", "safety improved", "no significant change", "inconclusive (underpowered)"] = (
        Field(description="degraded: significant ASR rise; no change: not significant with power to see the threshold")
    )
    gate_failed: bool = Field(description="a significant ASR rise larger than max_asr_increase_pp")
    diff: float | None = Field(description="ASR of the fine-tune minus its parent's, on the same prompts")
    ci_low: float | None = Field(description="95% paired bootstrap interval of diff, low end")
    ci_high: float | None = Field(description="95% paired bootstrap interval of diff, high end")
    p: float | None = Field(description="McNemar's exact p, two-sided")
    n: int = Field(description="prompts both models had scored")
    mde: float | None = Field(description="minimum detectable ASR increase at this n (80% power, alpha)")
    max_asr_increase_pp: float = Field(description="the gate's threshold, percentage points")
    alpha: float = Field(description="the gate's significance level")


class Skipped(_Record):
    """Something the study asked for and did not measure (an optional benchmark or judge)."""

    kind: Literal["benchmark", "judge"] = Field(description="what was skipped")
    name: str = Field(description="the benchmark's name or the judge's display name")
    reason: str = Field(description="why, and how to get it measured")


# ------------------------------------------------------------------------ the document


class Provenance(_Record):
    """What produced the results: the named fields, plus one extra key per library version
    (``alignscope``, ``torch``, ``transformers``, ``python``, ...), which ``build_results`` writes first."""

    model_config = ConfigDict(extra="allow")

    seed: int | None = Field(None, description="the study's seed")
    base_model: str | None = Field(None, description="the base model reference")
    sampling: dict[str, Any] | None = Field(None, description="sampling settings of every generation")
    judges: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="judge display name -> what the judge reports about itself"
    )
    models: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="fine-tuned model key -> its training provenance"
    )
    generation: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="model key -> backend (and served_name, base_url for api)"
    )


class StudyResults(_Record):
    """Everything a study measured, as ``report.json`` holds it."""

    study: str = Field(description="the study's name")
    created: str | None = Field(None, description="when the results were assembled (ISO 8601, UTC)")
    description: str | None = Field(None, description="free text from the study file")
    models: list[ModelInfo] = Field(default_factory=list, description="every model, parents first")
    benchmarks: list[BenchmarkInfo] = Field(default_factory=list, description="in study order")
    metrics: list[MetricRow] = Field(default_factory=list, description="one per (model, benchmark, judge, metric)")
    per_category: list[MetricRow] = Field(default_factory=list, description="the same, per prompt category")
    examples: list[Example] = Field(default_factory=list, description="a few responses per model")
    truncation: list[Truncation] = Field(
        default_factory=list, description="per model and benchmark: responses cut at the token limit"
    )
    grids: list[Grid] = Field(default_factory=list, description="the study's grids")
    comparisons: list[Comparison] = Field(default_factory=list, description="paired comparisons")
    aggregates: list[Aggregate] = Field(default_factory=list, description="seed means of grid cells")
    flips: list[Flip] = Field(default_factory=list, description="per-prompt flips against the parent")
    references: list[Reference] = Field(default_factory=list, description="figures quoted from papers")
    verdicts: list[FineTuneVerdict] = Field(
        default_factory=list, description="the headline answer per fine-tune and harmful benchmark"
    )
    skipped: list[Skipped] = Field(
        default_factory=list, description="optional benchmarks and judges the study did not measure, with why"
    )
    provenance: Provenance = Field(default_factory=Provenance, description="what produced the results")
    timings: dict[str, float] = Field(default_factory=dict, description="stage -> seconds")

    def to_json(self) -> str:
        """The text of ``report.json``: indented by two, keys in document order, unset fields left out."""
        return json.dumps(self.model_dump(exclude_unset=True), indent=2) + "\n"


def _where(error: ErrorDetails) -> str:
    """``metrics[3].value`` from a validation error's location."""
    return "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in error["loc"]).lstrip(".")


def load_results(path: str | Path) -> StudyResults:
    """Read a study's ``report.json``.

    Args:
        path: The file.

    Returns:
        The results it holds.

    Raises:
        AlignscopeError: One line naming the file (and line or field) when the file is missing,
            is not JSON, or does not hold study results.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise AlignscopeError(f"{path}: cannot read study results: {e.strerror or e}") from None
    except json.JSONDecodeError as e:
        raise located(path, e.lineno, "json", e.msg) from None
    except UnicodeDecodeError as e:
        raise located(path, None, "encoding", f"not UTF-8 (byte {e.start})") from None
    try:
        return StudyResults.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        more = f" (and {e.error_count() - 1} more problems)" if e.error_count() > 1 else ""
        raise located(path, None, _where(first) or "results", first["msg"] + more) from None
