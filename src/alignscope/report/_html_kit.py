"""Building blocks shared by the HTML report's sections and figures: escaping, cells, tables.

Every piece of text that came from a model, a prompt or a study file passes through
``esc`` before it reaches the page, because model output is untrusted: a response may well
contain markup or script.
"""

from __future__ import annotations

import html
from typing import Any

from ._view import Cell, Column, Delta, column_groups

# Okabe–Ito palette: distinguishable under the common forms of colour blindness.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#999999", "#000000")
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif"


def esc(value: Any) -> str:
    """HTML-escape any value, quotes included so it is also safe inside attributes."""
    return html.escape(str(value), quote=True)


def label_html(text: str) -> str:
    """A model label, escaped, that may wrap after its commas (``grid[lr=2e-05,bs=16]``)."""
    return esc(text).replace(",", ",<wbr>")


def counts(view: Cell) -> str:
    """``n=110 · <span class="failed">3 failed</span>``, escaped; ``0 failed`` stays plain."""
    if not view.failed or view.failed.startswith("0 "):
        return " · ".join(esc(p) for p in (view.n, view.failed) if p)
    return f'{esc(view.n)} · <span class="failed">{esc(view.failed)}</span>'


def metric_td(view: Cell, extra: str = "") -> str:
    """A right-aligned metric cell: point estimate, interval, then counts.

    Args:
        view: The cell's display strings.
        extra: More classes for the ``<td>``, e.g. ``"ref"``.
    """
    parts = [esc(view.point)]
    if view.ci:
        parts.append(f' <span class="ci">{esc(view.ci)}</span>')
    if view.n:
        parts.append(f'<br><span class="n">{counts(view)}</span>')
    return f'<td class="num{" " + extra if extra else ""}">{"".join(parts)}</td>'


def p_span(text: str, significant: bool) -> str:
    """A p-value; bold when below 0.05, the report's only mark of significance."""
    return f'<span class="p{" sig" if significant else ""}">{esc(text)}</span>'


def delta_td(view: Delta) -> str:
    """A right-aligned change cell: the change, its paired interval and p if any, then
    before → after."""
    text = f'<span class="delta">{esc(view.change)}</span>'
    if view.ci or view.p:
        text += f'<br><span class="test">{esc(view.ci)} {p_span(view.p, view.significant)}</span>'
    if view.before:
        text += f'<br><span class="n">{esc(view.before)} → {esc(view.after)}</span>'
    return f'<td class="num">{text}</td>'


def column_thead(lead: list[str], columns: list[Column]) -> str:
    """Two header rows: benchmark names spanning their columns, then judge and metric."""
    top = "".join(f'<th rowspan="2">{esc(h)}</th>' for h in lead)
    top += "".join(f'<th class="group" colspan="{span}">{esc(bench)}</th>' for bench, span in column_groups(columns))
    sub = "".join(f'<th class="num">{esc(c.label)}</th>' for c in columns)
    return f"<thead><tr>{top}</tr><tr>{sub}</tr></thead>"


def table(headers: list[str], body_rows: list[str], numeric_from: int) -> str:
    """Assemble a table from escaped header texts and ready-made ``<tr>`` rows."""
    num = ' class="num"'
    ths = "".join(f"<th{num if i >= numeric_from else ''}>{h}</th>" for i, h in enumerate(headers))
    return f"<table><thead><tr>{ths}</tr></thead><tbody>{''.join(body_rows)}</tbody></table>"


def scroll(content: str) -> str:
    """Let a wide table scroll sideways inside the page instead of widening it."""
    return f'<div class="scroll">{content}</div>'
