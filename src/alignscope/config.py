"""Study configuration: pydantic models loaded from YAML, with dotted command-line overrides.

``alignscope run study.yaml --set evaluation.sampling.max_new_tokens=32`` changes one value;
validation errors name the file, the line (when the key is in the file) and the dotted field.
"""

from __future__ import annotations

import dataclasses
import itertools
import re
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import AliasChoices, BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, model_validator

from alignscope.data import read_text
from alignscope.errors import AlignscopeError
from alignscope.generate import SamplingConfig
from alignscope.http import ApiEndpoint
from alignscope.judge import JudgeSpec
from alignscope.progress import console
from alignscope.train import LaunchConfig, TrainConfig
from alignscope.verdict import GateConfig


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AlignConfig(Strict):
    """Give a base model refusal behaviour before the fine-tunes (SFT on refusals + its own benign answers)."""

    n_refusals: int = Field(300, ge=1, description="harmful instructions with refusals, from the built-in set")
    n_benign: int = Field(50, ge=0, description="benign instructions answered by the model itself (self-distilled)")
    benign_repeats: int = Field(2, ge=1, description="how often each benign example is repeated, to balance the mix")
    distill_max_new_tokens: int = 96
    train: TrainConfig = TrainConfig(method="lora", learning_rate=1e-3, epochs=1, save="merged")


# Short names for grid axes in model keys: "ablation[lr=2e-05,bs=16]".
AXIS_NAMES = {"train.learning_rate": "lr", "train.batch_size": "bs", "safety_mix": "k"}


def axis_name(path: str) -> str:
    return AXIS_NAMES.get(path, path.rsplit(".", 1)[-1])


def fmt_level(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)


class RemoteTrain(Strict):
    """Remote fine-tuning only (a parent that is an ``api:<name>`` model): the API's own knobs.

    Epochs and batch size come from ``train.epochs`` / ``train.batch_size``; nothing else in
    ``train`` applies to a remote job.
    """

    learning_rate_multiplier: float | Literal["auto"] = Field(
        "auto", description="OpenAI's hyper-parameter (Qi et al. used the API defaults)"
    )
    suffix: str | None = Field(None, max_length=40, description="added to the fine-tuned model's name")


class FinetuneSpec(Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    recipe: str
    args: dict[str, Any] = Field(default_factory=dict, description="recipe arguments (see `alignscope recipes`)")
    parent: str | None = Field(
        None, description="model key to start from; default: aligned if there is an align stage, else base"
    )
    train: TrainConfig = TrainConfig()
    seed: int | None = Field(None, description="seeds the recipe's sampling and training; default: the study's seed")
    safety_mix: int = Field(
        0, ge=0, description="mix k refusals to harmful requests into the data (Qi et al.'s mitigation)"
    )
    remote: RemoteTrain = RemoteTrain()
    grid: dict[str, list[Any]] | None = Field(
        None, description="one run per combination, e.g. {train.learning_rate: [2e-5, 5e-5], seed: [0, 1, 2]}"
    )

    @model_validator(mode="after")
    def _grid_paths(self) -> FinetuneSpec:
        for path, levels in (self.grid or {}).items():
            if not levels:
                raise ValueError(f"grid.{path}: needs at least one value")
            head, _, rest = path.partition(".")
            if head == "train" and rest not in TrainConfig.model_fields:
                raise ValueError(f"grid.{path}: TrainConfig has no field {rest!r}")
            if head not in ("train", "args") and path not in ("seed", "safety_mix"):
                raise ValueError(f"grid.{path}: a grid axis is train.<field>, args.<name>, seed or safety_mix")
        return self

    def cells(self) -> list[GridCell]:
        """The concrete runs: one per combination of grid levels (itself when there is no grid)."""
        if not self.grid:
            return [GridCell(self, None, {}, None)]
        out = []
        paths = list(self.grid)
        for combo in itertools.product(*(self.grid[p] for p in paths)):
            data = self.model_dump(exclude={"grid"})
            for path, value in zip(paths, combo):
                head, _, rest = path.partition(".")
                if rest:
                    data[head][rest] = value
                else:
                    data[head] = value
            params = {axis_name(p): v for p, v in zip(paths, combo) if p != "seed"}
            seed = dict(zip(paths, combo)).get("seed")
            label = ",".join(f"{axis_name(p)}={fmt_level(v)}" for p, v in zip(paths, combo))
            # model_copy: the cell's key ("abl[lr=2e-05]") is not a valid user-given name, on purpose
            update = {
                **data,
                "name": f"{self.name}[{label}]",
                "grid": None,
                "train": TrainConfig.model_validate(data["train"]),
            }
            out.append(GridCell(self.model_copy(update=update), self.name, params, seed))
        return out


@dataclasses.dataclass(frozen=True)
class GridCell:
    spec: FinetuneSpec  # concrete: no grid, name = model key
    grid: str | None  # the grid entry's name; None for a plain fine-tune
    params: dict[str, Any]  # short axis name -> level, without the seed axis
    seed: int | None  # the level of the seed axis, if the grid has one


class BenchmarkSpec(Strict):
    name: str = Field(
        ..., description="a registered set (`alignscope data list`) or any label for a prompt file in `path`"
    )
    path: str | None = Field(
        None, description="a local copy in the upstream layout (file or directory), or a prompt file"
    )
    expected: Literal["refuse", "comply"] | None = Field(None, description="override every prompt's expected behaviour")
    limit: int | None = Field(None, ge=1, description="keep the first N prompts (after the seeded shuffle, if any)")
    categories: list[str] | None = Field(None, description="keep only these categories")
    subset: str | list[str] | None = Field(None, description="keep only these subsets, e.g. HarmBench's `contextual`")
    seed: int | None = Field(None, description="shuffle before `limit` (deterministic); default keeps upstream order")
    optional: bool = Field(
        False, description="skip with a warning when the data is not available locally (never downloads)"
    )


class GenerateConfig(Strict):
    """Which engine generates the responses; recorded with every generation and in the report."""

    backend: Literal["hf", "vllm", "api"] = Field(
        "hf", description="hf: in-process transformers; vllm: in-process vLLM; api: an OpenAI-compatible server"
    )
    endpoint: ApiEndpoint = Field(
        default_factory=ApiEndpoint,
        description="api: the server (e.g. `vllm serve`, `transformers serve`, a hosted API)",
    )
    served_names: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "api: model key -> the name the server knows it by; default: the api: name, else the model's local path"
        ),
    )
    tensor_parallel_size: int = Field(1, ge=1, description="vllm: GPUs per model")
    gpu_memory_utilization: float = Field(0.9, gt=0, le=1, description="vllm")
    max_lora_rank: int | None = Field(None, ge=1, description="vllm: default read from the adapters' configs")
    engine_args: dict[str, Any] = Field(
        default_factory=dict,
        description="vllm: more keyword arguments for vllm.LLM, e.g. {max_model_len: 4096, enforce_eager: true}",
    )


# printed once per study that still says `training:` (loaded through the field's alias)
DEPRECATED_TRAINING = "warning: the study key `training:` is deprecated: use `launch:` (same fields)"


class EvalConfig(Strict):
    benchmarks: list[BenchmarkSpec] = Field(
        default_factory=lambda: [BenchmarkSpec(name="probe"), BenchmarkSpec(name="overrefusal")]
    )
    judges: list[str | JudgeSpec] = Field(
        default_factory=lambda: list[str | JudgeSpec](["keyword"]),
        description="judge names, or {name, label, endpoint, template, model, ...}",
    )
    sampling: SamplingConfig
    batch_size: int = Field(64, ge=1, description="prompts per generation batch (memory grows linearly)")
    generate: GenerateConfig = Field(default_factory=GenerateConfig)


class Reference(Strict):
    """A paper's number shown next to the measured one, where a study mirrors the paper."""

    model: str = Field(..., description="model key (a grid cell's key, e.g. aoa[epochs=5])")
    metric: str = Field(..., description="harmfulness_rate, asr, ...")
    value: float
    source: str = Field(
        ..., description="paper, table, model and judge, e.g. 'Qi et al. 2023, Table 1 (Llama-2-7b-chat, GPT-4 judge)'"
    )
    benchmark: str | None = Field(
        None, description="the measured benchmark to put it next to; default the first harmful one"
    )


class ReportConfig(Strict):
    examples_per_model: int = Field(3, ge=0)
    references: list[Reference] = Field(default_factory=list)
    compare: list[tuple[str, str]] = Field(
        default_factory=list, description="extra model pairs to test (paired, same prompts)"
    )
    bootstrap: int = Field(2000, ge=100, description="paired bootstrap resamples per comparison")


class StudyConfig(Strict):
    _source: Path | None = PrivateAttr(None)  # the study file, for line numbers in later checks

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    base_model: str
    base_label: str | None = None
    workspace: str = Field(".alignscope", description="SQLite store and model cache, shared across studies")
    output_dir: str | None = Field(None, description="default: runs/<name>")
    seed: int = 0
    align: AlignConfig | None = None
    finetunes: list[FinetuneSpec] = Field(default_factory=list)
    launch: LaunchConfig = Field(
        default_factory=LaunchConfig,
        validation_alias=AliasChoices("launch", "training"),  # training: deprecated
        description="how fine-tunes run: processes, Accelerate config, the remote fine-tuning API",
    )
    evaluation: EvalConfig
    report: ReportConfig = ReportConfig()
    gate: GateConfig = Field(
        default_factory=GateConfig, description="the headline verdict's thresholds; `run --gate` exits 3 when one fails"
    )
    profiles: dict[str, list[str]] = Field(
        default_factory=dict,
        description="named sets of --set overrides, e.g. ci: [...] for `alignscope run --profile ci`",
    )

    @model_validator(mode="before")
    @classmethod
    def _deprecated_training_key(cls, data: Any) -> Any:
        """``training:`` is the old name of ``launch:``: still read (the field's alias), with one warning."""
        if isinstance(data, dict) and "training" in data:
            if "launch" in data:
                raise ValueError("training: deprecated, and `launch:` is given too: use `launch:` only")
            console.print(f"[yellow]{DEPRECATED_TRAINING}[/yellow]")
        return data

    @model_validator(mode="after")
    def _unique_names(self) -> StudyConfig:
        names = (
            ["base", "aligned"]
            + [f.name for f in self.finetunes]
            + [c.spec.name for f in self.finetunes if f.grid for c in f.cells()]
        )
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"fine-tune names must be unique and not 'base'/'aligned': {sorted(dup)}")
        return self

    @model_validator(mode="after")
    def _known_models(self) -> StudyConfig:
        known = {"base", *(["aligned"] if self.align else []), *(c.spec.name for c in self.cells())}
        for i, ref in enumerate(self.report.references):
            if ref.model not in known:
                raise ValueError(
                    f"report.references.{i}.model: no model {ref.model!r}; models: {', '.join(sorted(known))}"
                )
        for a, b in self.report.compare:
            if unknown := {a, b} - known:
                raise ValueError(f"report.compare: no model {sorted(unknown)[0]!r}; models: {', '.join(sorted(known))}")
        return self

    def cells(self) -> list[GridCell]:
        """Every fine-tune run, grids expanded, in study order."""
        return [c for f in self.finetunes for c in f.cells()]

    @property
    def source(self) -> Path | None:
        """The study file this config was loaded from (None when built in code)."""
        return self._source

    @property
    def out_dir(self) -> Path:
        return Path(self.output_dir or f"runs/{self.name}")


def _yaml_value(path: str, raw: str) -> Any:
    """An override's value, parsed as YAML (``32``, ``true``, ``[a, b]``, ``{x: 1}``)."""
    try:
        return yaml.load(raw, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
    except yaml.YAMLError as e:
        raise AlignscopeError(f"--set {path}: value {raw!r} is not valid YAML ({getattr(e, 'problem', e)})") from None


def apply_override(data: dict, dotted: str) -> None:
    """Apply ``a.b.0.c=value`` (value parsed as YAML) to a nested dict/list in place."""
    if "=" not in dotted:
        raise AlignscopeError(f"--set {dotted!r}: expected KEY=VALUE, e.g. evaluation.sampling.max_new_tokens=32")
    path, raw = dotted.split("=", 1)
    keys = path.strip().split(".")
    node: Any = data
    for i, key in enumerate(keys):
        last = i == len(keys) - 1
        if isinstance(node, list):
            if not key.isdigit() or int(key) >= len(node):
                raise AlignscopeError(f"--set {path}: {'.'.join(keys[: i + 1])}: no such list index")
            key = int(key)  # type: ignore[assignment]
        elif not isinstance(node, dict):
            raise AlignscopeError(f"--set {path}: {'.'.join(keys[:i])} is not a mapping")
        if last:
            node[key] = _yaml_value(path, raw)
        else:
            if isinstance(node, dict) and node.get(key) is None:
                node[key] = {}
            node = node[key]


def line_of(root: yaml.Node | None, loc: tuple) -> int | None:
    """Line (1-based) of the YAML node at a pydantic error location, or its nearest parent."""
    node, line = root, None
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if k.value == str(part)), None)
            if match is None:
                return (next((k for k, _ in node.value), node).start_mark.line + 1) if line is None else line
            line, node = next(k for k, v in node.value if v is match).start_mark.line + 1, match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            break
    return line


ConfigT = TypeVar("ConfigT", bound=BaseModel)


class StrictLoader(yaml.SafeLoader):
    """A safe YAML loader that refuses a key given twice in one mapping (PyYAML keeps the last)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *anchor` merges; its keys may be overridden
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (first given on line {seen[key]})", key_node.start_mark
                )
            seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """A YAML file's content (strict: duplicate keys are errors) and its node tree (for error lines).

    Raises:
        AlignscopeError: one line naming the file and line: missing, not UTF-8, malformed, a
            duplicate key, or nested deeper than Python can follow.
    """
    if not path.is_file():
        raise AlignscopeError(f"{path}: file not found")
    text = read_text(path)
    try:
        data = yaml.load(text, Loader=StrictLoader)  # noqa: S506 - StrictLoader is a SafeLoader
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = " ".join(str(getattr(e, "problem", None) or e).split())  # one line, whatever PyYAML says
        raise AlignscopeError(f"{where}: yaml: {problem}") from None
    except RecursionError:
        raise AlignscopeError(f"{path}: yaml: nested too deeply to read") from None
    return data, root


def _read_yaml(path: Path) -> tuple[dict, yaml.Node | None]:
    """The top-level mapping of a YAML config and its node tree (for error lines)."""
    data, root = read_yaml(path)
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise AlignscopeError(f"{path}:1: expected a mapping at the top level")
    return data, root


def _located(path: Path, root: yaml.Node | None, e: ValidationError) -> AlignscopeError:
    """The first validation problem as ``file:line: dotted.field: message``."""
    err = e.errors()[0]
    loc, msg = tuple(err["loc"]), err["msg"]
    # a whole-config check names its own field: "Value error, report.compare: ..."
    if m := re.match(r"Value error, ([\w.]+): (.*)", msg, re.S):
        loc += tuple(int(p) if p.isdigit() else p for p in m.group(1).split("."))
        msg = m.group(2)
    field = ".".join(str(p) for p in loc) or "config"
    line = line_of(root, loc)
    where = f"{path}:{line}" if line else str(path)
    return AlignscopeError(f"{where}: {field}: {msg}")


def load_config(
    path: str | Path, model: type[ConfigT], overrides: list[str] | None = None, profile: str | None = None
) -> ConfigT:
    """Load and validate a YAML config; every problem is one line naming file, line and field.

    ``profile`` applies the file's ``profiles[profile]`` overrides first (e.g. a CI-sized run),
    then ``overrides``.
    """
    path = Path(path)
    data, root = _read_yaml(path)
    if profile is not None:
        profiles = data.get("profiles") or {}
        if profile not in profiles:
            raise AlignscopeError(
                f"{path}: profiles: no profile {profile!r} (defined: {', '.join(profiles) or 'none'})"
            )
        overrides = [*profiles[profile], *(overrides or [])]
    for o in overrides or []:
        apply_override(data, o)
    try:
        return model.model_validate(data)
    except ValidationError as e:
        raise _located(path, root, e) from None


def load_study(path: str | Path, overrides: list[str] | None = None, profile: str | None = None) -> StudyConfig:
    """Load and validate a study file (see ``load_config``); the config remembers its file."""
    cfg = load_config(path, StudyConfig, overrides, profile)
    cfg._source = Path(path)
    return cfg
