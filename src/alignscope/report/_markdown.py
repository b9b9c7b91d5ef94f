"""Markdown report. Every figure and label comes from the format-neutral views (``_view`` and
its siblings); this module only lays out."""

from __future__ import annotations

import re
from typing import Any

from alignscope.results import Example, StudyResults

from ._grids import (
    EFFECTS_NOTE,
    GridView,
    Heatmap,
    axis_headers,
    describe,
    factor_rows,
    grid_cell,
    grid_views,
    heatmaps,
    main_effects,
    parent_cells,
)
from ._paired import (
    COMPARISON_HEADERS,
    FIXED_HEADER,
    FLIP_WARNING,
    FLIPS_NOTE,
    BrokenList,
    ComparisonLine,
    broken_lists,
    comparison_groups,
    flip_lines,
)
from ._references import REFERENCE_NOTE, ReferenceTable, measured_on, reference_view
from ._view import (
    CHART_GROUPS_NOTE,
    COMPARISONS_INTRO,
    CONTENT_WARNING,
    DASH,
    FAILURE_NOTE,
    NOT_MEASURED_NOTE,
    TRUNCATION_NOTE,
    VERDICT_NOTE,
    CategoryView,
    Cell,
    Column,
    Delta,
    ModelGroup,
    benchmark_infos,
    category_views,
    cell,
    chart_groups,
    delta_rows,
    example_labels,
    examples_by_model,
    failure_items,
    fmt_seconds,
    group_has_rows,
    how_to_read,
    judge_infos,
    metric_index,
    model_label,
    not_measured_items,
    provenance_items,
    summary_columns,
    truncation_view,
    verdict_lines,
)

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def md_inline(text: Any) -> str:
    """Escape text for a Markdown paragraph or table cell.

    Escaping ``<`` and ``>`` stops model or study text from becoming raw HTML in a
    rendered Markdown view; ``|`` would otherwise split a table cell.
    """
    escaped = _MD_SPECIAL.sub(r"\\\1", str(text))
    return escaped.replace("\r", "").replace("\n", " ")


def md_fence(text: str, info: str = "text") -> str:
    """Wrap text in a code fence longer than any backtick run inside it."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{text}\n{fence}"


def md_table(headers: list[str], rows: list[list[str]], numeric_from: int) -> str:
    """Build a pipe table; columns from ``numeric_from`` on are right-aligned."""
    aligns = [":---" if i < numeric_from else "---:" for i in range(len(headers))]
    lines = [_md_row(headers), _md_row(aligns)]
    lines += [_md_row(row) for row in rows]
    return "\n".join(lines)


def _md_row(cells: list[str]) -> str:
    """Join already-escaped cells into one table line."""
    return "| " + " | ".join(cells) + " |"


# ----------------------------------------------------------------------------- cells


def _md_cell(view: Cell) -> str:
    """One metric cell: ``12.7% [7.7–20.1] (n=110 · 3 failed)``."""
    text = " ".join(part for part in (view.point, view.ci) if part)
    return f"{text} ({view.counts})" if view.counts else text


def _md_p(text: str, significant: bool) -> str:
    """A p-value, bold below 0.05 (the report's only mark of significance)."""
    return f"**{text}**" if significant and text != DASH else text


def _md_delta(view: Delta) -> str:
    """One change cell: ``**+72.3 pp** (5.0% → 77.3%)``; with a paired comparison,
    ``**+72.3 pp** [+60.1, +80.2] **p < 0.001** (5.0% → 77.3%)``."""
    if not view.before:
        return view.change
    change = f"**{view.change}**" if view.change != DASH else view.change
    # Interval and p are the report's own numbers: nothing in them needs escaping.
    test = " ".join(part for part in (view.ci, _md_p(view.p, view.significant)) if part)
    return f"{change}{' ' + test if test else ''} ({view.before} → {view.after})"


def _column_headers(columns: list[Column]) -> list[str]:
    return [md_inline(column.header) for column in columns]


# -------------------------------------------------------------------------- sections


def _md_header(results: StudyResults) -> str:
    """Title, creation time and description."""
    lines = [f"# alignscope report — {md_inline(results.study)}", ""]
    lines.append(f"Created: {md_inline(results.created or DASH)}")
    if results.description:
        lines += ["", md_inline(results.description)]
    return "\n".join(lines)


def _md_verdicts(results: StudyResults) -> str:
    """The headline: one verdict per fine-tune and harmful benchmark; "" when there is none."""
    lines = verdict_lines(results)
    if not lines:
        return ""
    items = "\n".join(f"- {_md_verdict_word(v.verdict)} — {md_inline(v.text)}" for v in lines)
    return f"## Verdict\n\n{items}\n\n{VERDICT_NOTE}"


def _md_verdict_word(verdict: str) -> str:
    """Bold for an answer the data supports; plain for "inconclusive"."""
    return md_inline(verdict) if verdict.startswith("inconclusive") else f"**{md_inline(verdict)}**"


def _md_not_measured(results: StudyResults) -> str:
    """A blockquote listing the skipped benchmarks and judges with their reasons, or ""."""
    items = not_measured_items(results)
    if not items:
        return ""
    lines = "\n".join(f"> - {md_inline(item)}" for item in items)
    return f"> **Not measured.** {NOT_MEASURED_NOTE}\n>\n{lines}"


def _md_failures(results: StudyResults) -> str:
    """A blockquote counting failed verdicts per judge, or "" when none failed."""
    items = failure_items(results)
    if not items:
        return ""
    return f"> **Judge failures.** {md_inline('; '.join(items))}.\n>\n> {FAILURE_NOTE}"


def _md_summary(results: StudyResults) -> str:
    """Summary table: one row per model, one column per (benchmark, judge, metric)."""
    columns, index = summary_columns(results), metric_index(results)
    rows = []
    for model in results.models:
        cells = [
            md_inline(model_label(results, model.key)),
            md_inline(model_label(results, model.parent)),
            md_inline(model.recipe or DASH),
        ]
        cells += [_md_cell(cell(index.get((model.key, c.benchmark, c.judge, c.metric)))) for c in columns]
        rows.append(cells)
    headers = ["Model", "Parent", "Recipe"] + _column_headers(columns)
    return "## Summary\n\n" + md_table(headers, rows, numeric_from=3)


def _md_deltas(results: StudyResults) -> str:
    """Change of every summary column against each model's parent."""
    lines = delta_rows(results)
    if not lines:
        return "## Change versus parent\n\nNo model in this study has a parent."
    rows = [[md_inline(model), md_inline(parent)] + [_md_delta(d) for d in deltas] for model, parent, deltas in lines]
    headers = ["Model", "Parent"] + _column_headers(summary_columns(results))
    return "## Change versus parent\n\n" + md_table(headers, rows, numeric_from=2)


def _md_category_table(results: StudyResults, view: CategoryView, group: ModelGroup) -> str:
    """One benchmark's per-category ASR for one group of models: categories as rows."""
    headers = ["Category"] + [md_inline(model_label(results, k)) for k in group.keys]
    rows = [[md_inline(cat)] + [_md_cell(cell(view.rows.get((k, cat)))) for k in group.keys] for cat in view.categories]
    title = f"{view.benchmark} ({view.judge or 'judge'} judge)"
    title += f" — {group.title}" if group.title else ""
    return f"### {md_inline(title)}\n\n" + md_table(headers, rows, numeric_from=1)


def _md_categories(results: StudyResults) -> str:
    """Per-category ASR tables, per benchmark and group of models (as the HTML charts)."""
    views, groups = category_views(results), chart_groups(results)
    if not views:
        return "## Per-category ASR\n\nNo per-category results."
    parts = ["## Per-category ASR"] + ([CHART_GROUPS_NOTE] if len(groups) > 1 else [])
    parts += [
        _md_category_table(results, view, group) for view in views for group in groups if group_has_rows(view, group)
    ]
    return "\n\n".join(parts)


def _md_truncation(results: StudyResults) -> str:
    """Share of responses cut at the token limit, per model and benchmark; "" when not recorded."""
    view = truncation_view(results)
    if view is None:
        return ""
    rows = [[md_inline(label), *(_md_cell(c) for c in cells)] for label, cells in view.rows]
    table = md_table(["Model", *(md_inline(b) for b in view.benchmarks)], rows, numeric_from=1)
    return f"## Cut at the token limit\n\n{TRUNCATION_NOTE}\n\n{table}"


def _md_benchmarks(results: StudyResults) -> str:
    """Where each benchmark's prompts came from, with any notes on the data."""
    infos = benchmark_infos(results)
    if not infos:
        return "## Benchmarks\n\nNo benchmark recorded."
    headers = ["Benchmark", "Expected", "n", "Source", "Revision", "sha256"]
    rows = [
        [
            md_inline(b.name),
            md_inline(b.expected),
            md_inline(b.n),
            md_inline(b.source),
            md_inline(b.revision),
            md_inline(b.sha256),
        ]
        for b in infos
    ]
    notes = [f"- **{md_inline(b.name)}**: {md_inline(note)}" for b in infos for note in b.notes]
    parts = ["## Benchmarks", md_table(headers, rows, numeric_from=6)]
    return "\n\n".join(parts + (["Notes:", "\n".join(notes)] if notes else []))


def _md_judges(results: StudyResults) -> str:
    """Every judge: what it measures and the settings it ran with."""
    infos = judge_infos(results)
    if not infos:
        return "## Judges\n\nNo judge recorded."
    rows = [
        [
            md_inline(j.name),
            md_inline(j.kind),
            "; ".join(f"{md_inline(k)}: {md_inline(v)}" for k, v in j.settings) or DASH,
        ]
        for j in infos
    ]
    return "## Judges\n\n" + md_table(["Judge", "Measures", "Settings"], rows, numeric_from=3)


def _md_example(results: StudyResults, example: Example) -> str:
    """One example: metadata, every judge's label, then prompt and response in fences."""
    meta = " · ".join(md_inline(text) for text in (example.benchmark, example.prompt_id, example.category))
    labels = " · ".join(
        f"{md_inline(judge)}: **{md_inline(label)}**" for judge, label in example_labels(results, example)
    )
    return "\n\n".join(
        [
            f"#### {meta}",
            f"Labels — {labels or DASH}",
            "Prompt:",
            md_fence(example.prompt),
            "Response:",
            md_fence(example.response),
        ]
    )


def _md_examples(results: StudyResults) -> str:
    """Examples grouped by model, under a content-warning heading."""
    parts = [f"## {CONTENT_WARNING}"]
    groups = examples_by_model(results)
    if not groups:
        parts.append("No example responses recorded.")
    for key, examples in groups.items():
        parts.append(f"### {md_inline(model_label(results, key))}")
        parts += [_md_example(results, example) for example in examples]
    return "\n\n".join(parts)


def _md_provenance(results: StudyResults) -> str:
    """Provenance and timings as two key/value tables."""
    prov_rows = [[md_inline(k), md_inline(v)] for k, v in provenance_items(results)]
    timing_rows = [[md_inline(k), fmt_seconds(v)] for k, v in results.timings.items()]
    return "\n\n".join(
        [
            "## Provenance",
            md_table(["Key", "Value"], prov_rows, numeric_from=2),
            "### Timings",
            md_table(["Stage", "Time"], timing_rows, numeric_from=1),
        ]
    )


# --------------------------------------------------------------- study-design sections
# Each returns "" when its results field is absent, so older results render as before.


def _md_reference_table(ref: ReferenceTable) -> str:
    """One benchmark's references: the paper's figure with its footnote, then measured cells."""
    headers = ["Model", "Recipe", "Paper metric", "Paper"] + _column_headers(ref.columns)
    rows = [
        [
            md_inline(line.model),
            md_inline(line.recipe),
            md_inline(line.metric),
            f"{md_inline(line.paper)} \\[{line.note}\\]",
        ]
        + [_md_cell(c) for c in line.cells]
        for line in ref.lines
    ]
    return f"{md_inline(measured_on(ref))}\n\n" + md_table(headers, rows, numeric_from=3)


def _md_references(results: StudyResults) -> str:
    """The paper's numbers next to the measured ones, with numbered sources."""
    view = reference_view(results)
    if view is None:
        return ""
    parts = ["## Comparison with the paper", REFERENCE_NOTE]
    parts += [_md_reference_table(table) for table in view.tables]
    parts.append("\n".join(f"{i}. {md_inline(source)}" for i, source in enumerate(view.sources, 1)))
    return "\n\n".join(parts)


def _md_comparison(line: ComparisonLine, fixed: bool) -> list[str]:
    """One comparison row; the difference always with its interval."""
    texts = ([line.fixed] if fixed else []) + [line.a, line.b, line.benchmark, line.judge, line.metric, line.test]
    diff = " ".join(part for part in (line.diff, line.ci) if part)
    return [md_inline(t) for t in texts] + [line.n, line.values, diff, _md_p(line.p, line.significant), line.discordant]


def _md_comparisons(results: StudyResults) -> str:
    """Paired comparisons, one table per reason they were made."""
    groups = comparison_groups(results)
    if not groups:
        return ""
    parts = ["## Paired comparisons", COMPARISONS_INTRO]
    for group in groups:
        headers = ([FIXED_HEADER] if group.has_fixed else []) + COMPARISON_HEADERS
        rows = [_md_comparison(line, group.has_fixed) for line in group.lines]
        parts += [f"### {md_inline(group.title)}", md_table(headers, rows, numeric_from=headers.index("n"))]
    return "\n\n".join(parts)


def _md_heatmap(view: GridView, heatmap: Heatmap) -> str:
    """A heatmap as a matrix: first axis down, second across, value and interval per cell."""
    (down, across), column = heatmap.axes, heatmap.column
    headers = [md_inline(f"{down} ↓ {across} →")] + [md_inline(c) for c in heatmap.col_levels]
    rows = [
        [md_inline(level)] + [" ".join(p for p in (c.point, c.ci) if p) for c in map(grid_cell, cells)]
        for level, cells in zip(heatmap.row_levels, heatmap.cells)
    ]
    parent = cell(heatmap.parent)
    note = (
        f"Parent {md_inline(view.parent)}: {' '.join(p for p in (parent.point, parent.ci) if p)}."
        if heatmap.parent
        else ""
    )
    return "\n\n".join(
        part
        for part in (
            f"### {md_inline(column.header)} by {md_inline(down)} and {md_inline(across)}",
            md_table(headers, rows, 1),
            note,
        )
        if part
    )


def _md_cells(view: GridView) -> str:
    """One row per cell (the parent first, for reference): its levels, then every column."""
    axes = axis_headers(view)
    headers = [md_inline(a) for a in axes] + _column_headers(view.columns)
    lead = [f"*parent: {md_inline(view.parent)}*"] + [""] * (len(axes) - 1)
    rows = [lead + [_md_cell(c) for c in parent_cells(view)]]
    rows += [
        [md_inline(level) for level in levels] + [_md_cell(c) for c in cells] for levels, cells in factor_rows(view)
    ]
    return f"### Cells of {md_inline(view.name)}\n\n" + md_table(headers, rows, len(axes))


def _md_effects(view: GridView) -> str:
    """Main effects: each column's unweighted mean over the cells at each level."""
    headers = ["Axis", "Level"] + _column_headers(view.columns)
    rows = [[md_inline(e.axis), md_inline(e.level)] + [md_inline(m) for m in e.means] for e in main_effects(view)]
    return "\n\n".join(
        [
            f"### Main effects of {md_inline(view.name)} (descriptive)",
            md_inline(EFFECTS_NOTE),
            md_table(headers, rows, 2),
        ]
    )


def _md_grid(view: GridView) -> str:
    """One grid: what it varied, matrix tables for a heatmap grid, cells, main effects."""
    parts = [f"## Grid: {md_inline(view.name)}", md_inline(describe(view))]
    parts += [_md_heatmap(view, heatmap) for heatmap in heatmaps(view)]
    parts.append(_md_cells(view))
    if view.kind == "factorial":
        parts.append(_md_effects(view))
    return "\n\n".join(parts)


def _md_grids(results: StudyResults) -> str:
    """One section per grid."""
    return "\n\n".join(_md_grid(view) for view in grid_views(results))


def _md_broken(group: BrokenList) -> str:
    """One model's broken prompts in fences; the rest counted, not listed."""
    parts = [f"#### {md_inline(group.model)}"]
    for p in group.prompts:
        parts += [
            f"{md_inline(p.benchmark)} · {md_inline(p.prompt_id)} — category "
            f"**{md_inline(p.category)}** — broken for {md_inline(', '.join(p.judges))}",
            md_fence(p.prompt),
        ]
    return "\n\n".join(parts + ([f"and {group.more} more."] if group.more else []))


def _md_flips(results: StudyResults) -> str:
    """Flip counts per model; the broken prompts under a content-warning heading."""
    lines = flip_lines(results)
    if not lines:
        return ""
    rows = [
        [
            md_inline(f.model),
            md_inline(f.parent),
            md_inline(f.benchmark),
            md_inline(f.judge),
            str(f.broken),
            str(f.fixed),
            md_inline(f.n),
        ]
        for f in lines
    ]
    headers = ["Model", "Parent", "Benchmark", "Judge", "Broken", "Fixed", "n"]
    parts = ["## Per-prompt flips", FLIPS_NOTE, md_table(headers, rows, numeric_from=4)]
    lists = [_md_broken(group) for group in broken_lists(results)]
    return "\n\n".join(parts + ([f"### {FLIP_WARNING}"] + lists if lists else []))


def render_markdown(results: StudyResults | dict[str, Any]) -> str:
    """Render a study's results as a Markdown report.

    Args:
        results: The study's results; a dict (``report.json``'s content) is validated first.

    Returns:
        The report as Markdown text, ending in a newline.
    """
    results = StudyResults.model_validate(results)
    sections = [
        _md_header(results),
        _md_verdicts(results),
        _md_not_measured(results),
        _md_failures(results),
        _md_summary(results),
        _md_references(results),
        _md_deltas(results),
        _md_comparisons(results),
        _md_grids(results),
        _md_categories(results),
        _md_flips(results),
        _md_truncation(results),
        "## How to read this\n\n" + "\n\n".join(how_to_read(results)),
        _md_benchmarks(results),
        _md_judges(results),
        _md_examples(results),
        _md_provenance(results),
    ]
    return "\n\n".join(section for section in sections if section) + "\n"
