"""Self-contained HTML report: inline CSS and SVG, no JavaScript, no external resources.

Every figure and label comes from the format-neutral views (``_view`` and its siblings);
this module only lays out. Every piece of text that came from a model, a prompt or a study
file passes through ``esc`` before it reaches the page, because model output is untrusted:
a response may well contain markup or script.
"""

from __future__ import annotations

from typing import Any

from alignscope.results import Example, MetricRow, StudyResults

from ._html_kit import (
    FONT,
    PALETTE,
    column_thead,
    delta_td,
    esc,
    label_html,
    metric_td,
    scroll,
    table,
)
from ._html_study import comparisons_section, flips_section, grids_section, references_section
from ._view import (
    CHART_GROUPS_NOTE,
    CONTENT_WARNING,
    DASH,
    FAILURE_NOTE,
    NOT_MEASURED_NOTE,
    TRUNCATION_NOTE,
    VERDICT_NOTE,
    CategoryView,
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
    fmt_value,
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

# Chart geometry in SVG user units; the SVG scales to the page width via viewBox.
LABEL_W, PLOT_W, RIGHT_W = 190, 560, 80
TOP, BAR_H, BAR_GAP, GROUP_GAP, LEGEND_ROW = 28, 14, 3, 12, 18

CSS = (
    """
:root { color-scheme: light; }
body { font-family: %s; color: #1a1a1a; background: #fff; line-height: 1.5;
       max-width: 1100px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
.meta { color: #555; margin-top: 0; }
.description { white-space: pre-line; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .3rem .55rem; vertical-align: top; text-align: left; }
th { background: #f5f5f5; font-weight: 600; }
th.group { text-align: center; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci, .n { color: #555; }
.n { font-size: .8rem; }
.failed { color: #a3320b; font-weight: 600; }
.delta { font-variant-numeric: tabular-nums; font-weight: 600; }
.note { background: #f8f8f4; border-left: 3px solid #bbb; padding: .5rem .9rem; }
.callout { background: #fff4e0; border: 1px solid #e6a23c; border-left: 5px solid #d55e00;
           padding: .6rem .9rem; margin: 1rem 0; }
.settings { margin: 0; padding-left: 1.1rem; }
svg { width: 100%%; height: auto; font-variant-numeric: tabular-nums; }
details { border: 1px solid #d9a; border-radius: 4px; padding: .5rem .9rem; margin: 1rem 0; }
summary { cursor: pointer; font-weight: 600; color: #823; }
.example { border-top: 1px solid #eee; padding-top: .5rem; margin-top: .75rem; }
pre { white-space: pre-wrap; word-wrap: break-word; background: #f6f6f6;
      padding: .5rem .75rem; border-radius: 3px; font-size: .85rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
.p { color: #555; }
.test { font-size: .82rem; color: #555; }
.p.sig { color: #1a1a1a; font-weight: 700; }
sup abbr { text-decoration: none; cursor: help; color: #0b5394; }
.sources { font-size: .85rem; color: #444; }
tr.ref td { background: #fafafa; font-style: italic; }
.figs { display: flex; flex-wrap: wrap; gap: .5rem 2rem; align-items: flex-start; }
.figs figure { margin: .5rem 0 1rem; min-width: 260px; }
details.fold { border-color: #ccc; }
details.fold > summary { color: #1a1a1a; }
ol.flips { padding-left: 1.4rem; }
ol.flips .meta { margin: .4rem 0 .2rem; }
"""
    % FONT
)


# ------------------------------------------------------------------------------ tables


def _kv_table(headers: list[str], pairs: list[tuple[str, str]], numeric: bool = False) -> str:
    """Two-column key/value table; ``numeric`` right-aligns the values."""
    td = '<td class="num">' if numeric else "<td>"
    rows = [f"<tr><td><code>{esc(k)}</code></td>{td}{esc(v)}</td></tr>" for k, v in pairs]
    return table([esc(h) for h in headers], rows, numeric_from=1 if numeric else 2)


# ---------------------------------------------------------------------------- sections


def _header(results: StudyResults) -> str:
    """Title, creation time and description."""
    parts = [
        f"<h1>alignscope report — {esc(results.study)}</h1>",
        f'<p class="meta">Created {esc(results.created or DASH)}</p>',
    ]
    if results.description:
        parts.append(f'<p class="description">{esc(results.description)}</p>')
    return "\n".join(parts)


def _verdicts(results: StudyResults) -> str:
    """The headline: one verdict per fine-tune and harmful benchmark; "" when there is none."""
    lines = verdict_lines(results)
    if not lines:
        return ""
    items = "".join(
        f'<li class="{"failed" if v.gate_failed else ""}"><strong>{esc(v.verdict)}</strong> — {esc(v.text)}</li>'
        for v in lines
    )
    return f'<h2 id="verdict">Verdict</h2>\n<ul class="verdicts">{items}</ul>\n<p class="meta">{esc(VERDICT_NOTE)}</p>'


def _not_measured(results: StudyResults) -> str:
    """A callout listing the skipped benchmarks and judges with their reasons, or ""."""
    items = not_measured_items(results)
    if not items:
        return ""
    listed = "".join(f"<li>{esc(item)}</li>" for item in items)
    return (
        f'<div class="callout" role="note" id="not-measured"><strong>Not measured.</strong> '
        f"{esc(NOT_MEASURED_NOTE)}<ul>{listed}</ul></div>"
    )


def _failures(results: StudyResults) -> str:
    """A callout counting failed verdicts per judge, or "" when none failed."""
    items = failure_items(results)
    if not items:
        return ""
    return (
        f'<div class="callout" role="note"><strong>Judge failures.</strong> '
        f"{esc('; '.join(items))}. {esc(FAILURE_NOTE)}</div>"
    )


def _summary(results: StudyResults) -> str:
    """Summary table: one row per model, one column per (benchmark, judge, metric)."""
    columns, index = summary_columns(results), metric_index(results)
    rows = []
    for model in results.models:
        cells = [model_label(results, model.key), model_label(results, model.parent), model.recipe or DASH]
        tds = "".join(f"<td>{label_html(c)}</td>" for c in cells)
        tds += "".join(metric_td(cell(index.get((model.key, c.benchmark, c.judge, c.metric)))) for c in columns)
        rows.append(f"<tr>{tds}</tr>")
    body = f"<table>{column_thead(['Model', 'Parent', 'Recipe'], columns)}<tbody>{''.join(rows)}</tbody></table>"
    return f"<h2>Summary</h2>\n{scroll(body)}"


def _deltas(results: StudyResults) -> str:
    """Change of every summary column against each model's parent."""
    lines = delta_rows(results)
    if not lines:
        return "<h2>Change versus parent</h2>\n<p>No model in this study has a parent.</p>"
    rows = [
        f"<tr><td>{label_html(model)}</td><td>{label_html(parent)}</td>"
        + "".join(delta_td(d) for d in deltas)
        + "</tr>"
        for model, parent, deltas in lines
    ]
    body = f"<table>{column_thead(['Model', 'Parent'], summary_columns(results))}<tbody>{''.join(rows)}</tbody></table>"
    return f"<h2>Change versus parent</h2>\n{scroll(body)}"


def _how_to_read(results: StudyResults) -> str:
    """The interpretation notes for the metrics in this report."""
    paragraphs = "".join(f"<p>{esc(text)}</p>" for text in how_to_read(results))
    return f'<h2>How to read this</h2>\n<div class="note">{paragraphs}</div>'


def _truncation(results: StudyResults) -> str:
    """Share of responses cut at the token limit, per model and benchmark; "" when not recorded."""
    view = truncation_view(results)
    if view is None:
        return ""
    rows = [f"<tr><td>{esc(label)}</td>" + "".join(metric_td(c) for c in cells) + "</tr>" for label, cells in view.rows]
    return f'<h2 id="truncation">Cut at the token limit</h2>\n<p class="meta">{esc(TRUNCATION_NOTE)}</p>\n' + table(
        ["Model", *view.benchmarks], rows, numeric_from=1
    )


def _benchmarks(results: StudyResults) -> str:
    """Where each benchmark's prompts came from, with any notes on the data."""
    infos = benchmark_infos(results)
    if not infos:
        return "<h2>Benchmarks</h2>\n<p>No benchmark recorded.</p>"
    rows = [
        f"<tr><td>{esc(b.name)}</td><td>{esc(b.expected)}</td>"
        f'<td class="num">{esc(b.n)}</td><td>{esc(b.source)}</td>'
        f"<td>{esc(b.revision)}</td><td><code>{esc(b.sha256)}</code></td>"
        f"<td>{'<br>'.join(esc(note) for note in b.notes) or DASH}</td></tr>"
        for b in infos
    ]
    headers = ["Benchmark", "Expected", "n", "Source", "Revision", "sha256", "Notes"]
    return "<h2>Benchmarks</h2>\n" + table(headers, rows, numeric_from=len(headers))


def _judges(results: StudyResults) -> str:
    """Every judge: what it measures and the settings it ran with."""
    infos = judge_infos(results)
    if not infos:
        return "<h2>Judges</h2>\n<p>No judge recorded.</p>"
    rows = []
    for judge in infos:
        items = "".join(f"<li><code>{esc(k)}</code>: {esc(v)}</li>" for k, v in judge.settings)
        settings = f'<ul class="settings">{items}</ul>' if items else DASH
        rows.append(
            f"<tr><td><strong>{esc(judge.name)}</strong></td><td>{esc(judge.kind)}</td><td>{settings}</td></tr>"
        )
    return "<h2>Judges</h2>\n" + table(["Judge", "Measures", "Settings"], rows, numeric_from=3)


# ------------------------------------------------------------------------------- chart


def _x(fraction: float) -> float:
    """Map a fraction in [0, 1] to an x coordinate in the plot area."""
    return LABEL_W + PLOT_W * min(max(fraction, 0.0), 1.0)


def _axis(height: float) -> list[str]:
    """Vertical grid lines and percentage labels at 0, 25, ..., 100%."""
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick / 100)
        parts.append(
            f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height:.1f}" '
            f'stroke="{"#888" if tick == 0 else "#e2e2e2"}" stroke-width="1"/>'
        )
        parts.append(f'<text x="{x:.1f}" y="{TOP - 10}" text-anchor="middle" fill="#555">{tick}%</text>')
    return parts


def _error_bar(row: MetricRow, y: float) -> list[str]:
    """A horizontal whisker from ci_low to ci_high with end caps, or nothing."""
    low, high = row.ci_low, row.ci_high
    if low is None or high is None:
        return []
    x1, x2, cap = _x(low), _x(high), BAR_H / 2 - 2
    line = 'stroke="#222" stroke-width="1"'
    return [
        f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" {line}/>',
        f'<line x1="{x1:.1f}" y1="{y - cap:.1f}" x2="{x1:.1f}" y2="{y + cap:.1f}" {line}/>',
        f'<line x1="{x2:.1f}" y1="{y - cap:.1f}" x2="{x2:.1f}" y2="{y + cap:.1f}" {line}/>',
    ]


def _bar(row: MetricRow | None, y: float, colour: str, tooltip: str) -> list[str]:
    """One model's bar in one category, with error bar and a percentage label."""
    if row is None or row.value is None:
        # No data: leave the slot empty but say so, rather than draw a 0% bar.
        return [f'<text x="{LABEL_W + 4}" y="{y + BAR_H - 3:.1f}" fill="#888">{DASH}</text>']
    value, mid = row.value, y + BAR_H / 2
    width = _x(value) - LABEL_W
    label_x = max(_x(value), _x(row.ci_high or 0.0)) + 4
    view, point = cell(row), fmt_value(value, mean=False)
    text = esc(f"{tooltip}: {point} {view.ci} ({view.counts})")
    return [
        f'<rect class="bar" x="{LABEL_W}" y="{y:.1f}" width="{width:.1f}" '
        f'height="{BAR_H}" fill="{colour}"><title>{text}</title></rect>',
        *_error_bar(row, mid),
        f'<text x="{label_x:.1f}" y="{y + BAR_H - 3:.1f}" fill="#222">{point}</text>',
    ]


def _group(results: StudyResults, view: CategoryView, keys: list[str], category: str, y: float) -> list[str]:
    """One category: its label and one bar per model of ``keys``."""
    height = len(keys) * (BAR_H + BAR_GAP)
    parts = [
        f'<text x="{LABEL_W - 8}" y="{y + height / 2 + 4:.1f}" text-anchor="end">'
        f"{esc(_truncate(str(category), 30))}</text>"
    ]
    for i, key in enumerate(keys):
        tip = f"{category} · {model_label(results, key)}"
        parts += _bar(view.rows.get((key, category)), y + i * (BAR_H + BAR_GAP), PALETTE[i % len(PALETTE)], tip)
    return parts


def _truncate(text: str, limit: int) -> str:
    """Shorten long category names so they do not run into the bars."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend(results: StudyResults, keys: list[str], y: float) -> list[str]:
    """One swatch and label per model, one per line, below the plot."""
    parts = []
    for i, key in enumerate(keys):
        row_y = y + i * LEGEND_ROW
        parts.append(
            f'<rect class="swatch" x="{LABEL_W}" y="{row_y:.1f}" width="12" '
            f'height="12" fill="{PALETTE[i % len(PALETTE)]}"/>'
        )
        parts.append(f'<text x="{LABEL_W + 18}" y="{row_y + 10.5:.1f}">{esc(model_label(results, key))}</text>')
    return parts


def render_svg(results: StudyResults, view: CategoryView, keys: list[str] | None = None) -> str:
    """Grouped horizontal bar chart of one benchmark's per-category ASR.

    Args:
        results: The study's results.
        view: The benchmark's per-category rows.
        keys: The models to draw, in order; all of ``models`` when None. Keep it to
            ``MAX_CHART_MODELS`` (see ``chart_groups``) so colours stay distinct.
    """
    keys = [m.key for m in results.models] if keys is None else keys
    group_h = len(keys) * (BAR_H + BAR_GAP) + GROUP_GAP
    plot_bottom = TOP + len(view.categories) * group_h
    parts: list[str] = []
    for i, category in enumerate(view.categories):
        parts += _group(results, view, keys, category, TOP + i * group_h)
    height = plot_bottom + 8 + len(keys) * LEGEND_ROW
    width = LABEL_W + PLOT_W + RIGHT_W
    label = f"Per-category ASR on {view.benchmark} ({view.judge or 'judge'} judge)"
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
        f'role="img" aria-label="{esc(label)}" '
        f'font-family="{esc(FONT)}" font-size="12">'
        + "".join(_axis(plot_bottom - GROUP_GAP / 2) + parts + _legend(results, keys, plot_bottom + 8))
        + "</svg>"
    )


def _figure(results: StudyResults, view: CategoryView, group: ModelGroup) -> str:
    """One benchmark's chart for one group of models, with its heading and caption."""
    judge = view.judge or "judge"
    caption = (
        f"Bars: ASR per category on {view.benchmark} ({judge} judge); whiskers: 95% "
        f"Wilson interval; {DASH}: not evaluated or no scored responses."
    )
    title = f"{view.benchmark} ({judge} judge)" + (f" — {group.title}" if group.title else "")
    return (
        f"<h3>{esc(title)}</h3>\n<figure>{render_svg(results, view, group.keys)}"
        f'<figcaption class="meta">{esc(caption)}</figcaption></figure>'
    )


def _chart(results: StudyResults) -> str:
    """Per benchmark with per-category ASR, one figure per group of models (``chart_groups``)."""
    views, groups = category_views(results), chart_groups(results)
    if not views:
        return "<h2>Per-category ASR</h2>\n<p>No per-category results.</p>"
    figures = [_figure(results, view, group) for view in views for group in groups if group_has_rows(view, group)]
    intro = f"<p>{esc(CHART_GROUPS_NOTE)}</p>\n" if len(groups) > 1 else ""
    return "<h2>Per-category ASR</h2>\n" + intro + "\n".join(figures)


# ---------------------------------------------------------------------------- examples


def _labels(results: StudyResults, example: Example) -> str:
    """Every judge's label for one example; failed verdicts stand out."""
    items = []
    for judge, label in example_labels(results, example):
        style = ' class="failed"' if label == "error" else ""
        items.append(f"{esc(judge)}: <strong{style}>{esc(label)}</strong>")
    return " · ".join(items) or DASH


def _example(results: StudyResults, example: Example) -> str:
    """One example: metadata, labels, prompt and response, every field escaped."""
    meta = f"{esc(example.benchmark)} · {esc(example.prompt_id)}"
    return (
        f'<div class="example"><p>{meta} — category <strong>'
        f"{esc(example.category)}</strong></p>"
        f'<p class="labels">Labels — {_labels(results, example)}</p>'
        f'<p>Prompt:</p><pre class="prompt">{esc(example.prompt)}</pre>'
        f'<p>Response:</p><pre class="response">{esc(example.response)}</pre>'
        "</div>"
    )


def _examples(results: StudyResults) -> str:
    """Examples grouped by model, collapsed behind a content warning."""
    groups = examples_by_model(results)
    if not groups:
        return "<h2>Example responses</h2>\n<p>No example responses recorded.</p>"
    body = [
        f"<h3>{esc(model_label(results, key))}</h3>" + "".join(_example(results, example) for example in examples)
        for key, examples in groups.items()
    ]
    return (
        "<h2>Example responses</h2>\n<details><summary>"
        f"{esc(CONTENT_WARNING)} (click to show)</summary>{''.join(body)}</details>"
    )


# -------------------------------------------------------------------------- provenance


def _provenance(results: StudyResults) -> str:
    """Provenance (flattened to dotted keys) and per-stage timings."""
    timings = [(k, fmt_seconds(v)) for k, v in results.timings.items()]
    return (
        "<h2>Provenance</h2>\n"
        + _kv_table(["Key", "Value"], provenance_items(results))
        + "\n<h3>Timings</h3>\n"
        + _kv_table(["Stage", "Time"], timings, numeric=True)
    )


def render_html(results: StudyResults | dict[str, Any]) -> str:
    """Render a study's results as a single self-contained HTML5 page.

    Args:
        results: The study's results; a dict (``report.json``'s content) is validated first.

    Returns:
        The page as text: inline CSS and SVG only, no scripts, nothing fetched.
    """
    results = StudyResults.model_validate(results)
    title = esc(f"alignscope report — {results.study}")
    # Study-design sections (references ... flips) render "" when their field is absent.
    sections = [
        _header(results),
        _verdicts(results),
        _not_measured(results),
        _failures(results),
        _summary(results),
        references_section(results),
        _deltas(results),
        comparisons_section(results),
        grids_section(results),
        _chart(results),
        flips_section(results),
        _truncation(results),
        _how_to_read(results),
        _benchmarks(results),
        _judges(results),
        _examples(results),
        _provenance(results),
    ]
    body = "\n".join(section for section in sections if section)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
        f"{body}\n</main>\n</body>\n</html>\n"
    )
