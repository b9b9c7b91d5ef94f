"""Run a reward-model reliability evaluation: load pairs → rewrite → score → metrics → report.

Every score is a verdict in the workspace store, keyed by (RM settings, prompt, response), so a
re-run scores nothing twice and a killed run resumes where it stopped (``judge_cached`` writes
chunk by chunk). Each RM scores everything it needs (all sets, all variants) in one cached
call, so its model is loaded once and its batches are length-sorted across sets.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import yaml

from alignscope import registry
from alignscope.data import PreferencePair
from alignscope.errors import AlignscopeError
from alignscope.progress import console
from alignscope.provenance import library_versions, now_iso, write_text_atomic
from alignscope.report import write_rm_report
from alignscope.rm._analysis import (
    SetScores,
    accuracy_rows,
    agreement,
    calibration_row,
    failure_rows,
    length_baseline_rows,
    length_correlation_rows,
    mcnemar_rows,
    rmbench_rows,
    sensitivity_rows,
)
from alignscope.rm._check import require_valid_rm_eval
from alignscope.rm._config import TEAM_SET, PairSetSpec, RMEvalConfig, RMSpec, resolve_ref
from alignscope.rm._implicit import ImplicitRewardRM
from alignscope.rm._outcome import outcome_validity
from alignscope.rm._pairwise import PairwiseJudgeRM
from alignscope.rm._protocol import PairScores, pairwise_prefs, score_pairs
from alignscope.rm._seqcls import SequenceClassifierRM
from alignscope.rm._team import load_team_set
from alignscope.rm._variants import build_variants
from alignscope.store import Store
from alignscope.workspace import Workspace

# a pairwise RM's verdict as (credit of chosen, credit of rejected); None: it failed
PAIRWISE_CREDIT = {"chosen": (1.0, 0.0), "rejected": (0.0, 1.0), "tie": (0.5, 0.5), "inconsistent": (0.5, 0.5)}


# --------------------------------------------------------------------------- reward models


def build_rm(spec: RMSpec, cache_dir: Path) -> Any:
    """The scorer a spec describes (models load lazily, at the first uncached score).

    The spec's validator has checked that each type has its fields (model, policy, endpoint).
    """
    if spec.type == "seqcls":
        assert spec.model is not None
        return SequenceClassifierRM(resolve_ref(spec.model), spec.max_length, spec.dtype, spec.batch_size, cache_dir)
    if spec.type == "implicit":
        assert spec.policy is not None
        reference = resolve_ref(spec.reference) if spec.reference else None
        return ImplicitRewardRM(
            resolve_ref(spec.policy),
            reference,
            spec.variant,
            spec.beta,
            spec.batch_size,
            spec.max_length,
            spec.dtype,
            cache_dir,
        )
    assert spec.endpoint is not None
    return PairwiseJudgeRM(spec.endpoint, spec.template)


def build_rms(cfg: RMEvalConfig, cache_dir: Path) -> tuple[dict[str, Any], list[dict]]:
    """The config's RMs by name, and the optional ones skipped (API key unset, model not found)."""
    rms: dict[str, Any] = {}
    skipped: list[dict] = []
    for spec in cfg.reward_models:
        key_env = spec.endpoint.api_key_env if spec.endpoint else None
        why = f"${key_env} is not set" if key_env and not os.environ.get(key_env) else None
        if why is None:
            try:
                rms[spec.name] = build_rm(spec, cache_dir)
                continue
            except AlignscopeError as e:
                if not spec.optional:
                    raise
                why = str(e)
        if not spec.optional:
            raise AlignscopeError(f"reward model {spec.name!r}: {why}")
        console.print(f"[yellow]skipping reward model {spec.name}: {why} (optional)[/yellow]")
        skipped.append({"name": spec.name, "why": why})
    if not rms:
        raise AlignscopeError("no reward model left to evaluate")
    return rms, skipped


# --------------------------------------------------------------------------- preference sets


def _unavailable(spec: PairSetSpec, entry: registry.DatasetEntry, workspace: str) -> str | None:
    """Why an optional registered set cannot be read locally (optional sets never download), or None."""
    if spec.path:
        return None if Path(spec.path).expanduser().exists() else f"{spec.path} not found"
    if registry.cache_dir(workspace, entry).is_dir():
        return None
    return f"not in the workspace cache (run `alignscope data fetch {spec.name}` or give `path:`)"


def load_pair_set(spec: PairSetSpec, ws: Workspace, workspace: str) -> registry.LoadedSet | None:
    """One preference set with its provenance, or None for an optional one that is not available."""
    if spec.name == TEAM_SET:
        return load_team_set(spec, ws.store, ws.root)
    entry = registry.get(spec.name)
    if spec.optional and (why := _unavailable(spec, entry, workspace)):
        console.print(f"[yellow]skipping preference set {spec.name}: {why} (optional)[/yellow]")
        return None
    return entry.load(
        spec.path, limit=spec.limit, categories=spec.categories, seed=spec.seed, subset=spec.subset, workspace=workspace
    )


# --------------------------------------------------------------------------- scoring


def _pairwise_scores(rm: Any, pairs: list[PreferencePair], store: Store) -> PairScores:
    credits = [PAIRWISE_CREDIT.get(p["preference"], (None, None)) for p in pairwise_prefs(rm, pairs, store)]
    return PairScores([c for c, _ in credits], [r for _, r in credits], sum(c is None for c, _ in credits))


def score_segments(rm: Any, segments: list[list[PreferencePair]], store: Store) -> list[PairScores]:
    """Score several lists of pairs in one cached call; results split back per list."""
    flat = [p for seg in segments for p in seg]
    whole = _pairwise_scores(rm, flat, store) if isinstance(rm, PairwiseJudgeRM) else score_pairs(rm, flat, store)
    out, start = [], 0
    for seg in segments:
        c, r = whole.chosen[start : start + len(seg)], whole.rejected[start : start + len(seg)]
        out.append(PairScores(c, r, sum(x is None or y is None for x, y in zip(c, r))))
        start += len(seg)
    return out


def score_sets(
    rms: dict[str, Any], loaded: dict[str, registry.LoadedSet], cfg: RMEvalConfig, store: Store
) -> list[SetScores]:
    """Every RM's scores on every set and on its factor variants."""
    sets = [SetScores(name, ls.records, {}) for name, ls in loaded.items()]
    variants = {ss.name: build_variants(ss.pairs, list(cfg.variants), cfg.variant_limit) for ss in sets}
    segments = [ss.pairs for ss in sets] + [vs.pairs for ss in sets for vs in variants[ss.name]]
    for ss in sets:
        ss.variants = [(vs, {}) for vs in variants[ss.name]]
    for name, rm in rms.items():
        scores = iter(score_segments(rm, segments, store))
        for ss in sets:
            ss.scores[name] = next(scores)
        for ss in sets:
            for _, vscores in ss.variants:
                vscores[name] = next(scores)
    return sets


# --------------------------------------------------------------------------- results


def metric_sections(sets: list[SetScores], rms: dict[str, Any], cfg: RMEvalConfig) -> dict:
    """Every metric section of ``rm_report.json`` (see ``report/_rm.py`` for how each is shown)."""
    margins = {name: not isinstance(rm, PairwiseJudgeRM) for name, rm in rms.items()}
    return {
        "accuracy": [r for ss in sets for r in accuracy_rows(ss, cfg.tie)],
        "failures": [r for ss in sets for r in failure_rows(ss)],
        "agreement": [agreement(ss, cfg.seed) for ss in sets],
        "mcnemar": [r for ss in sets for r in mcnemar_rows(ss)],
        "calibration": [
            calibration_row(sets, name, cfg.heldout_frac, cfg.bins, cfg.seed) for name in rms if margins[name]
        ],
        "length": {
            "baseline": [r for ss in sets for r in length_baseline_rows(ss)],
            "correlation": [r for ss in sets for r in length_correlation_rows(ss) if margins[r["rm"]]],
        },
        "sensitivity": [r for ss in sets for r in sensitivity_rows(ss, cfg.tie, cfg.bootstrap, cfg.seed, margins)],
        "rmbench": [r for ss in sets for r in rmbench_rows(ss)],
    }


def _dataset_entry(ls: registry.LoadedSet, sets: list[SetScores]) -> dict:
    ss = next(s for s in sets if s.name == ls.name)
    return {
        **ls.provenance(),
        "n_pairs": len(ls.records),
        "n_variant_pairs": {vs.variant: len(vs.pairs) for vs, _ in ss.variants},
        "styles": any("chosen_style" in p.meta for p in ls.records),
    }


def build_results(
    cfg: RMEvalConfig,
    rms: dict[str, Any],
    skipped: list[dict],
    loaded: dict[str, registry.LoadedSet],
    sets: list[SetScores],
    outcome: dict | None,
    timings: dict,
) -> dict:
    sections = metric_sections(sets, rms, cfg)
    return {
        "kind": "rm-eval",
        "name": cfg.name,
        "description": cfg.description,
        "created": now_iso(),
        "tie": cfg.tie,
        "seed": cfg.seed,
        "heldout_frac": cfg.heldout_frac,
        "variants": list(cfg.variants),
        "reward_models": [
            {"name": name, "type": spec.type, **rms[name].describe()}
            for spec in cfg.reward_models
            if (name := spec.name) in rms
        ],
        "skipped": skipped,
        "datasets": [_dataset_entry(ls, sets) for ls in loaded.values()],
        **sections,
        "flags": [r for r in sections["accuracy"] if r["flag"]],
        "outcome": outcome,
        "provenance": {
            **library_versions(),
            "seed": cfg.seed,
            "tie": cfg.tie,
            "heldout_frac": cfg.heldout_frac,
            "bins": cfg.bins,
            "bootstrap": cfg.bootstrap,
            "variant_limit": cfg.variant_limit,
            "workspace": cfg.workspace,
            "config": cfg.model_dump(mode="json"),
        },
        "timings": timings,
    }


def run_rm_eval(cfg: RMEvalConfig) -> dict[str, Path]:
    """Run (or resume) an RM reliability evaluation; return the written report files.

    Raises:
        AlignscopeError: listing every problem the validation pass finds, before anything is written.
    """
    require_valid_rm_eval(cfg)
    ws = Workspace(Path(cfg.workspace))
    out = cfg.out_dir
    out.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out / "config.resolved.yaml", yaml.safe_dump(cfg.model_dump(mode="json"), sort_keys=False))
    timings: dict[str, float] = {}
    t = time.time()
    loaded = {s.name: ls for s in cfg.datasets if (ls := load_pair_set(s, ws, cfg.workspace)) is not None}
    if not loaded:
        raise AlignscopeError("no preference set left to evaluate on")
    rms, skipped = build_rms(cfg, ws.root)
    timings["load"] = round(time.time() - t, 1)
    t = time.time()
    sets = score_sets(rms, loaded, cfg, ws.store)
    timings["score"] = round(time.time() - t, 1)
    outcome = None
    if cfg.outcome is not None:
        t = time.time()
        scalar = {name: rm for name, rm in rms.items() if not isinstance(rm, PairwiseJudgeRM)}
        outcome = outcome_validity(cfg.outcome, scalar, ws.store)
        timings["outcome"] = round(time.time() - t, 1)
    results = build_results(cfg, rms, skipped, loaded, sets, outcome, timings)
    return write_rm_report(results, out)
