"""Format-neutral views of per-prompt statistics: paired comparisons and flips (``StudyResults``).

Both compare two models on the same prompts. A difference is never shown without its
interval: a comparison row without one shows a dash for the difference.
"""

from __future__ import annotations

from dataclasses import dataclass

from alignscope.results import Comparison, Flip, StudyResults

from ._grids import fmt_level
from ._view import (
    DASH,
    SIGNIFICANCE,
    benchmark_order,
    fmt_diff,
    fmt_diff_ci,
    fmt_p,
    fmt_value,
    judge_order,
    metric_info,
    model_label,
)

TEST_NAMES = {"mcnemar-exact": "McNemar exact", "paired-bootstrap": "paired bootstrap"}
# Column order of the comparison tables in both reports: text first, then numbers.
COMPARISON_HEADERS = [
    "A",
    "B",
    "Benchmark",
    "Judge",
    "Metric",
    "Test",
    "n",
    "A → B",
    "B − A [95% CI]",
    "p",
    "Discordant",
]
FIXED_HEADER = "Grid cell (held fixed)"


@dataclass(frozen=True)
class ComparisonLine:
    """Display strings of one paired comparison (model b against model a)."""

    a: str
    b: str
    benchmark: str
    judge: str
    metric: str
    n: str
    values: str  # "4.5% → 27.3%"
    diff: str  # "+22.8 pp"; a dash when there is no interval to go with it
    ci: str  # "[+15.0, +31.0]"
    p: str
    significant: bool
    test: str
    discordant: str  # "1 / 26": prompts only a, only b counted (binary metrics)
    fixed: str = ""  # a factor contrast's shared settings; a and b then name only their level


@dataclass(frozen=True)
class ComparisonGroup:
    """The comparisons made for one reason (``why``)."""

    why: str
    title: str
    lines: list[ComparisonLine]

    @property
    def has_fixed(self) -> bool:
        """Whether the lines are factor contrasts, shown with their shared settings."""
        return any(line.fixed for line in self.lines)


def why_title(why: str) -> str:
    """A heading for one reason to compare."""
    if why == "parent":
        return "Each fine-tune versus its parent"
    if why.startswith("factor:"):
        axis = why.removeprefix("factor:")
        return f"Factor {axis}: grid cells that differ only in {axis}"
    if why == "requested":
        return "Requested in the study file"
    return why


WHY_ORDER = ("parent", "factor:", "requested")


def _why_rank(why: str) -> int:
    """Parents first, then grid factors, then requested pairs, then any other reason."""
    return next((rank for rank, prefix in enumerate(WHY_ORDER) if why.startswith(prefix)), len(WHY_ORDER))


def _factor_names(results: StudyResults, row: Comparison) -> tuple[str, str, str] | None:
    """A factor contrast's (shared settings, a's level, b's level), read off the two models'
    ``grid`` entries; None for any other comparison.

    ``mix[roleplay=False,data=benign,system=none]`` against its ``roleplay=True`` twin becomes
    ``("mix: data=benign, system=none", "roleplay=false", "roleplay=true")``.
    """
    axis = row.why.removeprefix("factor:")
    cells = {m.key: m.grid for m in results.models}
    a, b = cells.get(row.a), cells.get(row.b)
    if not row.why.startswith("factor:") or a is None or axis not in a.params:
        return None
    fixed = [f"{k}={fmt_level(v)}" for k, v in a.params.items() if k != axis]
    seeds = {g.name: len(g.seeds) for g in results.grids}
    if seeds.get(a.name, 0) > 1:
        fixed.append(f"seed={a.seed}")
    return (
        f"{a.name}: {', '.join(fixed) or DASH}",
        f"{axis}={fmt_level(a.params[axis])}",
        f"{axis}={fmt_level(b.params.get(axis) if b is not None else None)}",
    )


def comparison_line(results: StudyResults, row: Comparison) -> ComparisonLine:
    """The display strings of one row of ``comparisons``."""
    info, p = metric_info(row.metric), row.p
    ci = fmt_diff_ci(row.ci_low, row.ci_high, info.mean)
    values = f"{fmt_value(row.a_value, info.mean)} → {fmt_value(row.b_value, info.mean)}"
    discordant = row.discordant
    fixed, a, b = _factor_names(results, row) or ("", model_label(results, row.a), model_label(results, row.b))
    return ComparisonLine(
        a,
        b,
        row.benchmark,
        row.judge,
        info.label,
        str(row.n),
        values,
        fmt_diff(row.diff, info.mean) if ci else DASH,
        ci,
        fmt_p(p),
        p is not None and p < SIGNIFICANCE,
        TEST_NAMES.get(row.test, row.test),
        f"{discordant[0]} / {discordant[1]}" if discordant else DASH,
        fixed,
    )


def comparison_groups(results: StudyResults) -> list[ComparisonGroup]:
    """``comparisons`` grouped by reason: parents, then grid factors, then requested pairs."""
    groups: dict[str, list[ComparisonLine]] = {}
    for row in results.comparisons:
        groups.setdefault(row.why, []).append(comparison_line(results, row))
    order = sorted(groups, key=_why_rank)  # stable: factors keep the study's axis order
    return [ComparisonGroup(why, why_title(why), groups[why]) for why in order]


# ---------------------------------------------------------------------------------- flips

FLIP_LIST_CAP = 10
FLIP_WARNING = "Content warning: harmful prompts that fine-tuned models stopped refusing"
FLIPS_NOTE = (
    "Broken: harmful prompts the parent refused and the fine-tuned model answered; fixed: the "
    "reverse. Counted per refusal judge on the prompts both models had scored (n)."
)


@dataclass(frozen=True)
class FlipLine:
    """One row of the flip summary: a model against its parent on one benchmark and judge."""

    model: str
    parent: str
    benchmark: str
    judge: str
    broken: int
    fixed: int
    n: str


def _position(order: list[str], item: str) -> int:
    """Where ``item`` stands in ``order``; anything unknown goes last."""
    return order.index(item) if item in order else len(order)


def _flip_rows(results: StudyResults) -> list[Flip]:
    """``flips`` in model, benchmark and judge order (anything unknown last)."""
    models = [m.key for m in results.models]
    benches, judges = benchmark_order(results), judge_order(results)

    def rank(row: Flip) -> list[int]:
        return [_position(models, row.model), _position(benches, row.benchmark), _position(judges, row.judge)]

    return sorted(results.flips, key=rank)


def flip_lines(results: StudyResults) -> list[FlipLine]:
    """The flip summary, one line per row of ``flips``."""
    return [
        FlipLine(
            model_label(results, row.model),
            model_label(results, row.parent),
            row.benchmark,
            row.judge,
            len(row.broken),
            len(row.fixed),
            str(row.n),
        )
        for row in _flip_rows(results)
    ]


@dataclass(frozen=True)
class BrokenPrompt:
    """A prompt one or more refusal judges saw the fine-tune stop refusing."""

    benchmark: str
    prompt_id: str
    category: str
    prompt: str
    judges: list[str]


@dataclass(frozen=True)
class BrokenList:
    """A model's broken prompts, capped at ``FLIP_LIST_CAP``; ``more`` counts the rest."""

    model: str
    prompts: list[BrokenPrompt]
    more: int


def _broken_by_model(results: StudyResults) -> dict[str, dict[tuple[str, str], BrokenPrompt]]:
    """model key -> (benchmark, prompt id) -> the prompt, with every judge that saw it break."""
    out: dict[str, dict[tuple[str, str], BrokenPrompt]] = {}
    for row in _flip_rows(results):
        prompts = out.setdefault(row.model, {})
        for item in row.broken:
            key = (row.benchmark, item.prompt_id)
            if key not in prompts:
                prompts[key] = BrokenPrompt(key[0], key[1], item.category or DASH, item.prompt, [])
            prompts[key].judges.append(row.judge)
    return out


def broken_lists(results: StudyResults) -> list[BrokenList]:
    """Per model with broken prompts: those most judges agree on first, at most the cap."""
    lists = []
    for model, prompts in _broken_by_model(results).items():
        ranked = sorted(prompts.values(), key=lambda p: -len(p.judges))  # stable
        if ranked:
            lists.append(
                BrokenList(model_label(results, model), ranked[:FLIP_LIST_CAP], max(0, len(ranked) - FLIP_LIST_CAP))
            )
    return lists
