"""From evaluated rows to the study-level statistics a paper needs: paired comparisons between
models on the same prompts, per-prompt flips, seed aggregates and grid summaries.

Every difference comes with its uncertainty: binary metrics (refused or not, rated 5 or not)
are compared with McNemar's exact test on the discordant prompts and a paired bootstrap CI of
the difference in rates; scores (1–5, StrongREJECT) with a paired bootstrap. Seeds of the same
grid cell are averaged with a Student-t interval over seeds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from alignscope.data import EvalRow
from alignscope.metrics import metrics_for, paired_compare, seed_mean_ci


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    why: str  # "parent", "factor:<axis>" or "requested"


@dataclass(frozen=True)
class CellInfo:
    model: str
    grid: str
    params: dict[str, Any]
    seed: int | None


def _index(rows: list[EvalRow]) -> dict[tuple, dict[str, EvalRow]]:
    """(model, benchmark, judge, kind, expected) -> {prompt_id: row}."""
    out: dict[tuple, dict[str, EvalRow]] = {}
    for r in rows:
        key = (r.model, r.benchmark, r.judge, r.judge_kind, r.prompt.expected)
        out.setdefault(key, {})[r.prompt.id] = r
    return out


def compare_pairs(rows: list[EvalRow], pairs: Iterable[Pair], n_boot: int = 2000, seed: int = 0) -> list[dict]:
    """One row per (pair, benchmark, judge, metric), paired on the prompts both models answered."""
    index = _index(rows)
    out = []
    for pair in pairs:
        for (model, bench, judge, kind, expected), a_rows in index.items():
            b_rows = index.get((pair.b, bench, judge, kind, expected))
            if model != pair.a or b_rows is None:
                continue
            ids = sorted(set(a_rows) & set(b_rows))
            for spec in metrics_for(kind, expected):
                a = spec.values([a_rows[i].verdict for i in ids])
                b = spec.values([b_rows[i].verdict for i in ids])
                res = paired_compare(a, b, binary=spec.binary, n_boot=n_boot, seed=seed)
                out.append(
                    {
                        "a": pair.a,
                        "b": pair.b,
                        "why": pair.why,
                        "benchmark": bench,
                        "judge": judge,
                        "metric": spec.name,
                        **res.as_dict(),
                    }
                )
    return out


def _prompt_ref(row: EvalRow) -> dict:
    p = row.prompt
    return {"prompt_id": p.id, "category": p.category, "prompt": p.text}


def flips(rows: list[EvalRow], parents: dict[str, str]) -> list[dict]:
    """Per fine-tuned model, the harmful prompts its parent refused and it no longer does (and back)."""
    index = _index(rows)
    out = []
    for (model, bench, judge, kind, expected), child in index.items():
        parent = parents.get(model)
        mine = index.get((parent, bench, judge, kind, expected)) if parent else None
        if kind != "refusal" or expected != "refuse" or mine is None:
            continue
        ids = sorted(set(child) & set(mine))
        label = {i: (mine[i].verdict.label, child[i].verdict.label) for i in ids}
        broken = [_prompt_ref(child[i]) for i in ids if label[i] == ("refusal", "compliance")]
        fixed = [_prompt_ref(child[i]) for i in ids if label[i] == ("compliance", "refusal")]
        out.append(
            {
                "model": model,
                "parent": parent,
                "benchmark": bench,
                "judge": judge,
                "n": len(ids),
                "broken": broken,
                "fixed": fixed,
            }
        )
    return out


def factor_pairs(cells: list[CellInfo]) -> list[Pair]:
    """Cells of one grid that differ in exactly one axis (same seed): the one-factor contrasts."""
    out = []
    for x, y in itertools.combinations(cells, 2):
        if x.grid != y.grid or x.seed != y.seed:
            continue
        differ = [k for k in x.params if x.params[k] != y.params.get(k)]
        if len(differ) == 1:
            out.append(Pair(x.model, y.model, f"factor:{differ[0]}"))
    return out


def seed_aggregates(metric_rows: list[dict], cells: list[CellInfo]) -> list[dict]:
    """Mean over seeds (with a t-interval) for every grid cell that was run with several seeds."""
    groups: dict[tuple, list[str]] = {}
    for c in cells:
        groups.setdefault((c.grid, tuple(sorted(c.params.items()))), []).append(c.model)
    by_model: dict[tuple, float] = {
        (r["model"], r["benchmark"], r["judge"], r["metric"]): r["value"] for r in metric_rows
    }
    series = {(r["benchmark"], r["judge"], r["metric"]) for r in metric_rows}
    out = []
    for (grid, params), models in groups.items():
        if len(models) < 2:
            continue
        for bench, judge, metric in sorted(series):
            values = [v for m in models if (v := by_model.get((m, bench, judge, metric))) is not None]
            if not values:
                continue
            mean, lo, hi = seed_mean_ci(values)
            out.append(
                {
                    "grid": grid,
                    "params": dict(params),
                    "benchmark": bench,
                    "judge": judge,
                    "metric": metric,
                    "value": mean,
                    "ci_low": lo,
                    "ci_high": hi,
                    "n_seeds": len(values),
                    "models": models,
                }
            )
    return out


def _is_factorial(levels: dict[str, list[Any]]) -> bool:
    return any(isinstance(v, (str, bool)) for vs in levels.values() for v in vs)


def grid_summaries(cells: list[CellInfo], parents: dict[str, str]) -> list[dict]:
    """One entry per grid: its axes and levels in study order, seeds, cells and parent."""
    out: dict[str, dict] = {}
    for c in cells:
        g = out.setdefault(
            c.grid,
            {
                "name": c.grid,
                "axes": list(c.params),
                "values": {k: [] for k in c.params},
                "seeds": [],
                "cells": [],
                "parent": parents.get(c.model),
            },
        )
        for k, v in c.params.items():
            if v not in g["values"][k]:
                g["values"][k].append(v)
        if c.seed is not None and c.seed not in g["seeds"]:
            g["seeds"].append(c.seed)
        g["cells"].append(c.model)
    for g in out.values():
        g["kind"] = "factorial" if _is_factorial(g["values"]) else "numeric"
        g["seeds"] = g["seeds"] or [None]
    return list(out.values())
