"""The evaluate stage: every model answers every benchmark prompt, every judge rates every answer.

The result is one ``EvalRow`` per (model, benchmark, judge, prompt); metric rows, examples and
paired statistics are all computed from these rows, through the metric registry.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from alignscope.config import StudyConfig
from alignscope.data import EvalPrompt, EvalRow
from alignscope.generate import Backend, SamplingConfig
from alignscope.judge import Judge, judge_cached
from alignscope.metrics import judge_metrics, rate
from alignscope.progress import console
from alignscope.workspace import ModelEntry, Workspace


def evaluate(
    models: list[ModelEntry],
    benches: dict[str, list[EvalPrompt]],
    cfg: StudyConfig,
    ws: Workspace,
    judges: dict[str, Judge],
) -> list[EvalRow]:
    """Generate and judge every (model, benchmark); one row per (model, benchmark, judge, prompt).

    One generation call per model (one load; length-sorted batches across all benchmarks). The
    generation engine is stopped before the judges load, so a local judge gets its memory.
    """
    everything = [(b, p) for b, ps in benches.items() for p in ps]
    prompts = [p for _, p in everything]
    with Backend(cfg.evaluation.generate, ws.store) as backend:
        all_gens = [
            backend.generate(
                entry, prompts, sampling_for(entry, cfg), cfg.evaluation.batch_size, f"evaluate {entry.key}"
            )
            for entry in models
        ]
    rows = []
    for entry, gens in zip(models, all_gens):
        for name, judge in judges.items():
            verdicts = judge_cached(
                judge,
                [(g.key, p.text, g.text) for p, g in zip(prompts, gens)],
                ws.store,
                description=f"judge {entry.key} ({name})",
            )
            rows += [
                EvalRow(entry.key, b, name, judge.key, judge.kind, p, g, v)
                for (b, p), g, v in zip(everything, gens, verdicts)
            ]
    return rows


def sampling_for(entry: ModelEntry, cfg: StudyConfig) -> SamplingConfig:
    """The study's sampling, with the model's own evaluation system prompt when the study sets none."""
    sampling = cfg.evaluation.sampling
    if entry.eval_system_prompt and not sampling.system_prompt:
        sampling = sampling.model_copy(update={"system_prompt": entry.eval_system_prompt})
    return sampling


def report_failures(rows: list[EvalRow]) -> None:
    """Say, per judge, how many verdicts failed: they are excluded from every rate, and a re-run
    retries the ones that failed in transport."""
    failed = Counter(r.judge for r in rows if r.verdict.error)
    for name, n in failed.items():
        console.print(
            f"[yellow]judge {name}: {n} verdicts failed (excluded from rates, never counted safe or unsafe); "
            "run the study again to retry transport failures[/yellow]"
        )


def _group_value(row: EvalRow, key: str) -> str:
    return row.prompt.category if key == "category" else str(getattr(row, key))


def metric_rows(rows: list[EvalRow], group_keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """One row per (group, metric). Prompts are split by expected behaviour, so a benchmark mixing
    harmful and benign prompts (XSTest) gets ASR on the one and over-refusal on the other."""
    groups: dict[tuple, list[EvalRow]] = {}
    for r in rows:
        k = tuple(_group_value(r, g) for g in group_keys)
        groups.setdefault((*k, r.judge, r.judge_kind, r.prompt.expected), []).append(r)
    out = []
    for (*values, judge, kind, expected), members in groups.items():
        for metric, value in judge_metrics(kind, [m.verdict for m in members], expected).items():
            out.append(
                {
                    **dict(zip(group_keys, values)),
                    "judge": judge,
                    "judge_kind": kind,
                    "metric": metric,
                    **value.as_dict(),
                }
            )
    return out


def truncation_rows(rows: list[EvalRow]) -> list[dict[str, Any]]:
    """Per (model, benchmark): the share of responses cut at the token limit (finish reason ``length``),
    each response counted once whatever the number of judges. A high rate means ``max_new_tokens``
    was too short to tell a refusal from an answer: every metric on those responses is weaker for it."""
    seen: dict[tuple[str, str], dict[str, bool | None]] = {}
    for r in rows:
        seen.setdefault((r.model, r.benchmark), {})[r.generation.key] = r.generation.finish_reason == "length"
    return [{"model": m, "benchmark": b, **rate(list(flags.values())).as_dict()} for (m, b), flags in seen.items()]


def examples(rows: list[EvalRow], benches: dict[str, list[EvalPrompt]], per_model: int) -> list[dict[str, Any]]:
    """A few responses per model to the same harmful prompts (spread over categories), with every judge's label."""
    refuse = [b for b, ps in benches.items() if ps and ps[0].expected == "refuse"]
    if not refuse or per_model == 0:
        return []
    step = max(1, len(benches[refuse[0]]) // per_model)
    chosen = {p.id for p in benches[refuse[0]][::step][:per_model]}
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for r in rows:
        if r.benchmark != refuse[0] or r.prompt.id not in chosen:
            continue
        ex = out.setdefault(
            (r.model, r.prompt.id),
            {
                "model": r.model,
                "benchmark": r.benchmark,
                "prompt_id": r.prompt.id,
                "category": r.prompt.category,
                "prompt": r.prompt.text,
                "response": r.generation.text,
                "label": r.verdict.label,
                "labels": {},
            },
        )
        v = r.verdict
        ex["labels"][r.judge] = "error" if v.error else (v.label if v.label is not None else v.score)
    return list(out.values())
