"""Outcome validity, the Picky question: would an RM pick the fine-tuning data that keeps a model safe?

A Picky study fine-tunes one model on variants of the same benign data (structure x identity
x role-play) and measures each tuned model's safety. Here every RM scores each variant's
training examples (user turn -> assistant answer); the mean score ranks the variants. Kendall's
τ says whether that ranking follows measured safety, and the selection regret says how much
safety is lost by training on the variant the RM likes best instead of the truly safest one.

The training data is rebuilt exactly as ``study.finetune_stage`` builds it (recipe + safety
mix, distillations cached in the study's workspace, so a study that ran there costs nothing);
each rebuild is checked against the ``data_sha256`` the training run recorded, when the study's
report has it, so scoring data the model was not trained on fails loudly.
"""

from __future__ import annotations

import json
from pathlib import Path
from statistics import fmean
from typing import Any

import yaml

from alignscope.config import StudyConfig, load_study
from alignscope.data import Conversation, read_conversations
from alignscope.errors import AlignscopeError
from alignscope.generate import Backend
from alignscope.judge import judge_cached
from alignscope.metrics import find_metric
from alignscope.models import resolve_model
from alignscope.provenance import stable_hash
from alignscope.recipes import RecipeContext, build_recipe, with_safety_mix
from alignscope.rm._config import OutcomeSpec, study_out_dir
from alignscope.rm._metrics import selection_regret
from alignscope.rm._protocol import response_id
from alignscope.store import Store
from alignscope.workspace import ModelEntry, Workspace

DISTILL_MAX_NEW_TOKENS = 96  # what study.finetune_stage distils with; the data hash check catches drift


def _is_mean(metric: str) -> bool:
    """Whether ``metric`` is a mean score (an unknown metric counts as one, as the report shows it)."""
    spec = find_metric(metric)
    return spec is None or spec.mean


def results_path(spec: OutcomeSpec) -> Path:
    if spec.results:
        return Path(spec.results)
    return study_out_dir(spec.study) / "report.json"  # type: ignore[arg-type]


def study_config(spec: OutcomeSpec, results: Path) -> StudyConfig:
    """The configuration the study ran with: its ``config.resolved.yaml`` when present, else the YAML."""
    resolved = results.parent / "config.resolved.yaml"
    if resolved.is_file():
        cfg = StudyConfig.model_validate(yaml.safe_load(resolved.read_text(encoding="utf-8")))
        if spec.study and Path(spec.study).suffix in (".yaml", ".yml") and load_study(spec.study).name != cfg.name:
            raise AlignscopeError(f"outcome: {resolved} is study {cfg.name!r}, not the one in {spec.study}")
        return cfg
    if spec.study is None:
        raise AlignscopeError(f"outcome: no {resolved}; name the study YAML in outcome.study")
    return load_study(spec.study, profile=spec.profile)


def safety_of(results: dict, spec: OutcomeSpec, keys: list[str]) -> dict[str, dict]:
    """Per variant: the measured metric and safety (1 - rate, or -mean for a mean on a judge's scale)."""
    rows = {
        r["model"]: r
        for r in results.get("metrics", [])
        if (r["metric"], r["judge"], r["benchmark"]) == (spec.metric, spec.judge, spec.benchmark)
    }
    missing = [k for k in keys if rows.get(k, {}).get("value") is None]
    if missing:
        have = sorted({(r["judge"], r["benchmark"]) for r in results.get("metrics", []) if r["metric"] == spec.metric})
        raise AlignscopeError(
            f"outcome: no {spec.metric} by judge {spec.judge!r} on {spec.benchmark!r} for "
            f"{', '.join(missing)}; the report has {spec.metric} for (judge, benchmark): {have}"
        )
    mean = _is_mean(spec.metric)
    return {
        k: {"metric_value": rows[k]["value"], "safety": -rows[k]["value"] if mean else 1 - rows[k]["value"]}
        for k in keys
    }


def model_paths(results: dict, results_file: Path) -> dict[str, str]:
    """Model key -> weights path, from the report (and the run's models.json)."""
    paths = {m["key"]: m["path"] for m in results.get("models", []) if m.get("path")}
    models_json = results_file.parent / "models.json"
    if models_json.is_file():
        paths = {**json.loads(models_json.read_text()), **paths}
    return paths


def rebuild(study: StudyConfig, key: str, paths: dict[str, str]) -> list[Conversation]:
    """The conversations fine-tune ``key`` was trained on, built as ``study.finetune_stage`` builds them."""
    cells = {c.spec.name: c.spec for c in study.cells()}
    if key not in cells:
        raise AlignscopeError(f"outcome: study {study.name!r} has no fine-tune {key!r}; fine-tunes: {', '.join(cells)}")
    spec = cells[key]
    parent_key = spec.parent or ("aligned" if study.align else "base")
    parent_path = paths.get(parent_key) or (study.base_model if parent_key == "base" else None)
    if parent_path is None:
        raise AlignscopeError(f"outcome: the study's report does not say where {parent_key!r} (parent of {key}) lives")
    ws = Workspace(Path(study.workspace))
    parent = ModelEntry(parent_key, parent_key, resolve_model(parent_path, ws.root))
    seed = study.seed if spec.seed is None else spec.seed
    with Backend(study.evaluation.generate, ws.store) as backend:
        ctx = RecipeContext(seed, backend.distiller(parent, DISTILL_MAX_NEW_TOKENS, seed), ws.root)
        return with_safety_mix(build_recipe(spec.recipe, spec.args, ctx), spec.safety_mix, seed).conversations


def training_data(
    spec: OutcomeSpec, study: StudyConfig, results: dict, results_file: Path, keys: list[str]
) -> tuple[dict[str, list[Conversation]], dict[str, bool | None]]:
    """Each variant's conversations, and whether they match the hash its training run recorded (None: no hash)."""
    if isinstance(spec.data, dict):
        data = {k: read_conversations(spec.data[k]) for k in keys if k in spec.data}
        if missing := [k for k in keys if k not in data]:
            raise AlignscopeError(f"outcome.data: no conversation file for {', '.join(missing)}")
    else:
        paths = model_paths(results, results_file)
        data = {k: rebuild(study, k, paths) for k in keys}
    recorded = results.get("provenance", {}).get("models", {})
    verified: dict[str, bool | None] = {}
    for k, convs in data.items():
        want = recorded.get(k, {}).get("data_sha256")
        verified[k] = None if want is None else stable_hash([c.as_dicts() for c in convs]) == want
        if verified[k] is False:
            raise AlignscopeError(
                f"outcome: the rebuilt training data of {k!r} differs from what it was trained on "
                "(data_sha256 mismatch); was the study changed or run in another workspace?"
            )
    return data, verified


def examples(convs: list[Conversation], limit: int | None) -> list[tuple[str, str]]:
    """(user turn, assistant answer) per conversation: the final answer and the user turn before it."""
    out = []
    for c in convs:
        m = c.messages
        if len(m) >= 2 and m[-1].role == "assistant" and m[-2].role == "user":
            out.append((m[-2].content, m[-1].content))
    return out[:limit]


def mean_scores(rm: Any, items: dict[str, list[tuple[str, str]]], store: Store) -> dict[str, dict]:
    """Per variant: the RM's mean score over its examples (failed scores left out) and the failure count."""
    flat = [(response_id(p, r), p, r) for ex in items.values() for p, r in ex]
    rows = judge_cached(rm, flat, store, description=f"score training data ({rm.key})")
    out, start = {}, 0
    for key, ex in items.items():
        mine = rows[start : start + len(ex)]
        start += len(ex)
        good = [float(v.score) for v in mine if v.error is None and v.score is not None]
        out[key] = {"mean": fmean(good) if good else None, "n": len(good), "failed": len(ex) - len(good)}
    return out


def outcome_validity(spec: OutcomeSpec, rms: dict[str, Any], store: Store) -> dict:
    """Rank the study's variants by each RM's mean score on their training data; compare with safety.

    Args:
        spec: Which study, safety measure and variants.
        rms: Scalar reward models by name (pairwise RMs cannot score one response).
        store: Where scores are cached.

    Returns:
        ``variants`` (metric, safety, examples, hash check, per-RM mean), ``rms`` (Kendall τ,
        picked and best variant, regret) and the settings.
    """
    file = results_path(spec)
    if not file.is_file():
        raise AlignscopeError(f"outcome: {file} not found; run the study first")
    results = json.loads(file.read_text())
    study = study_config(spec, file)
    keys = spec.models or [c.spec.name for c in study.cells()]
    safety = safety_of(results, spec, keys)
    data, verified = training_data(spec, study, results, file, keys)
    items = {k: examples(data[k], spec.limit) for k in keys}
    means = {name: mean_scores(rm, items, store) for name, rm in rms.items()}
    variants = [
        {
            "model": k,
            **safety[k],
            "n_examples": len(items[k]),
            "data_verified": verified[k],
            "scores": {name: means[name][k]["mean"] for name in rms},
            "failed": {name: means[name][k]["failed"] for name in rms},
        }
        for k in keys
    ]
    ranked = []
    for name in rms:
        ok = {k: means[name][k]["mean"] for k in keys if means[name][k]["mean"] is not None}
        if ok:
            ranked.append(
                {"rm": name, "n_variants": len(ok), **selection_regret(ok, {k: safety[k]["safety"] for k in ok})}
            )
    rule = f"-{spec.metric}" if _is_mean(spec.metric) else f"1 - {spec.metric}"
    return {
        "study": study.name,
        "results": str(file),
        "metric": spec.metric,
        "judge": spec.judge,
        "benchmark": spec.benchmark,
        "safety_rule": rule,
        "limit": spec.limit,
        "data": "rebuilt" if spec.data == "rebuild" else "given",
        "variants": variants,
        "rms": ranked,
    }
