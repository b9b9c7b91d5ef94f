"""HTML sections for multi-model study designs: paper references, paired comparisons, grids
and per-prompt flips.

Each section returns "" when its results field is absent or empty, so results without
these fields render exactly as they did before the fields existed. Numbers and wording
come from the format-neutral views (``_references``, ``_paired``, ``_grids``).
"""

from __future__ import annotations

from alignscope.results import MetricRow, StudyResults

from ._grids import (
    EFFECTS_NOTE,
    GridView,
    Heatmap,
    Series,
    axis_headers,
    describe,
    factor_rows,
    grid_views,
    heatmaps,
    main_effects,
    parent_cells,
    series,
)
from ._html_kit import column_thead, esc, label_html, metric_td, p_span, scroll, table
from ._paired import (
    COMPARISON_HEADERS,
    FIXED_HEADER,
    FLIP_WARNING,
    FLIPS_NOTE,
    BrokenList,
    ComparisonGroup,
    ComparisonLine,
    broken_lists,
    comparison_groups,
    flip_lines,
)
from ._references import (
    REFERENCE_NOTE,
    ReferenceLine,
    ReferenceTable,
    measured_on,
    reference_view,
)
from ._svg import fmt_tick, heatmap_svg, heatmap_width, scale_domain, series_svg, series_width
from ._view import COMPARISONS_INTRO, cell

# A comparison group longer than this is folded away, so grids' many factor contrasts do not
# bury the rest of the report; the summary line says how many rows it holds.
FOLD_ROWS = 30


# ---------------------------------------------------------------------------- references


def _reference_tr(line: ReferenceLine, source: str) -> str:
    """One referenced model (recipe beneath), the paper's figure with its footnote (metric
    beneath), then the measured cells."""
    note = f'<sup><abbr title="{esc(source)}">{line.note}</abbr></sup>'
    return (
        f'<tr><td>{label_html(line.model)}<br><span class="n">{esc(line.recipe)}</span></td>'
        f'<td class="num">{esc(line.paper)}{note}<br><span class="n">{esc(line.metric)}'
        "</span></td>" + "".join(metric_td(c) for c in line.cells) + "</tr>"
    )


def _reference_table(ref: ReferenceTable, sources: list[str]) -> str:
    """One benchmark's references: the paper's figures beside this study's."""
    rows = "".join(_reference_tr(line, sources[line.note - 1]) for line in ref.lines)
    head = column_thead(["Model (recipe)", "Paper"], ref.columns)
    return f'<p class="meta">{esc(measured_on(ref))}</p>' + scroll(f"<table>{head}<tbody>{rows}</tbody></table>")


def references_section(results: StudyResults) -> str:
    """The paper's numbers next to the measured ones, with numbered sources; "" without any."""
    view = reference_view(results)
    if view is None:
        return ""
    notes = "".join(f"<li>{esc(source)}</li>" for source in view.sources)
    return (
        "<h2>Comparison with the paper</h2>\n"
        f'<p class="note">{esc(REFERENCE_NOTE)}</p>'
        + "".join(_reference_table(t, view.sources) for t in view.tables)
        + f'<ol class="sources">{notes}</ol>'
    )


# --------------------------------------------------------------------------- comparisons


def _comparison_tr(line: ComparisonLine, fixed: bool) -> str:
    """One comparison; the difference always with its interval, p in bold below 0.05 and
    the test beneath it."""
    diff = f'<span class="delta">{esc(line.diff)}</span>'
    if line.ci:
        diff += f' <span class="ci">{esc(line.ci)}</span>'
    names = ([line.fixed] if fixed else []) + [line.a, line.b]
    measure = f'{esc(line.metric)} ({esc(line.judge)})<br><span class="n">{esc(line.benchmark)}</span>'
    p = f'{p_span(line.p, line.significant)}<br><span class="n">{esc(line.test)}</span>'
    return (
        "<tr>"
        + "".join(f"<td>{label_html(t)}</td>" for t in names)
        + f'<td>{measure}</td><td class="num">{esc(line.n)}</td>'
        f'<td class="num">{esc(line.values)}</td><td class="num">{diff}</td>'
        f'<td class="num">{p}</td><td class="num">{esc(line.discordant)}</td></tr>'
    )


def _comparison_group(group: ComparisonGroup) -> str:
    """One reason's comparisons as a table (factor contrasts lead with the shared settings),
    folded when long. Benchmark, judge and metric share a cell, the test sits under p."""
    headers = ([FIXED_HEADER] if group.has_fixed else []) + ["A", "B", "Metric (judge)"]
    headers += COMPARISON_HEADERS[COMPARISON_HEADERS.index("n") :]
    rows = [_comparison_tr(line, group.has_fixed) for line in group.lines]
    body = scroll(table([esc(h) for h in headers], rows, numeric_from=headers.index("n")))
    if len(group.lines) > FOLD_ROWS:
        body = (
            f'<details class="fold"><summary>{len(group.lines)} comparisons (click to show)</summary>{body}</details>'
        )
    return f"<h3>{esc(group.title)}</h3>\n{body}"


def comparisons_section(results: StudyResults) -> str:
    """Paired comparisons grouped by why they were made; "" without any."""
    groups = comparison_groups(results)
    if not groups:
        return ""
    return f'<h2>Paired comparisons</h2>\n<p class="meta">{esc(COMPARISONS_INTRO)}</p>\n' + "\n".join(
        _comparison_group(group) for group in groups
    )


# --------------------------------------------------------------------------------- grids


def _parent_text(view: GridView, row: MetricRow | None) -> str:
    """`` Parent aligned: 4.5% [0.0–11.5].`` for a caption; "" when the parent has no row."""
    if row is None:
        return ""
    shown = cell(row)
    return f" Parent {view.parent}: {' '.join(p for p in (shown.point, shown.ci) if p)}."


def _figure(svg: str, width: float, caption: str) -> str:
    """A figure at its natural width, shrinking on narrow pages, captioned below."""
    return f'<figure style="flex: 0 1 {width:.0f}px">{svg}<figcaption class="meta">{esc(caption)}</figcaption></figure>'


def _heatmap_figure(view: GridView, heatmap: Heatmap) -> str:
    """A heatmap, captioned with its colour scale and the parent's value."""
    metric = heatmap.column.metric
    low, high = scale_domain(metric, [r for row in heatmap.cells for r in row])
    caption = (
        f"Colour from {fmt_tick(low, metric)} (light) to "
        f"{fmt_tick(high, metric)} (dark); brackets: 95% interval; grey: no data." + _parent_text(view, heatmap.parent)
    )
    return _figure(heatmap_svg(heatmap), heatmap_width(heatmap), caption)


def _series_figure(view: GridView, chart: Series) -> str:
    """A point chart, captioned with its whiskers and the dashed parent line."""
    caption = "Whiskers: 95% interval; dashed line: the parent." + _parent_text(view, chart.parent)
    return _figure(series_svg(chart), series_width(chart), caption)


def _grid_figures(view: GridView) -> str:
    """The grid's figures side by side where the page has room; "" for a factorial grid."""
    figures = [_heatmap_figure(view, h) for h in heatmaps(view)]
    figures += [_series_figure(view, s) for s in series(view)]
    return f'<div class="figs">{"".join(figures)}</div>' if figures else ""


def _cells_table(view: GridView) -> str:
    """One row per cell (the parent first, for reference): its levels, then every column."""
    lead = axis_headers(view)
    parent = (
        f'<tr class="ref"><td colspan="{len(lead)}">parent: {esc(view.parent)}</td>'
        + "".join(metric_td(c) for c in parent_cells(view))
        + "</tr>"
    )
    rows = [
        "<tr>" + "".join(f"<td>{esc(level)}</td>" for level in levels) + "".join(metric_td(c) for c in cells) + "</tr>"
        for levels, cells in factor_rows(view)
    ]
    head = column_thead(lead, view.columns)
    return scroll(f'<table class="cells">{head}<tbody>{parent}{"".join(rows)}</tbody></table>')


def _effects_table(view: GridView) -> str:
    """Main effects: each column's unweighted mean over the cells at each level."""
    rows = [
        f"<tr><td>{esc(e.axis)}</td><td>{esc(e.level)}</td>"
        + "".join(f'<td class="num">{esc(m)}</td>' for m in e.means)
        + "</tr>"
        for e in main_effects(view)
    ]
    head = column_thead(["Axis", "Level"], view.columns)
    return f'<h3>Main effects of {esc(view.name)} (descriptive)</h3>\n<p class="meta">{esc(EFFECTS_NOTE)}</p>' + scroll(
        f'<table class="effects">{head}<tbody>{"".join(rows)}</tbody></table>'
    )


def _grid(view: GridView) -> str:
    """One grid: what it varied, its figures, the cell table and (factorial) main effects."""
    parts = [
        f"<h2>Grid: {esc(view.name)}</h2>",
        f"<p>{esc(describe(view))}</p>",
        _grid_figures(view),
        f"<h3>Cells of {esc(view.name)}</h3>",
        _cells_table(view),
    ]
    if view.kind == "factorial":
        parts.append(_effects_table(view))
    return "\n".join(part for part in parts if part)


def grids_section(results: StudyResults) -> str:
    """One section per grid; "" without grids."""
    return "\n".join(_grid(view) for view in grid_views(results))


# --------------------------------------------------------------------------------- flips


def _broken_list(group: BrokenList) -> str:
    """One model's broken prompts, every field escaped; the rest counted, not listed."""
    items = "".join(
        f'<li><p class="meta">{esc(p.benchmark)} · {esc(p.prompt_id)} — category '
        f"<strong>{esc(p.category)}</strong> — broken for {esc(', '.join(p.judges))}</p>"
        f'<pre class="prompt">{esc(p.prompt)}</pre></li>'
        for p in group.prompts
    )
    more = f"<p>and {group.more} more.</p>" if group.more else ""
    return f'<h3>{esc(group.model)}</h3><ol class="flips">{items}</ol>{more}'


def flips_section(results: StudyResults) -> str:
    """Flip counts per model, and the broken prompts behind a content warning; "" without."""
    lines = flip_lines(results)
    if not lines:
        return ""
    rows = [
        f"<tr><td>{label_html(f.model)}</td><td>{label_html(f.parent)}</td>"
        f"<td>{esc(f.benchmark)}</td>"
        f'<td>{esc(f.judge)}</td><td class="num">{f.broken}</td>'
        f'<td class="num">{f.fixed}</td><td class="num">{esc(f.n)}</td></tr>'
        for f in lines
    ]
    headers = ["Model", "Parent", "Benchmark", "Judge", "Broken", "Fixed", "n"]
    lists = "".join(_broken_list(group) for group in broken_lists(results))
    hidden = f"<details><summary>{esc(FLIP_WARNING)} (click to show)</summary>{lists}</details>" if lists else ""
    return (
        f'<h2>Per-prompt flips</h2>\n<p class="meta">{esc(FLIPS_NOTE)}</p>' + scroll(table(headers, rows, 4)) + hidden
    )
