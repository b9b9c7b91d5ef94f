"""Format-neutral views of a study's results (``alignscope.results.StudyResults``, explained in
``SCHEMA.md``), shared by both renderers.

Every number, label, ordering and sentence of explanation in a report is derived here, so
the Markdown and the HTML report of one study can never disagree on a figure: the
renderers only decide how a view looks.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from typing import Any

from alignscope.metrics import JUDGE_KINDS, all_metrics, find_metric
from alignscope.results import Aggregate, BenchmarkInfo, Comparison, Example, MetricRow, StudyResults, Truncation

# What a cell can show: a model's metric row, or a grid cell's mean over seeds.
Estimate = MetricRow | Aggregate

DASH = "—"
CONTENT_WARNING = "Content warning: example model responses to harmful prompts"
# Which prompts a metric is computed on; harmful ("refuse") columns come before benign ones.
SIDES = ("refuse", "comply")


@dataclass(frozen=True)
class MetricInfo:
    """How one metric is named, formatted and explained.

    Attributes:
        label: Column text, e.g. ``"ASR"``.
        mean: True for a mean on the judge's own scale (shown as ``2.31``); False for a
            fraction in [0, 1] (shown as a percentage).
        side: The prompts it is computed on: ``"refuse"`` (harmful) or ``"comply"`` (benign).
        note: The sentence "How to read this" gives when the metric is present.
        scale: The (low, high) ends of the metric's scale, which colour scales and chart
            axes span; None for an unknown metric, whose axes span the data.
    """

    label: str
    mean: bool
    side: str
    note: str
    scale: tuple[float, float] | None = (0.0, 1.0)


GENERAL_NOTE = (
    "Brackets give 95% intervals: Wilson score intervals for rates, the normal approximation "
    "for means (none when fewer than two responses were scored). n is the number of prompts; "
    "failed is the number of verdicts the judge could not give or that could not be parsed, "
    "which are left out of the estimate. Changes versus parent are child minus parent: "
    "percentage points (pp) for rates, points on the judge's scale for means; compare the two "
    "intervals in the summary to judge whether a change exceeds sampling noise."
)

COMPARISON_NOTE = (
    "Paired comparisons score two models on the same prompts (those both had scored). The "
    "difference is the second model minus the first, with a 95% paired bootstrap interval; p "
    "is two-sided, from McNemar's exact test on the discordant prompts for rates and from the "
    "paired bootstrap for means, and is not corrected for the number of comparisons. Where a "
    "change versus parent has such a comparison, its interval and p are shown beneath it."
)

COMPARISONS_INTRO = (
    "Each row compares model B with model A on the prompts both had scored: B − A with its "
    "95% paired bootstrap interval, and a two-sided p (McNemar's exact test for rates, the "
    "paired bootstrap for means), uncorrected for multiple comparisons; p < 0.05 in bold. "
    "Discordant (A / B): the prompts on which only A, and only B, counts towards the metric "
    "(for ASR: answers instead of refusing)."
)

CHART_GROUPS_NOTE = (
    "Each chart shows at most eight models: models outside grids together, then each grid "
    "with its parent first; a larger group is split into even parts (a grid's parent leads "
    "each of its parts)."
)

FAILURE_NOTE = (
    "Failed verdicts are excluded from every rate and mean: they are never counted as safe or "
    "unsafe, so the affected estimates rest on fewer responses than n. Re-running the study "
    "fills them in."
)


def metric_info(metric: str | None) -> MetricInfo:
    """The display rules of ``metric``, from the metric registry; an unknown metric is shown as a
    plain number."""
    spec = find_metric(metric)
    if spec is not None:
        return MetricInfo(spec.label, spec.mean, spec.applies_to, spec.note, spec.scale)
    return MetricInfo(str(metric).replace("_", " "), True, "refuse", "", None)


def metric_names() -> list[str]:
    """Every registered metric, in column order within one judge (harmful-prompt metrics first)."""
    return list(all_metrics())


def kind_text(kind: str | None) -> str:
    """What a judge kind measures, in words; the kind's own name for an unregistered one."""
    registered = JUDGE_KINDS.get(str(kind))
    return registered.description if registered else (kind or DASH)


def main_metric(kind: str | None) -> str | None:
    """The one metric per judge kind that grids, heatmaps and the paper comparison lead with: the
    share of harmful prompts the judge counts as answered (or the mean for a score-only kind)."""
    registered = JUDGE_KINDS.get(str(kind))
    return registered.main if registered else None


# ------------------------------------------------------------------------------ lookups


def model_label(results: StudyResults, key: str | None) -> str:
    """Return the display label of model ``key``, falling back to the key itself."""
    if key is None:
        return DASH
    for model in results.models:
        if model.key == key:
            return model.label or key
    return key


def first_seen(items: Iterable[Any]) -> list[Any]:
    """Distinct items in order of first appearance."""
    return list(dict.fromkeys(items))


def index_rows(
    rows: Iterable[MetricRow], fields: tuple[str, ...], key: Callable[[MetricRow], tuple[str, ...]]
) -> dict[tuple[str, ...], MetricRow]:
    """Index metric rows by ``key``, whose parts are the rows' ``fields``.

    Raises:
        ValueError: if two rows share a key. The report would otherwise print one of two
            conflicting numbers without saying so.
    """
    index: dict[tuple[str, ...], MetricRow] = {}
    for row in rows:
        parts = key(row)
        if parts in index:
            raise ValueError(f"two result rows for {dict(zip(fields, parts))}; cannot report both")
        index[parts] = row
    return index


def metric_index(results: StudyResults) -> dict[tuple[str, ...], MetricRow]:
    """Index ``results.metrics`` by (model, benchmark, judge, metric)."""
    return index_rows(
        results.metrics, ("model", "benchmark", "judge", "metric"), lambda r: (r.model, r.benchmark, r.judge, r.metric)
    )


def judge_order(results: StudyResults) -> list[str]:
    """Judges in ``provenance.judges`` order, then any others in order of first appearance."""
    names = list(results.provenance.judges)
    names += [row.judge for row in results.metrics + results.per_category]
    for example in results.examples:
        names += list(example.labels)
    return first_seen(names)


def benchmark_order(results: StudyResults) -> list[str]:
    """Benchmarks in ``benchmarks`` order, then any others named by metric rows."""
    names = [b.name for b in results.benchmarks]
    names += [row.benchmark for row in results.metrics + results.per_category]
    return first_seen(names)


def judge_kinds(results: StudyResults) -> dict[str, str]:
    """Each judge's kind (``refusal``, ``harm-score``, ...) as its metric rows give it."""
    kinds: dict[str, str] = {}
    for row in results.metrics + results.per_category:
        if row.judge_kind:
            kinds.setdefault(row.judge, row.judge_kind)
    return kinds


def benchmark_sides(results: StudyResults) -> dict[str, set[str]]:
    """The prompt sides (``refuse``, ``comply``) each benchmark's metric rows cover."""
    sides: dict[str, set[str]] = {}
    for row in results.metrics:
        sides.setdefault(row.benchmark, set()).add(metric_info(row.metric).side)
    return sides


def first_benchmark(results: StudyResults, side: str) -> str | None:
    """The first benchmark whose rows cover ``side``, preferring one declared ``expected: side``.

    ``expected`` is the first prompt's, so a mixed set such as XSTest may claim ``refuse``
    while holding the benign prompts too; the metric rows decide what a benchmark covers.
    """
    sides = benchmark_sides(results)
    covered = [name for name in benchmark_order(results) if side in sides.get(name, set())]
    declared = {b.name for b in results.benchmarks if b.expected == side}
    return next((name for name in covered if name in declared), covered[0] if covered else None)


# ---------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """One summary column: a metric of one judge on one benchmark."""

    benchmark: str
    judge: str
    metric: str

    @property
    def label(self) -> str:
        """``ASR (keyword)``: the column's name within its benchmark."""
        name = metric_info(self.metric).label
        return f"{name} ({self.judge})" if self.judge else name

    @property
    def header(self) -> str:
        """``probe · ASR (keyword)``: the column's full name."""
        return f"{self.benchmark} · {self.label}"


def summary_columns(results: StudyResults) -> list[Column]:
    """One column per (benchmark, judge, metric) that has metric rows.

    Columns on harmful prompts come first, then over-refusal; within that, benchmarks in
    ``benchmarks`` order, judges in ``judge_order``, and a judge's metrics side by side.
    """
    benches, judges, metrics = benchmark_order(results), judge_order(results), metric_names()
    keys = first_seen((r.benchmark, r.judge, r.metric) for r in results.metrics)
    columns = [Column(*key) for key in keys]

    def rank(column: Column) -> tuple[int, int, int, int]:
        metric = metrics.index(column.metric) if column.metric in metrics else len(metrics)
        return (
            SIDES.index(metric_info(column.metric).side),
            benches.index(column.benchmark),
            judges.index(column.judge),
            metric,
        )

    return sorted(columns, key=rank)  # stable: unknown metrics keep first-seen order


def main_columns(results: StudyResults, columns: list[Column]) -> list[Column]:
    """The columns holding each judge's main harmful metric (``MAIN_METRIC``) or over-refusal."""
    kinds = judge_kinds(results)
    return [c for c in columns if c.metric == "over_refusal" or c.metric == main_metric(kinds.get(c.judge))]


def column_groups(columns: list[Column]) -> list[tuple[str, int]]:
    """(benchmark, span) for each run of adjacent columns on the same benchmark."""
    groups: list[tuple[str, int]] = []
    for column in columns:
        if groups and groups[-1][0] == column.benchmark:
            groups[-1] = (column.benchmark, groups[-1][1] + 1)
        else:
            groups.append((column.benchmark, 1))
    return groups


# ------------------------------------------------------------------------- formatting


def fmt_value(value: float | None, mean: bool) -> str:
    """A mean with two decimals, a fraction as a percentage with one, or a dash."""
    if value is None:
        return DASH
    return f"{value:.2f}" if mean else f"{100 * value:.1f}%"


def _signed(value: float, mean: bool) -> str:
    """``+72.3`` (percentage points of a fraction) or ``+1.25`` (scale points of a mean)."""
    # Adding 0.0 turns a rounded -0.0 into 0.0, which prints as a sensible "+0.0".
    if mean:
        return f"{round(value, 2) + 0.0:+.2f}"
    return f"{round(100 * value, 1) + 0.0:+.1f}"


def fmt_diff(value: float | None, mean: bool) -> str:
    """A difference: ``+72.3 pp`` for fractions, ``+1.25`` for means, or a dash."""
    if value is None:
        return DASH
    return _signed(value, mean) if mean else f"{_signed(value, mean)} pp"


def fmt_diff_ci(low: float | None, high: float | None, mean: bool) -> str:
    """A difference's interval with signs, ``[+15.0, +31.0]`` (pp) or ``[-0.12, +0.40]``."""
    if low is None or high is None:
        return ""
    return f"[{_signed(low, mean)}, {_signed(high, mean)}]"


SIGNIFICANCE = 0.05


def fmt_p(p: float | None) -> str:
    """A p-value with three significant digits, ``< 0.001`` below that, or a dash."""
    if p is None or (isinstance(p, float) and math.isnan(p)):
        return DASH
    return "< 0.001" if p < 0.001 else f"{p:.3g}"


def p_phrase(p: float | None) -> str:
    """``p = 0.032`` or ``p < 0.001``; empty without a p-value."""
    text = fmt_p(p)
    if text == DASH:
        return ""
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_ci(row: Estimate) -> str:
    """The row's interval as ``[7.7–20.1]`` (rates, in %) or ``[2.05–2.57]`` (means)."""
    low, high = row.ci_low, row.ci_high
    if low is None or high is None:
        return ""
    if metric_info(row.metric).mean:
        return f"[{low:.2f}–{high:.2f}]"
    return f"[{100 * low:.1f}–{100 * high:.1f}]"


@dataclass(frozen=True)
class Cell:
    """Display strings of one metric row; empty strings where there is nothing to show."""

    point: str
    ci: str = ""
    n: str = ""
    failed: str = ""

    @property
    def counts(self) -> str:
        """``n=110 · 3 failed`` (``0 failed`` too: every number states its failures)."""
        return " · ".join(part for part in (self.n, self.failed) if part)


def cell(row: MetricRow | None) -> Cell:
    """The display strings of a metric row; a missing row is a dash."""
    if row is None:
        return Cell(DASH)
    return Cell(fmt_value(row.value, metric_info(row.metric).mean), fmt_ci(row), f"n={row.n}", f"{row.n_failed} failed")


TRUNCATION_NOTE = (
    "Cut at the token limit is the share of each model's responses to each benchmark that stopped "
    "because they reached max_new_tokens (finish reason `length`), with a 95% Wilson interval. A "
    "response cut short can hide whether the model was going to refuse or comply, so a high share "
    "weakens every metric on that benchmark; raise evaluation.sampling.max_new_tokens."
)


@dataclass(frozen=True)
class TruncationView:
    """Truncation rates: one row per model (label, cells in benchmark order)."""

    benchmarks: list[str]
    rows: list[tuple[str, list[Cell]]]


def truncation_view(results: StudyResults) -> TruncationView | None:
    """The share of responses cut at the token limit per model and benchmark; None when not recorded."""
    if not results.truncation:
        return None
    benches = [b for b in benchmark_order(results) if any(t.benchmark == b for t in results.truncation)]
    index = {(t.model, t.benchmark): t for t in results.truncation}
    rows = []
    for model in results.models:
        cells = [_truncation_cell(index.get((model.key, b))) for b in benches]
        rows.append((model_label(results, model.key), cells))
    return TruncationView(benches, rows)


def _truncation_cell(row: Truncation | None) -> Cell:
    if row is None or row.value is None:
        return Cell(DASH)
    ci = (
        f"[{100 * row.ci_low:.1f}–{100 * row.ci_high:.1f}]"
        if row.ci_low is not None and row.ci_high is not None
        else ""
    )
    return Cell(fmt_value(row.value, False), ci, f"n={row.n}")


def fmt_label(value: Any) -> str:
    """A judge's label for one example: a string as is, a score without trailing zeros."""
    if isinstance(value, float):
        return f"{value:g}"
    return DASH if value is None else str(value)


def short_hash(value: Any) -> str:
    """The first 12 hex digits of a hash, without any ``sha256:`` prefix."""
    if not value:
        return DASH
    text = str(value).removeprefix("sha256:")
    return text if len(text) <= 16 else text[:12] + "…"


def fmt_seconds(value: Any) -> str:
    """Format a timing in seconds; non-numbers are shown as they are."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:.1f} s"
    return stringify(value)


def stringify(value: Any) -> str:
    """Render a provenance value as text: strings verbatim, everything else as JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, default=str)


# -------------------------------------------------------------------------- redaction

REDACTED = "[redacted]"
_SECRET_NAME = re.compile(r"api_?key|secret|passw(or)?d|authorization|credential|(^|_)token$")
_ENV_VAR_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_SECRET_VALUE = re.compile(
    r"\b(sk|rk|pk)-[A-Za-z0-9_\-]{12,}|\bhf_[A-Za-z0-9]{16,}"
    r"|\bgh[pousr]_[A-Za-z0-9]{16,}|\bBearer\s+\S+"
)
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_URL_SECRET_PARAM = re.compile(r"([?&](?:api[_-]?key|key|token|access_token)=)[^&#\s]+", re.I)


def redact(name: str, text: str) -> str:
    """Hide anything in provenance that looks like a credential.

    No credential should ever reach a results dict; this is the second line of defence,
    because a report is meant to be published. The *name* of an environment variable
    (``api_key_env: OPENAI_API_KEY``) is kept: it says where the key came from, not what
    it is.
    """
    leaf = name.rsplit(".", 1)[-1].lower().replace("-", "_")
    if _SECRET_NAME.search(leaf) and not _ENV_VAR_NAME.fullmatch(text):
        return REDACTED
    text = _SECRET_VALUE.sub(REDACTED, text)
    text = _URL_USERINFO.sub(f"{REDACTED}@", text)
    return _URL_SECRET_PARAM.sub(rf"\1{REDACTED}", text)


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested dicts to dotted keys with stringified, redacted values."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = redact(dotted, stringify(value))
    return flat


def provenance_items(results: StudyResults) -> list[tuple[str, str]]:
    """Provenance as dotted key/value pairs; judges are left to their own section."""
    prov = results.provenance.model_dump(exclude_unset=True, exclude={"judges"})
    return list(flatten(prov).items())


# ---------------------------------------------------------------------- derived views


@dataclass(frozen=True)
class Delta:
    """Display strings of a child-minus-parent change in one column.

    ``ci``, ``p`` and ``significant`` come from the paired comparison of the two models on
    the same prompts, when ``comparisons`` holds one; they stay empty otherwise.
    """

    change: str
    before: str = ""
    after: str = ""
    ci: str = ""
    p: str = ""
    significant: bool = False


def delta(child: MetricRow | None, parent: MetricRow | None) -> Delta:
    """The change from ``parent`` to ``child``: ``+72.3 pp`` for rates, ``+1.25`` for means."""
    if child is None or parent is None:
        return Delta(DASH)
    before, after = cell(parent).point, cell(child).point
    if child.value is None or parent.value is None:
        return Delta(DASH, before, after)
    mean = metric_info(child.metric).mean
    return Delta(fmt_diff(child.value - parent.value, mean), before, after)


def comparison_index(results: StudyResults) -> dict[tuple[str, ...], Comparison]:
    """Index ``comparisons`` by (a, b, benchmark, judge, metric); the first row of a key wins.

    The same pair can be listed for two reasons (a parent pair that the study also
    requested); both rows then hold the same statistics.
    """
    index: dict[tuple[str, ...], Comparison] = {}
    for row in results.comparisons:
        index.setdefault((row.a, row.b, row.benchmark, row.judge, row.metric), row)
    return index


def with_test(view: Delta, comparison: Comparison | None) -> Delta:
    """``view`` with the paired comparison's interval and p added, when there is one."""
    if comparison is None or view.change == DASH:
        return view
    mean, p = metric_info(comparison.metric).mean, comparison.p
    return replace(
        view,
        ci=fmt_diff_ci(comparison.ci_low, comparison.ci_high, mean),
        p=p_phrase(p),
        significant=p is not None and p < SIGNIFICANCE,
    )


def delta_rows(results: StudyResults) -> list[tuple[str, str, list[Delta]]]:
    """(model, parent, one Delta per summary column) for every model with a parent."""
    index, columns = metric_index(results), summary_columns(results)
    tests = comparison_index(results)
    rows = []
    for model in results.models:
        key, parent = model.key, model.parent
        if parent is None:
            continue
        deltas = [
            with_test(
                delta(
                    index.get((key, c.benchmark, c.judge, c.metric)),
                    index.get((parent, c.benchmark, c.judge, c.metric)),
                ),
                tests.get((parent, key, c.benchmark, c.judge, c.metric)),
            )
            for c in columns
        ]
        rows.append((model_label(results, key), model_label(results, parent), deltas))
    return rows


def judge_failures(results: StudyResults) -> list[tuple[str, int, int]]:
    """(judge, failed verdicts, all verdicts) for each judge with a failure, in judge order.

    The metrics of one judge on one set of prompts (harmfulness score and rate, say) share
    their verdicts, so each (model, benchmark, judge, side) counts once.
    """
    verdicts: dict[tuple[str, ...], tuple[int, int]] = {}
    for row in results.metrics:
        key = (row.model, row.benchmark, row.judge, metric_info(row.metric).side)
        verdicts[key] = max(verdicts.get(key, (0, 0)), (row.n_failed, row.n))
    totals: dict[str, tuple[int, int]] = {}
    for (_, _, judge, _), (failed, n) in verdicts.items():
        total = totals.get(judge, (0, 0))
        totals[judge] = (total[0] + failed, total[1] + n)
    return [
        (judge or "judge", *totals[judge]) for judge in judge_order(results) if judge in totals and totals[judge][0] > 0
    ]


VERDICT_NOTE = (
    "Each fine-tune against its parent on the same harmful prompts, by the refusal judge's ASR: "
    "safety degraded when McNemar's exact test finds a rise (p < alpha), improved when it finds a "
    "fall; no significant change when "
    "it finds none and the study had 80% power to see a rise as large as the gate's threshold; "
    "inconclusive (underpowered) when it finds none but had too few prompts to see one. The gate "
    "fails on a significant rise larger than its threshold (`alignscope run --gate` exits 3)."
)


@dataclass(frozen=True)
class VerdictLine:
    """One headline sentence, and whether its gate failed."""

    text: str
    verdict: str
    gate_failed: bool


def verdict_lines(results: StudyResults) -> list[VerdictLine]:
    """``aoa vs aligned on probe (keyword ASR): safety degraded, +72.0 pp [...]...`` per verdict."""
    out = []
    for v in results.verdicts:
        change = f"{fmt_diff(v.diff, False)} [{_pp(v.ci_low)}, {_pp(v.ci_high)}]" if v.diff is not None else DASH
        p = f"McNemar {p_phrase(v.p)}" if v.p is not None else "no test"
        mde = f"the smallest rise this n could detect is {_pp(v.mde)} pp" if v.mde is not None else "no prompts"
        gate = "gate FAILED" if v.gate_failed else "gate passed"
        text = (
            f"{model_label(results, v.model)} vs {model_label(results, v.parent)} on {v.benchmark} "
            f"({v.judge} ASR): {change}, {p}, n = {v.n}; {mde}; {gate} "
            f"(max +{v.max_asr_increase_pp:g} pp at alpha {v.alpha:g})."
        )
        if v.diff is not None and v.ci_low is not None and v.ci_high is not None and v.p is not None:
            ci_excludes_zero = v.ci_low > 0 or v.ci_high < 0
            if ci_excludes_zero != (v.p < v.alpha):
                text += (
                    " The bootstrap interval and McNemar's test disagree: the interval resamples all "
                    "prompts, the test uses only the discordant ones and is exact; the verdict follows the test."
                )
        out.append(VerdictLine(text, v.verdict, v.gate_failed))
    return out


def _pp(value: float | None) -> str:
    """A fraction in percentage points, one decimal: ``12.5``."""
    return DASH if value is None else f"{100 * value:.1f}"


NOT_MEASURED_NOTE = (
    "These were in the study but were not measured; nothing in this report covers them, and no "
    "number here stands in for them."
)


def not_measured_items(results: StudyResults) -> list[str]:
    """``benchmark advbench: not in the workspace cache (...)`` per skipped benchmark or judge."""
    return [f"{s.kind} {s.name}: {s.reason}" for s in results.skipped]


def failure_items(results: StudyResults) -> list[str]:
    """``policy: 7 of 330 verdicts failed`` per judge with failures; empty when none did."""
    return [f"{judge}: {failed} of {n} verdicts failed" for judge, failed, n in judge_failures(results)]


@dataclass(frozen=True)
class CategoryView:
    """Per-category ASR of one benchmark by one refusal judge."""

    benchmark: str
    judge: str
    categories: list[str]
    rows: dict[tuple[str, ...], MetricRow]  # (model, category) -> metric row


def category_views(results: StudyResults) -> list[CategoryView]:
    """One view per benchmark with per-category ASR, for its first refusal judge."""
    judges = judge_order(results)
    asr = [r for r in results.per_category if r.metric == "asr" and r.judge_kind == "refusal"]
    views = []
    for bench in benchmark_order(results):
        rows = [r for r in asr if r.benchmark == bench]
        if not rows:
            continue
        judge = min({r.judge for r in rows}, key=judges.index)
        rows = [r for r in rows if r.judge == judge]
        by_cell = index_rows(rows, ("model", "category"), lambda r: (r.model, str(r.category)))
        views.append(CategoryView(bench, judge, first_seen(str(r.category) for r in rows), by_cell))
    return views


# A per-category chart draws one bar per model in every category; past eight models (the
# palette's size) bars repeat colours and the chart outgrows a page.
MAX_CHART_MODELS = 8


@dataclass(frozen=True)
class ModelGroup:
    """Models drawn together in one per-category chart (and its Markdown table).

    Attributes:
        title: What the group is, e.g. ``"grid ablation, part 1 of 2"``; empty when the report
            has a single group, which then renders exactly as a study without grids.
        keys: Model keys, in the order their bars are drawn.
    """

    title: str
    keys: list[str]


def _chunked(title: str, anchor: str | None, keys: list[str]) -> list[ModelGroup]:
    """Split ``keys`` into even parts of at most ``MAX_CHART_MODELS``, each led by ``anchor``."""
    if not keys:
        return []
    room = MAX_CHART_MODELS - (anchor is not None)
    parts = math.ceil(len(keys) / room)
    size = math.ceil(len(keys) / parts)
    lead = [anchor] if anchor is not None else []
    return [
        ModelGroup(f"{title}, part {i + 1} of {parts}" if parts > 1 else title, lead + keys[start : start + size])
        for i, start in enumerate(range(0, len(keys), size))
    ]


def chart_groups(results: StudyResults) -> list[ModelGroup]:
    """The models of each per-category chart.

    Models outside any grid form one group; each grid forms its own, led by the grid's
    parent so every bar has its reference. A group larger than ``MAX_CHART_MODELS`` is cut
    into even parts (grid cells are listed axis by axis, so parts follow the first axis).
    """
    models = [m.key for m in results.models]
    in_grid = {key for grid in results.grids for key in grid.cells}
    title = "models outside grids" if results.grids else "models"
    groups = _chunked(title, None, [k for k in models if k not in in_grid])
    for grid in results.grids:
        cells = [k for k in grid.cells if k in models]
        parent = grid.parent if grid.parent in models else None
        groups += _chunked(f"grid {grid.name}", parent, cells)
    if len(groups) == 1:
        return [ModelGroup("", groups[0].keys)]
    return groups


def group_has_rows(view: CategoryView, group: ModelGroup) -> bool:
    """Whether any model of ``group`` has a per-category row in ``view``."""
    keys = set(group.keys)
    return any(model in keys for model, _ in view.rows)


@dataclass(frozen=True)
class BenchmarkLine:
    """Display strings describing one benchmark's data."""

    name: str
    expected: str
    n: str
    source: str
    revision: str
    sha256: str
    notes: list[str]


def _prompt_count(bench: BenchmarkInfo) -> str:
    """``n``, or ``rows`` in results that predate it, or a dash."""
    count = bench.n if bench.n is not None else bench.rows
    return DASH if count is None else str(count)


def benchmark_infos(results: StudyResults) -> list[BenchmarkLine]:
    """What each benchmark is; its prompt kinds are read off the metric rows it produced."""
    sides = benchmark_sides(results)
    infos = []
    for bench in results.benchmarks:
        present = [s for s in SIDES if s in sides.get(bench.name, set())]
        notes = bench.notes or []
        infos.append(
            BenchmarkLine(
                bench.name,
                " + ".join(present) or bench.expected,
                _prompt_count(bench),
                bench.source or DASH,
                bench.revision or DASH,
                short_hash(bench.sha256),
                [notes] if isinstance(notes, str) else [str(note) for note in notes],
            )
        )
    return infos


@dataclass(frozen=True)
class JudgeInfo:
    """Display strings describing one judge."""

    name: str
    kind: str
    settings: list[tuple[str, str]]


def judge_infos(results: StudyResults) -> list[JudgeInfo]:
    """Every judge, with what it measures and its recorded settings (hashes shortened)."""
    described = results.provenance.judges
    kinds = judge_kinds(results)
    infos = []
    for name in judge_order(results):
        settings = flatten(described.get(name) or {})
        settings = {k: short_hash(v) if k.endswith("sha256") else v for k, v in settings.items()}
        kind = kinds.get(name)
        infos.append(JudgeInfo(name or "judge", kind_text(kind), list(settings.items())))
    return infos


def example_labels(results: StudyResults, example: Example) -> list[tuple[str, str]]:
    """(judge, label) for every judge that labelled ``example``, in judge order."""
    labels = example.labels
    if not labels:
        return [("label", fmt_label(example.label))] if example.label is not None else []
    order = judge_order(results)
    names = sorted(labels, key=lambda name: order.index(name) if name in order else len(order))
    return [(name, fmt_label(labels[name])) for name in names]


def examples_by_model(results: StudyResults) -> dict[str, list[Example]]:
    """Group examples by model key, models in ``models`` order, unknown ones after."""
    groups: dict[str, list[Example]] = {m.key: [] for m in results.models}
    for example in results.examples:
        groups.setdefault(example.model, []).append(example)
    return {key: rows for key, rows in groups.items() if rows}


def how_to_read(results: StudyResults) -> list[str]:
    """One sentence per metric in the report, then the general note on intervals and n."""
    present = {row.metric for row in results.metrics}
    notes = [spec.note for metric, spec in all_metrics().items() if metric in present]
    return notes + [GENERAL_NOTE] + ([COMPARISON_NOTE] if results.comparisons else [])
