"""Self-contained HTML report: inline CSS and SVG, no JavaScript, no external resources.

Every piece of text that came from a model, a prompt or a study file passes through
``_esc`` before it reaches the page, because model output is untrusted: a response
may well contain markup or script.
"""

from __future__ import annotations

import html
from typing import Any

from ._markdown import (
    CONTENT_WARNING,
    DASH,
    HOW_TO_READ,
    Row,
    category_view,
    delta_lines,
    examples_by_model,
    flatten,
    fmt_pct,
    fmt_seconds,
    metric_index,
    metric_parts,
    model_label,
    summary_columns,
)

# Okabe–Ito palette: distinguishable under the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999",
           "#000000")

# Chart geometry in SVG user units; the SVG scales to the page width via viewBox.
LABEL_W, PLOT_W, RIGHT_W = 190, 560, 80
TOP, BAR_H, BAR_GAP, GROUP_GAP, LEGEND_ROW = 28, 14, 3, 12, 18
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"

CSS = """
:root { color-scheme: light; }
body { font-family: %s; color: #1a1a1a; background: #fff; line-height: 1.5;
       max-width: 1000px; margin: 2rem auto; padding: 0 1.25rem; }
h1 { font-size: 1.6rem; margin-bottom: .25rem; }
h2 { font-size: 1.2rem; margin-top: 2.2rem; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05rem; margin-top: 1.5rem; }
.meta { color: #555; margin-top: 0; }
.description { white-space: pre-line; }
table { border-collapse: collapse; margin: .75rem 0; font-size: .92rem; }
th, td { border: 1px solid #ccc; padding: .3rem .55rem; vertical-align: top; text-align: left; }
th { background: #f5f5f5; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.ci, .n { color: #555; }
.n { font-size: .8rem; }
.delta { font-variant-numeric: tabular-nums; font-weight: 600; }
.note { background: #f8f8f4; border-left: 3px solid #bbb; padding: .5rem .9rem; }
svg { width: 100%%; height: auto; font-variant-numeric: tabular-nums; }
details { border: 1px solid #d9a; border-radius: 4px; padding: .5rem .9rem; margin: 1rem 0; }
summary { cursor: pointer; font-weight: 600; color: #823; }
.example { border-top: 1px solid #eee; padding-top: .5rem; margin-top: .75rem; }
pre { white-space: pre-wrap; word-wrap: break-word; background: #f6f6f6;
      padding: .5rem .75rem; border-radius: 3px; font-size: .85rem; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
""" % FONT


def _esc(value: Any) -> str:
    """HTML-escape any value, quotes included so it is also safe inside attributes."""
    return html.escape(str(value), quote=True)


# ------------------------------------------------------------------------------ tables


def _metric_td(row: Row | None) -> str:
    """A right-aligned summary cell: point estimate, interval, then counts."""
    point, ci, counts = metric_parts(row)
    parts = [_esc(point)]
    if ci:
        parts.append(f' <span class="ci">{_esc(ci)}</span>')
    if counts:
        parts.append(f'<br><span class="n">{_esc(counts)}</span>')
    return f'<td class="num">{"".join(parts)}</td>'


def _table(headers: list[str], body_rows: list[str], numeric_from: int) -> str:
    """Assemble a table from escaped header texts and ready-made ``<tr>`` rows."""
    num = ' class="num"'
    ths = "".join(f"<th{num if i >= numeric_from else ''}>{h}</th>"
                  for i, h in enumerate(headers))
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"


def _kv_table(headers: list[str], pairs: list[tuple[str, str]], numeric: bool = False) -> str:
    """Two-column key/value table; ``numeric`` right-aligns the values."""
    td = '<td class="num">' if numeric else "<td>"
    rows = [f"<tr><td><code>{_esc(k)}</code></td>{td}{_esc(v)}</td></tr>" for k, v in pairs]
    return _table([_esc(h) for h in headers], rows, numeric_from=1 if numeric else 2)


# ---------------------------------------------------------------------------- sections


def _header(results: dict[str, Any]) -> str:
    """Title, creation time and description."""
    parts = [f"<h1>alignscope report — {_esc(results.get('study', 'untitled'))}</h1>",
             f'<p class="meta">Created {_esc(results.get("created", DASH))}</p>']
    if results.get("description"):
        parts.append(f'<p class="description">{_esc(results["description"])}</p>')
    return "\n".join(parts)


def _summary(results: dict[str, Any]) -> str:
    """Summary table: one row per model, one column per benchmark metric."""
    columns = summary_columns(results)
    index = metric_index(results)
    headers = ["Model", "Parent", "Recipe"] + [_esc(c[0]) for c in columns]
    rows = []
    for model in results.get("models", []):
        cells = [_esc(model_label(results, model["key"])),
                 _esc(model_label(results, model.get("parent"))),
                 _esc(model.get("recipe") or DASH)]
        tds = "".join(f"<td>{c}</td>" for c in cells)
        tds += "".join(_metric_td(index.get((model["key"], b, m))) for _, b, m in columns)
        rows.append(f"<tr>{tds}</tr>")
    return "<h2>Summary</h2>\n" + _table(headers, rows, numeric_from=3)


def _deltas(results: dict[str, Any]) -> str:
    """List of ASR changes against each model's parent."""
    items = [f"<li><strong>{_esc(model)}</strong> vs {_esc(parent)}, ASR ({_esc(bench)}): "
             f'<span class="delta">{_esc(change)}</span> ({_esc(span)})</li>'
             for model, parent, bench, change, span in delta_lines(results)]
    body = f"<ul>{''.join(items)}</ul>" if items else "<p>No model in this study has a parent.</p>"
    return "<h2>Change versus parent</h2>\n" + body


def _how_to_read() -> str:
    """The short interpretation note."""
    return f'<h2>How to read this</h2>\n<p class="note">{_esc(HOW_TO_READ)}</p>'


# ------------------------------------------------------------------------------- chart


def _x(fraction: float) -> float:
    """Map a fraction in [0, 1] to an x coordinate in the plot area."""
    return LABEL_W + PLOT_W * min(max(fraction, 0.0), 1.0)


def _axis(height: float) -> list[str]:
    """Vertical grid lines and percentage labels at 0, 25, ..., 100%."""
    parts = []
    for tick in (0, 25, 50, 75, 100):
        x = _x(tick / 100)
        parts.append(f'<line x1="{x:.1f}" y1="{TOP - 6}" x2="{x:.1f}" y2="{height:.1f}" '
                     f'stroke="{"#888" if tick == 0 else "#e2e2e2"}" stroke-width="1"/>')
        parts.append(f'<text x="{x:.1f}" y="{TOP - 10}" text-anchor="middle" '
                     f'fill="#555">{tick}%</text>')
    return parts


def _error_bar(row: Row, y: float) -> list[str]:
    """A horizontal whisker from ci_low to ci_high with end caps, or nothing."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is None or high is None:
        return []
    x1, x2, cap = _x(low), _x(high), BAR_H / 2 - 2
    line = 'stroke="#222" stroke-width="1"'
    return [f'<line x1="{x1:.1f}" y1="{y:.1f}" x2="{x2:.1f}" y2="{y:.1f}" {line}/>',
            f'<line x1="{x1:.1f}" y1="{y - cap:.1f}" x2="{x1:.1f}" y2="{y + cap:.1f}" {line}/>',
            f'<line x1="{x2:.1f}" y1="{y - cap:.1f}" x2="{x2:.1f}" y2="{y + cap:.1f}" {line}/>']


def _bar(row: Row | None, y: float, colour: str, tooltip: str) -> list[str]:
    """One model's bar in one category, with error bar and a percentage label."""
    if row is None or row.get("value") is None:
        # No data: leave the slot empty but say so, rather than draw a 0% bar.
        return [f'<text x="{LABEL_W + 4}" y="{y + BAR_H - 3:.1f}" fill="#888">{DASH}</text>']
    value, mid = row["value"], y + BAR_H / 2
    width = _x(value) - LABEL_W
    label_x = max(_x(value), _x(row.get("ci_high") or 0.0)) + 4
    _, ci, counts = metric_parts(row)
    text = _esc(f"{tooltip}: {fmt_pct(value)} {ci} ({counts})")
    return [f'<rect class="bar" x="{LABEL_W}" y="{y:.1f}" width="{width:.1f}" '
            f'height="{BAR_H}" fill="{colour}"><title>{text}</title></rect>',
            *_error_bar(row, mid),
            f'<text x="{label_x:.1f}" y="{y + BAR_H - 3:.1f}" fill="#222">{fmt_pct(value)}</text>']


def _group(results: dict[str, Any], category: str, index: dict, y: float) -> list[str]:
    """One category: its label and one bar per model, in ``models`` order."""
    keys = [m["key"] for m in results.get("models", [])]
    height = len(keys) * (BAR_H + BAR_GAP)
    parts = [f'<text x="{LABEL_W - 8}" y="{y + height / 2 + 4:.1f}" text-anchor="end">'
             f"{_esc(_truncate(str(category), 30))}</text>"]
    for i, key in enumerate(keys):
        tip = f"{category} · {model_label(results, key)}"
        parts += _bar(index.get((key, category)), y + i * (BAR_H + BAR_GAP),
                      PALETTE[i % len(PALETTE)], tip)
    return parts


def _truncate(text: str, limit: int) -> str:
    """Shorten long category names so they do not run into the bars."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _legend(results: dict[str, Any], y: float) -> list[str]:
    """One swatch and label per model, one per line, below the plot."""
    parts = []
    for i, model in enumerate(results.get("models", [])):
        row_y = y + i * LEGEND_ROW
        parts.append(f'<rect class="swatch" x="{LABEL_W}" y="{row_y:.1f}" width="12" '
                     f'height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(f'<text x="{LABEL_W + 18}" y="{row_y + 10.5:.1f}">'
                     f"{_esc(model_label(results, model['key']))}</text>")
    return parts


def render_svg(results: dict[str, Any]) -> str:
    """Grouped horizontal bar chart of per-category ASR, or "" when there is none."""
    bench, categories, index = category_view(results)
    if bench is None or not categories:
        return ""
    n_models = len(results.get("models", []))
    group_h = n_models * (BAR_H + BAR_GAP) + GROUP_GAP
    plot_bottom = TOP + len(categories) * group_h
    parts: list[str] = []
    for i, category in enumerate(categories):
        parts += _group(results, category, index, TOP + i * group_h)
    height = plot_bottom + 8 + n_models * LEGEND_ROW
    width = LABEL_W + PLOT_W + RIGHT_W
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height:.0f}" '
            f'role="img" aria-label="Per-category ASR on {_esc(bench)}" '
            f'font-family="{_esc(FONT)}" font-size="12">'
            + "".join(_axis(plot_bottom - GROUP_GAP / 2) + parts
                      + _legend(results, plot_bottom + 8)) + "</svg>")


def _chart(results: dict[str, Any]) -> str:
    """Chart section with its heading and caption."""
    bench = category_view(results)[0]
    svg = render_svg(results)
    if not svg:
        return "<h2>Per-category ASR</h2>\n<p>No per-category results.</p>"
    caption = ("Bars: ASR per category (keyword judge); whiskers: 95% Wilson interval; "
               f"{DASH}: not evaluated or no scored responses.")
    return (f"<h2>Per-category ASR ({_esc(bench)})</h2>\n<figure>{svg}"
            f"<figcaption class=\"meta\">{_esc(caption)}</figcaption></figure>")


# ---------------------------------------------------------------------------- examples


def _example(example: Row) -> str:
    """One example: metadata, prompt and response, every field escaped."""
    meta = " · ".join(_esc(example.get(k, DASH)) for k in ("benchmark", "prompt_id"))
    return (f'<div class="example"><p>{meta} — category <strong>'
            f'{_esc(example.get("category", DASH))}</strong>, label <strong>'
            f'{_esc(example.get("label", DASH))}</strong></p>'
            f'<p>Prompt:</p><pre class="prompt">{_esc(example.get("prompt", ""))}</pre>'
            f'<p>Response:</p><pre class="response">{_esc(example.get("response", ""))}</pre>'
            "</div>")


def _examples(results: dict[str, Any]) -> str:
    """Examples grouped by model, collapsed behind a content warning."""
    groups = examples_by_model(results)
    if not groups:
        return "<h2>Example responses</h2>\n<p>No example responses recorded.</p>"
    body = [f"<h3>{_esc(model_label(results, key))}</h3>"
            + "".join(_example(example) for example in examples)
            for key, examples in groups.items()]
    return ("<h2>Example responses</h2>\n<details><summary>"
            f"{_esc(CONTENT_WARNING)} (click to show)</summary>{''.join(body)}</details>")


# -------------------------------------------------------------------------- provenance


def _provenance(results: dict[str, Any]) -> str:
    """Provenance (flattened to dotted keys) and per-stage timings."""
    prov = list(flatten(results.get("provenance", {})).items())
    timings = [(str(k), fmt_seconds(v)) for k, v in results.get("timings", {}).items()]
    return ("<h2>Provenance</h2>\n" + _kv_table(["Key", "Value"], prov)
            + "\n<h3>Timings</h3>\n" + _kv_table(["Stage", "Time"], timings, numeric=True))


def render_html(results: dict[str, Any]) -> str:
    """Render a study's results as a single self-contained HTML5 page.

    Args:
        results: The results dict described in ``report/SCHEMA.md``.

    Returns:
        The page as text: inline CSS and SVG only, no scripts, nothing fetched.
    """
    title = _esc(f"alignscope report — {results.get('study', 'untitled')}")
    body = "\n".join([_header(results), _summary(results), _deltas(results), _chart(results),
                      _how_to_read(), _examples(results), _provenance(results)])
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>{title}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<main>\n"
            f"{body}\n</main>\n</body>\n</html>\n")
