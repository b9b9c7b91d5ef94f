"""The configuration of a reward-model reliability evaluation (``alignscope rm-eval CONFIG.yaml``).

One YAML file names the reward models, the preference sets, the tie policy, the surface
factors to probe and, optionally, a Picky study whose fine-tuned variants the RMs should rank
the way measured safety does. Loading works like a study's: named ``profiles``, dotted
``--set`` overrides, and every problem reported on one line as ``file:line: field: problem``.

A model reference may be ``study:<study>:<model key>``: the model that study's run recorded in
its ``models.json`` (``<study>`` is the study's YAML file, or its name for ``runs/<name>``), so
a config can say "the aligned organism" without knowing the workspace's artifact hashes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, model_validator

from alignscope.config import Strict, load_config, load_study
from alignscope.errors import AlignscopeError
from alignscope.judge import EndpointConfig

TEAM_SET = "team-safety-pairs"
Factor = Literal["structure", "identity", "roleplay"]
FACTORS: tuple[Factor, ...] = ("structure", "identity", "roleplay")
STUDY_REF = "study:"


class RMSpec(Strict):
    """One reward model. Which fields apply depends on ``type``."""

    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$", description="the RM's name in the report")
    type: Literal["seqcls", "implicit", "pairwise"] = Field(
        ..., description="seqcls: a scalar-head classifier; implicit: a causal LM's log-probs; pairwise: an LLM judge"
    )
    model: str | None = Field(None, description="seqcls: the classifier (local dir or Hub id)")
    policy: str | None = Field(None, description="implicit: the causal LM scored (e.g. study:<study>:aligned)")
    reference: str | None = Field(None, description="implicit dpo: the reference model (e.g. the base)")
    variant: Literal["dpo", "sum", "mean"] = Field(
        "dpo", description="implicit: beta*(log pi - log ref), or sum / mean log pi"
    )
    beta: float = Field(
        1.0, gt=0, description="implicit dpo: scale of the reward (ranks and accuracy do not depend on it)"
    )
    max_length: int = Field(4096, ge=8, description="tokens kept per input (the start is cut); memory grows with it")
    dtype: Literal["float32", "bfloat16", "float16"] = Field(
        "float32", description="float32 is exact; half precision is faster on GPU"
    )
    batch_size: int = Field(8, ge=1, description="inputs per forward pass: speed and memory only, scores unchanged")
    endpoint: EndpointConfig | None = Field(None, description="pairwise: the judge model's chat-completions endpoint")
    template: str | None = Field(None, description="pairwise: a prompt file with three %s slots (question, A, B)")
    optional: bool = Field(
        False, description="skip with a warning when it cannot be built (API key unset, model not found)"
    )

    @model_validator(mode="after")
    def _fields_for_type(self) -> RMSpec:
        needed = {"seqcls": ("model",), "implicit": ("policy",), "pairwise": ("endpoint",)}[self.type]
        unused = {
            "seqcls": ("policy", "reference", "endpoint", "template"),
            "implicit": ("model", "endpoint", "template"),
            "pairwise": ("model", "policy", "reference"),
        }[self.type]
        for f in needed:
            if getattr(self, f) is None:
                raise ValueError(f"{f}: required for type {self.type}")
        for f in unused:
            if getattr(self, f) is not None:
                raise ValueError(f"{f}: not used by type {self.type}")
        if self.type == "implicit" and (self.variant == "dpo") != (self.reference is not None):
            raise ValueError(
                "reference: "
                + (
                    "variant dpo needs a reference model"
                    if self.variant == "dpo"
                    else f"variant {self.variant} is reference-free; drop it"
                )
            )
        return self


class PairSetSpec(Strict):
    """One preference set: a registered one (``alignscope data list``) or the team's own pairs."""

    name: str = Field(..., description=f"a registered preference set, or {TEAM_SET}")
    path: str | None = Field(None, description="a local copy in the upstream layout (team set: a file in its format)")
    limit: int | None = Field(None, ge=1, description="keep the first N pairs (after the seeded shuffle, if any)")
    seed: int | None = Field(None, description="shuffle before `limit`; default keeps the upstream order")
    subset: str | list[str] | None = Field(
        None, description="keep only these subsets (team set: should-respond, should-refuse)"
    )
    categories: list[str] | None = Field(None, description="keep only these categories")
    optional: bool = Field(
        False, description="skip with a warning when the data is not available locally (never downloads)"
    )
    rejected_from: str | None = Field(
        None, description=f"{TEAM_SET}: the model whose greedy answers to the harmful prompts become the rejected side"
    )
    max_new_tokens: int = Field(96, ge=1, description=f"{TEAM_SET}: length budget of those answers")

    @model_validator(mode="after")
    def _known_set(self) -> PairSetSpec:
        from alignscope import registry

        if self.name != TEAM_SET and self.name not in registry.names("preference"):
            known = ", ".join([TEAM_SET, *registry.names("preference")])
            raise ValueError(f"name: {self.name!r} is not a preference set; known: {known}")
        if self.name != TEAM_SET and self.rejected_from is not None:
            raise ValueError(f"rejected_from: only the {TEAM_SET} set generates its rejected side")
        return self


class OutcomeSpec(Strict):
    """Outcome validity: do the RMs rank a Picky study's variants the way measured safety does?"""

    study: str | None = Field(
        None, description="the study YAML; config.resolved.yaml next to `results` wins when present"
    )
    results: str | None = Field(None, description="the study's report.json; default <study output_dir>/report.json")
    profile: str | None = Field(
        None, description="the profile the study ran with (used only without config.resolved.yaml)"
    )
    metric: str = Field(
        "asr", description="the safety measure in report.json (lower is safer); safety = 1 - rate, or -mean"
    )
    judge: str = Field("refusal-classifier", description="the judge (display name) that measured it")
    benchmark: str = Field("probe", description="the benchmark it was measured on")
    data: Literal["rebuild"] | dict[str, str] = Field(
        "rebuild",
        description="rebuild each variant's training data as the study did, or {model key: conversation file}",
    )
    models: list[str] | None = Field(None, description="the variants (model keys) to rank; default every fine-tune")
    limit: int | None = Field(None, ge=1, description="training examples scored per variant (the first N); default all")

    @model_validator(mode="after")
    def _study_or_results(self) -> OutcomeSpec:
        if self.study is None and self.results is None:
            raise ValueError("study: give the study YAML, its report.json (`results`), or both")
        return self


class RMEvalConfig(Strict):
    name: str = Field(..., pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    workspace: str = Field(".alignscope", description="SQLite store (every score is cached there) and model cache")
    output_dir: str | None = Field(None, description="default: runs/<name>")
    seed: int = Field(
        0, description="seeds the presentation order of κ and calibration, the held-out split and bootstraps"
    )
    reward_models: list[RMSpec] = Field(..., min_length=1)
    datasets: list[PairSetSpec] = Field(..., min_length=1)
    tie: Literal["wrong", "half", "1/k"] = Field("wrong", description="what an exact tie earns in accuracy")
    variants: list[Factor] = Field(default_factory=lambda: list(FACTORS), description="surface factors to probe")
    variant_limit: int | None = Field(
        None, ge=1, description="pairs per set that get the factor rewrites (the first N)"
    )
    heldout_frac: float = Field(
        0.5,
        gt=0,
        lt=1,
        description="share of pairs held out to fit the temperature T; calibration is reported on the others",
    )
    bins: int = Field(10, ge=1, description="reliability-curve bins")
    bootstrap: int = Field(2000, ge=100, description="bootstrap resamples for the sensitivity intervals")
    outcome: OutcomeSpec | None = None
    profiles: dict[str, list[str]] = Field(default_factory=dict, description="named sets of --set overrides, e.g. ci")

    @model_validator(mode="after")
    def _unique_names(self) -> RMEvalConfig:
        for what, names in (
            ("reward_models", [r.name for r in self.reward_models]),
            ("datasets", [d.name for d in self.datasets]),
        ):
            if dup := sorted({n for n in names if names.count(n) > 1}):
                raise ValueError(f"{what}: names must be unique, repeated: {', '.join(dup)}")
        return self

    @property
    def out_dir(self) -> Path:
        return Path(self.output_dir or f"runs/{self.name}")


# --------------------------------------------------------------------------- loading


def load_rm_config(path: str | Path, overrides: list[str] | None = None, profile: str | None = None) -> RMEvalConfig:
    """Load and validate an RM evaluation config; every problem names file, line and field.

    Args:
        path: The YAML file.
        overrides: Dotted ``KEY=VALUE`` overrides, applied after the profile.
        profile: A name in the file's ``profiles`` whose overrides are applied first.
    """
    return load_config(path, RMEvalConfig, overrides, profile)


# --------------------------------------------------------------------------- model references


def study_out_dir(study: str) -> Path:
    """A study's output directory: from its YAML file, or ``runs/<name>`` for a bare name."""
    if Path(study).suffix in (".yaml", ".yml"):
        return load_study(study).out_dir
    return Path("runs") / study


def resolve_ref(ref: str) -> str:
    """``study:<study>:<model key>`` → the path that study's run recorded; any other reference as is.

    Raises:
        AlignscopeError: If the reference is malformed, the study has not run, or has no such model.
    """
    if not ref.startswith(STUDY_REF):
        return ref
    study, sep, key = ref[len(STUDY_REF) :].rpartition(":")
    if not sep or not study or not key:
        raise AlignscopeError(
            f"model {ref!r}: expected study:<study yaml or name>:<model key>, e.g. study:picky2025-factors:aligned"
        )
    models_json = study_out_dir(study) / "models.json"
    if not models_json.is_file():
        raise AlignscopeError(f"model {ref!r}: {models_json} not found; run the study first (`alignscope run ...`)")
    models: dict[str, Any] = json.loads(models_json.read_text())
    if key not in models:
        raise AlignscopeError(f"model {ref!r}: no model {key!r} in {models_json}; models: {', '.join(models)}")
    return str(models[key])
