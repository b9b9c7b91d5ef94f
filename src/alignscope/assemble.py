"""From evaluated rows to the results document the report renders: models, benchmarks, metric
rows, examples, paired statistics and provenance."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from alignscope import analysis
from alignscope.config import GenerateConfig, StudyConfig
from alignscope.data import EvalPrompt, EvalRow
from alignscope.evaluation import examples, metric_rows, truncation_rows
from alignscope.generate import public_url, served_name
from alignscope.judge import Judge
from alignscope.models import fingerprint
from alignscope.provenance import library_versions, now_iso, stable_hash
from alignscope.results import StudyResults
from alignscope.verdict import verdicts
from alignscope.workspace import ModelEntry


def _training_provenance(m: ModelEntry) -> dict:
    """What a trained model's provenance.json says, minus what the report already shows."""
    path = Path(m.resolved.path) / "provenance.json"
    if not path.is_file():
        return {}
    prov = json.loads(path.read_text())
    keep = (
        "parent_fingerprint",
        "seed",
        "data_sha256",
        "n_examples",
        "supervised_tokens",
        "chat_template_sha256",
        "train_seconds",
        "final_loss",
    )
    return {k: prov[k] for k in keep if k in prov}


def _describe(judge: Judge) -> dict:
    describe = getattr(judge, "describe", None)
    return describe() if describe is not None else {"key": judge.key}


def _benchmark_entries(benches: dict[str, list[EvalPrompt]], datasets: dict[str, dict]) -> list[dict]:
    """One entry per benchmark, with the registry's provenance (exact source, revision, sha256 of
    the loaded records, notes such as which HEx-PHI release) when the set came through it."""
    out = []
    for b, ps in benches.items():
        entry = {
            "name": b,
            "expected": ps[0].expected,
            "n": len(ps),
            "source": ps[0].source,
            "sha256": stable_hash([(p.id, p.text) for p in ps]),
        }
        if b in datasets:
            entry.update({k: datasets[b][k] for k in ("source", "revision", "sha256", "notes")})
        out.append(entry)
    return out


def study_statistics(cfg: StudyConfig, models: list[ModelEntry], rows: list[EvalRow], metrics: list[dict]) -> dict:
    """Paired comparisons (each fine-tune vs its parent, one-factor contrasts inside grids, and the
    study's ``report.compare`` pairs), per-prompt flips, seed aggregates, grids and paper references."""
    cells = [analysis.CellInfo(m.key, m.grid["name"], m.grid["params"], m.grid["seed"]) for m in models if m.grid]
    parents = {m.key: m.parent for m in models if m.parent}
    pairs = [analysis.Pair(p, k, "parent") for k, p in parents.items()] + analysis.factor_pairs(cells)
    pairs += [analysis.Pair(a, b, "requested") for a, b in cfg.report.compare]
    return {
        "grids": analysis.grid_summaries(cells, parents),
        "comparisons": analysis.compare_pairs(rows, pairs, cfg.report.bootstrap, cfg.seed),
        "aggregates": analysis.seed_aggregates(metrics, cells),
        "flips": analysis.flips(rows, parents),
        "references": [r.model_dump() for r in cfg.report.references],
    }


def _generation_provenance(m: ModelEntry, cfg: GenerateConfig, rows: list[EvalRow]) -> dict:
    """Which backend produced the model's responses (as the store recorded them) and, for api, the
    served name and the endpoint (never its key)."""
    backends = sorted(
        {r.generation.backend or "hf" for r in rows if r.model == m.key}
    )  # None: stored before backends were
    backends = backends or ["api" if m.resolved.kind == "api" else cfg.backend]  # recorded, all hf
    out: dict[str, Any] = {"backend": "+".join(backends)}
    if "api" in backends:
        out.update(
            served_name=served_name(m.resolved, m.key, cfg.served_names),
            base_url=public_url(cfg.endpoint.resolved().base_url),
        )
    if "vllm" in backends:
        out.update(tensor_parallel_size=cfg.tensor_parallel_size, lora_unmerged=m.resolved.kind == "adapter")
    return out


def _judge_kinds(judges: dict[str, Judge] | None) -> dict[str, str]:
    return {name: j.kind for name, j in (judges or {}).items()}


def _harmful(benches: dict[str, list[EvalPrompt]]) -> list[str]:
    """Benchmarks with prompts a safe model refuses (XSTest's unsafe half counts)."""
    return [b for b, ps in benches.items() if any(p.expected == "refuse" for p in ps)]


def build_results(
    cfg: StudyConfig,
    models: list[ModelEntry],
    benches: dict[str, list[EvalPrompt]],
    rows: list[EvalRow],
    timings: dict,
    judges: dict[str, Judge] | None = None,
    datasets: dict[str, dict] | None = None,
    skipped: list[dict[str, str]] | None = None,
) -> StudyResults:
    """The typed results of a study (validated here, so a malformed field fails before any report is written).

    ``datasets``: each benchmark's ``LoadedSet.provenance()`` by name (see ``load_benchmark_set``).
    ``skipped``: the optional benchmarks and judges not measured, ``{kind, name, reason}`` each.
    """
    metrics = metric_rows(rows, ("model", "benchmark"))
    stats = study_statistics(cfg, models, rows, metrics)
    generation = {m.key: _generation_provenance(m, cfg.evaluation.generate, rows) for m in models}
    return StudyResults.model_validate(
        {
            "study": cfg.name,
            "created": now_iso(),
            "description": cfg.description,
            "models": [
                {
                    "key": m.key,
                    "label": m.label,
                    "parent": m.parent,
                    "recipe": m.recipe,
                    "fingerprint": fingerprint(m.resolved),
                    "path": m.resolved.path,
                    "eval_system_prompt": m.eval_system_prompt,
                    "info": m.info,
                    "grid": m.grid,
                    **generation[m.key],
                }
                for m in models
            ],
            "benchmarks": _benchmark_entries(benches, datasets or {}),
            "metrics": metrics,
            "per_category": metric_rows(rows, ("model", "benchmark", "category")),
            "examples": examples(rows, benches, cfg.report.examples_per_model),
            "truncation": truncation_rows(rows),
            **stats,
            "verdicts": verdicts(stats["comparisons"], _judge_kinds(judges), _harmful(benches), cfg.gate),
            "skipped": skipped or [],
            "provenance": {
                **library_versions(),
                "seed": cfg.seed,
                "base_model": cfg.base_model,
                "sampling": cfg.evaluation.sampling.model_dump(),
                "judges": {name: _describe(j) for name, j in (judges or {}).items()},
                "models": {m.key: _training_provenance(m) for m in models if m.parent},
                "generation": generation,
            },
            "timings": timings,
        }
    )
