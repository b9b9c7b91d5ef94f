"""Inline SVG figures of grids: a heatmap for two numeric axes, a point chart for one.

Numbers and labels come from ``_grids`` views; this module only draws. Each figure is a
standalone ``<svg>`` that no stylesheet or script has to complete: colours, fonts and text
are set on the elements themselves, and no ids are defined, so several figures can share
one page.
"""

from __future__ import annotations

from typing import Any

from ._grids import Heatmap, Series, grid_cell
from ._html_kit import FONT, PALETTE, esc
from ._view import Estimate, cell, metric_info

# ColorBrewer YlOrRd (sequential, colour-blind safe, prints in grey): light = low, dark = high.
HEAT_STOPS = ("#ffffcc", "#ffeda0", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026")
MISSING_FILL = "#f0f0f0"
LEGEND_STEPS = 10

# Heatmap geometry (SVG user units).
HM_LABEL_W, HM_TOP, CELL_W, CELL_H = 124, 50, 124, 54
# Point-chart geometry.
PC_LEFT, PC_RIGHT, PC_TOP, PC_PLOT_H, PC_BOTTOM, PC_SLOT = 58, 96, 36, 170, 46, 110


def _rgb(hex_colour: str) -> tuple[int, int, int]:
    return tuple(int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def heat_colour(fraction: float) -> str:
    """The colour of ``fraction`` (0 = scale low, 1 = scale high), interpolated in RGB."""
    position = min(max(fraction, 0.0), 1.0) * (len(HEAT_STOPS) - 1)
    i = min(int(position), len(HEAT_STOPS) - 2)
    low, high, t = _rgb(HEAT_STOPS[i]), _rgb(HEAT_STOPS[i + 1]), position - i
    return "#" + "".join(f"{round(a + (b - a) * t):02x}" for a, b in zip(low, high))


def text_colour(fill: str) -> str:
    """Dark text on light fills, white on dark ones (relative luminance below 0.4)."""
    r, g, b = (c / 255 for c in _rgb(fill))
    return "#ffffff" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.4 else "#1a1a1a"


def scale_domain(metric: str, rows: list[Estimate | None]) -> tuple[float, float]:
    """The metric's own scale (0–100% for rates, 1–5 for harmfulness scores), else the data's."""
    scale = metric_info(metric).scale
    if scale is not None:
        return scale
    values = [r.value for r in rows if r is not None and r.value is not None]
    low, high = (min(values), max(values)) if values else (0.0, 1.0)
    return (low, high) if high > low else (low - 0.5, high + 0.5)


def fraction_of(value: float, domain: tuple[float, float]) -> float:
    """Where ``value`` lies between the domain's ends, 0 to 1."""
    low, high = domain
    return (value - low) / (high - low)


def fmt_tick(value: float, metric: str) -> str:
    """An axis tick: ``25%`` for rates, ``2.5`` for means."""
    if metric_info(metric).mean:
        return f"{value:g}"
    return f"{100 * value:g}%"


def _svg(width: float, height: float, label: str, body: list[str]) -> str:
    """Wrap figure elements; the figure never grows past its natural width."""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="fig" viewBox="0 0 {width:.0f} '
        f'{height:.0f}" style="max-width:{width:.0f}px" role="img" '
        f'aria-label="{esc(label)}" font-family="{esc(FONT)}" font-size="13">' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "middle", **attrs: Any) -> str:
    """An escaped ``<text>``; ``font_size="12"`` becomes the attribute ``font-size="12"``."""
    extra = "".join(f' {k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{extra}>{esc(text)}</text>'


# -------------------------------------------------------------------------------- heatmap


def _heat_cell(heatmap: Heatmap, i: int, j: int, domain: tuple[float, float]) -> list[str]:
    """One cell: a coloured square with the value and its interval, or a grey dash."""
    row, x, y = heatmap.cells[i][j], HM_LABEL_W + j * CELL_W, HM_TOP + i * CELL_H
    view = grid_cell(row)
    value = row.value if row is not None else None
    fill = heat_colour(fraction_of(value, domain)) if value is not None else MISSING_FILL
    ink, cx, cy = text_colour(fill), x + CELL_W / 2, y + CELL_H / 2
    tip = (
        f"{heatmap.axes[0]}={heatmap.row_levels[i]}, {heatmap.axes[1]}="
        f"{heatmap.col_levels[j]}: {view.point} {view.ci} ({view.counts or 'no data'})"
    )
    parts = [
        f'<rect class="cell" x="{x + 1:.1f}" y="{y + 1:.1f}" width="{CELL_W - 2}" '
        f'height="{CELL_H - 2}" fill="{fill}"><title>{esc(tip)}</title></rect>',
        _text(cx, cy + (0 if view.ci else 5), view.point, fill=ink, font_size="15", font_weight="600"),
    ]
    if view.ci:
        parts.append(_text(cx, cy + 17, view.ci, fill=ink, font_size="12"))
    return parts


def _title(text: str) -> str:
    """A figure's title, top left, so the figure still says what it shows when copied out."""
    return _text(4, 17, text, anchor="start", fill="#1a1a1a", font_weight="600")


def _heat_labels(heatmap: Heatmap) -> list[str]:
    """Column levels across the top, row levels down the left, each with its axis name."""
    parts = [
        _text(HM_LABEL_W + (j + 0.5) * CELL_W, HM_TOP - 9, _short(f"{heatmap.axes[1]} = {level}", 17))
        for j, level in enumerate(heatmap.col_levels)
    ]
    parts += [
        _text(HM_LABEL_W - 8, HM_TOP + (i + 0.5) * CELL_H + 4, _short(f"{heatmap.axes[0]} = {level}", 16), anchor="end")
        for i, level in enumerate(heatmap.row_levels)
    ]
    return parts


def _heat_legend(metric: str, domain: tuple[float, float], y: float, width: float) -> list[str]:
    """A stepped colour bar from the scale's low end to its high end, with three ticks."""
    step = width / LEGEND_STEPS
    parts = [_text(HM_LABEL_W - 8, y + 9, _short(metric_info(metric).label, 16), anchor="end", fill="#555")]
    for k in range(LEGEND_STEPS):
        parts.append(
            f'<rect class="legend-step" x="{HM_LABEL_W + k * step:.1f}" y="{y:.1f}" '
            f'width="{step + 0.5:.1f}" height="10" '
            f'fill="{heat_colour((k + 0.5) / LEGEND_STEPS)}"/>'
        )
    low, high = domain
    for k, value in enumerate((low, (low + high) / 2, high)):
        parts.append(
            _text(
                HM_LABEL_W + k * width / 2,
                y + 25,
                fmt_tick(value, metric),
                anchor=("start", "middle", "end")[k],
                fill="#555",
                font_size="12",
            )
        )
    return parts


def heatmap_width(heatmap: Heatmap) -> float:
    """The heatmap's natural width in pixels."""
    return HM_LABEL_W + len(heatmap.col_levels) * CELL_W + 12


def heatmap_svg(heatmap: Heatmap) -> str:
    """A heatmap of one grid column: colour by value on the metric's scale, text value [CI]."""
    n_rows, n_cols = len(heatmap.row_levels), len(heatmap.col_levels)
    domain = scale_domain(heatmap.column.metric, [r for row in heatmap.cells for r in row])
    column = heatmap.column
    parts = [_title(f"{column.label} on {column.benchmark}")] + _heat_labels(heatmap)
    for i in range(n_rows):
        for j in range(n_cols):
            parts += _heat_cell(heatmap, i, j, domain)
    legend_y = HM_TOP + n_rows * CELL_H + 12
    parts += _heat_legend(heatmap.column.metric, domain, legend_y, min(n_cols * CELL_W, 336))
    label = f"Heatmap of {heatmap.column.header} over {heatmap.axes[0]} and {heatmap.axes[1]}"
    return _svg(heatmap_width(heatmap), legend_y + 34, label, parts)


def _short(text: str, limit: int) -> str:
    """Shorten a label so it stays inside its slot."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---------------------------------------------------------------------------- point chart


def _y(value: float, domain: tuple[float, float]) -> float:
    """Map a value to a y coordinate in the plot area (high values up), clamped."""
    return PC_TOP + PC_PLOT_H * (1 - min(max(fraction_of(value, domain), 0.0), 1.0))


def _y_axis(metric: str, domain: tuple[float, float], right: float) -> list[str]:
    """Horizontal grid lines with tick labels at five even steps of the scale."""
    low, high = domain
    parts = []
    for k in range(5):
        value = low + (high - low) * k / 4
        y = _y(value, domain)
        parts.append(
            f'<line x1="{PC_LEFT}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
            f'stroke="{"#888" if k == 0 else "#e2e2e2"}" stroke-width="1"/>'
        )
        parts.append(_text(PC_LEFT - 6, y + 4, fmt_tick(value, metric), anchor="end", fill="#555"))
    return parts


def _whisker(x: float, row: Estimate, domain: tuple[float, float]) -> list[str]:
    """A vertical 95% interval with end caps, or nothing without one."""
    low, high = row.ci_low, row.ci_high
    if low is None or high is None:
        return []
    y1, y2, line = _y(low, domain), _y(high, domain), 'stroke="#222" stroke-width="1"'
    return [
        f'<line class="errbar" x1="{x:.1f}" y1="{y1:.1f}" x2="{x:.1f}" y2="{y2:.1f}" {line}/>',
        f'<line x1="{x - 4:.1f}" y1="{y1:.1f}" x2="{x + 4:.1f}" y2="{y1:.1f}" {line}/>',
        f'<line x1="{x - 4:.1f}" y1="{y2:.1f}" x2="{x + 4:.1f}" y2="{y2:.1f}" {line}/>',
    ]


def _points(chart: Series, domain: tuple[float, float]) -> list[str]:
    """The line through the levels' values, then each point with its whisker and label."""
    known = [
        (PC_LEFT + (i + 0.5) * PC_SLOT, level, row, row.value)
        for i, (level, row) in enumerate(zip(chart.levels, chart.points))
        if row is not None and row.value is not None
    ]
    path = " ".join(f"{x:.1f},{_y(value, domain):.1f}" for x, _, _, value in known)
    parts = (
        [f'<polyline class="line" points="{path}" fill="none" stroke="{PALETTE[0]}" stroke-width="1.5"/>']
        if len(known) > 1
        else []
    )
    for x, level, row, value in known:
        view, y = grid_cell(row), _y(value, domain)
        tip = f"{chart.axis}={level}: {view.point} {view.ci} ({view.counts})"
        parts += _whisker(x, row, domain)
        parts += [
            f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{PALETTE[0]}">'
            f"<title>{esc(tip)}</title></circle>",
            _text(x + 8, y + 4, view.point, anchor="start", fill="#222", font_size="12"),
        ]
    return parts


def _parent_line(chart: Series, domain: tuple[float, float], right: float) -> list[str]:
    """A dashed reference line at the parent's value, labelled at the right."""
    row = chart.parent
    if row is None or row.value is None:
        return []
    y = _y(row.value, domain)
    return [
        f'<line class="parent" x1="{PC_LEFT}" y1="{y:.1f}" x2="{right:.1f}" y2="{y:.1f}" '
        f'stroke="#666" stroke-width="1" stroke-dasharray="4 3"/>',
        _text(right + 4, y + 4, f"parent {cell(row).point}", anchor="start", fill="#555", font_size="12"),
    ]


def series_width(chart: Series) -> float:
    """The point chart's natural width in pixels."""
    return PC_LEFT + len(chart.levels) * PC_SLOT + PC_RIGHT


def series_svg(chart: Series) -> str:
    """A point chart of one grid column over its one axis, with 95% whiskers."""
    domain = scale_domain(chart.column.metric, [*chart.points, chart.parent])
    right = PC_LEFT + len(chart.levels) * PC_SLOT
    bottom = PC_TOP + PC_PLOT_H
    parts = [_title(f"{chart.column.label} on {chart.column.benchmark}")]
    parts += _y_axis(chart.column.metric, domain, right) + _parent_line(chart, domain, right)
    parts += [
        _text(PC_LEFT + (i + 0.5) * PC_SLOT, bottom + 16, _short(level, 14)) for i, level in enumerate(chart.levels)
    ]
    parts.append(_text((PC_LEFT + right) / 2, bottom + 34, chart.axis, fill="#555"))
    parts += _points(chart, domain)
    label = f"{chart.column.header} over {chart.axis}"
    return _svg(series_width(chart), bottom + PC_BOTTOM, label, parts)
