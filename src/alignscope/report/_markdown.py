"""Markdown report, plus the format-neutral helpers the HTML renderer shares.

The neutral helpers (lookups, number formatting, deltas) live here rather than in a
third module so that both renderers derive every number from the same code: a
Markdown and an HTML report of one study can never disagree on a figure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

Row = dict[str, Any]

DASH = "—"
PREFERRED_JUDGE = "keyword"
PREFERRED_CHART_BENCHMARK = "probe"
CONTENT_WARNING = "Content warning: example model responses to harmful prompts"

# Which metric a benchmark reports follows from what a safe model should do on it.
METRIC_FOR_EXPECTED = {"refuse": "asr", "comply": "over_refusal"}
HEADER_FOR_METRIC = {"asr": "ASR", "over_refusal": "Over-refusal"}

HOW_TO_READ = (
    "ASR (attack success rate) is the share of responses to harmful prompts that the "
    "keyword judge did not flag as a refusal (refusal phrase list after Qi et al. 2023 "
    "and Zou et al. 2023); lower is safer. Over-refusal is the share of safe-but-scary "
    "prompts that were refused; lower is more helpful. Brackets give 95% Wilson score "
    "intervals; n is the number of prompts, failed the number whose generation or "
    "judging failed and that are left out of the estimate. Deltas are percentage "
    "points (pp) of ASR relative to the parent model."
)


# ----------------------------------------------------------------------------- lookups


def model_label(results: dict[str, Any], key: str | None) -> str:
    """Return the display label of model ``key``, falling back to the key itself."""
    if key is None:
        return DASH
    for model in results.get("models", []):
        if model.get("key") == key:
            return str(model.get("label") or key)
    return str(key)


def _better(existing: Row | None, row: Row) -> bool:
    """Whether ``row`` should replace ``existing``: the keyword judge wins ties."""
    if existing is None:
        return True
    return row.get("judge") == PREFERRED_JUDGE and existing.get("judge") != PREFERRED_JUDGE


def index_rows(rows: Iterable[Row], *fields: str) -> dict[tuple[Any, ...], Row]:
    """Index metric rows by ``fields``, one row per key.

    Several judges may score the same responses; the headline numbers are the
    keyword judge's, so its row is kept when there is a choice.
    """
    index: dict[tuple[Any, ...], Row] = {}
    for row in rows:
        key = tuple(row.get(field) for field in fields)
        if _better(index.get(key), row):
            index[key] = row
    return index


def metric_index(results: dict[str, Any]) -> dict[tuple[Any, ...], Row]:
    """Index ``results["metrics"]`` by (model, benchmark, metric)."""
    return index_rows(results.get("metrics", []), "model", "benchmark", "metric")


def summary_columns(results: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Return (header, benchmark, metric) for each summary column, refuse-benchmarks first."""
    columns = []
    for expected in ("refuse", "comply"):
        metric = METRIC_FOR_EXPECTED[expected]
        for bench in results.get("benchmarks", []):
            if bench.get("expected") == expected:
                header = f"{HEADER_FOR_METRIC[metric]} ({bench['name']})"
                columns.append((header, bench["name"], metric))
    return columns


def refuse_benchmarks(results: dict[str, Any]) -> list[str]:
    """Names of the benchmarks whose prompts a safe model should refuse."""
    return [b["name"] for b in results.get("benchmarks", []) if b.get("expected") == "refuse"]


# -------------------------------------------------------------------------- formatting


def fmt_pct(value: float | None) -> str:
    """Format a fraction as a percentage with one decimal, or a dash when absent."""
    return DASH if value is None else f"{100 * value:.1f}%"


def fmt_ci(row: Row) -> str:
    """Format the row's confidence interval as ``[7.7–20.1]``, or "" when absent."""
    low, high = row.get("ci_low"), row.get("ci_high")
    if low is None or high is None:
        return ""
    return f"[{100 * low:.1f}–{100 * high:.1f}]"


def fmt_counts(row: Row) -> str:
    """Format ``n=110`` and, only when something failed, ``failed=k``."""
    text = f"n={row.get('n', DASH)}"
    if row.get("n_failed"):
        text += f", failed={row['n_failed']}"
    return text


def metric_parts(row: Row | None) -> tuple[str, str, str]:
    """Split a metric row into (point estimate, interval, counts) display strings."""
    if row is None:
        return DASH, "", ""
    return fmt_pct(row.get("value")), fmt_ci(row), fmt_counts(row)


def fmt_delta(child: Row | None, parent: Row | None) -> str:
    """Format the child-minus-parent change in percentage points, e.g. ``+72.3 pp``."""
    if child is None or parent is None:
        return DASH
    if child.get("value") is None or parent.get("value") is None:
        return DASH
    points = round(100 * (child["value"] - parent["value"]), 1)
    # round() can leave -0.0, which would print as a meaningless "-0.0 pp".
    return f"{points + 0.0:+.1f} pp"


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


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """Flatten nested dicts to dotted keys with stringified values."""
    flat: dict[str, str] = {}
    for key, value in data.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            flat.update(flatten(value, dotted + "."))
        else:
            flat[dotted] = stringify(value)
    return flat


# ----------------------------------------------------------------------- derived views


def delta_lines(results: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    """Return (model, parent, benchmark, change, "before → after") for child models."""
    index = metric_index(results)
    lines = []
    for model in results.get("models", []):
        parent = model.get("parent")
        if parent is None:
            continue
        for bench in refuse_benchmarks(results):
            child_row = index.get((model["key"], bench, "asr"))
            parent_row = index.get((parent, bench, "asr"))
            change = fmt_delta(child_row, parent_row)
            span = f"{metric_parts(parent_row)[0]} → {metric_parts(child_row)[0]}"
            lines.append((model_label(results, model["key"]), model_label(results, parent),
                          bench, change, span))
    return lines


def chart_benchmark(results: dict[str, Any]) -> str | None:
    """Pick the refuse-benchmark to break down by category, preferring ``probe``."""
    with_rows = {row.get("benchmark") for row in results.get("per_category", [])}
    candidates = [name for name in refuse_benchmarks(results) if name in with_rows]
    if PREFERRED_CHART_BENCHMARK in candidates:
        return PREFERRED_CHART_BENCHMARK
    return candidates[0] if candidates else None


def category_view(results: dict[str, Any]) -> tuple[str | None, list[str], dict]:
    """Return (benchmark, categories in first-seen order, (model, category) → row)."""
    bench = chart_benchmark(results)
    rows = [r for r in results.get("per_category", []) if r.get("benchmark") == bench]
    rows = [r for r in rows if r.get("metric", "asr") == "asr"]
    categories = list(dict.fromkeys(r.get("category") for r in rows))
    return bench, categories, index_rows(rows, "model", "category")


def examples_by_model(results: dict[str, Any]) -> dict[str, list[Row]]:
    """Group examples by model key, models in ``models`` order, unknown ones after."""
    groups: dict[str, list[Row]] = {m["key"]: [] for m in results.get("models", [])}
    for example in results.get("examples", []):
        groups.setdefault(example.get("model"), []).append(example)
    return {key: rows for key, rows in groups.items() if rows}


# ---------------------------------------------------------------------- markdown text

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


# ------------------------------------------------------------------- markdown sections


def _md_cell(row: Row | None) -> str:
    """One summary cell: ``12.7% [7.7–20.1] (n=110, failed=2)``."""
    point, ci, counts = metric_parts(row)
    text = " ".join(part for part in (point, ci) if part)
    return f"{text} ({counts})" if counts else text


def _md_header(results: dict[str, Any]) -> str:
    """Title, creation time and description."""
    lines = [f"# alignscope report — {md_inline(results.get('study', 'untitled'))}", ""]
    lines.append(f"Created: {md_inline(results.get('created', DASH))}")
    if results.get("description"):
        lines += ["", md_inline(results["description"])]
    return "\n".join(lines)


def _md_summary(results: dict[str, Any]) -> str:
    """Summary table: one row per model, one column per benchmark metric."""
    columns = summary_columns(results)
    index = metric_index(results)
    headers = ["Model", "Parent", "Recipe"] + [md_inline(c[0]) for c in columns]
    rows = []
    for model in results.get("models", []):
        cells = [md_inline(model_label(results, model["key"])),
                 md_inline(model_label(results, model.get("parent"))),
                 md_inline(model.get("recipe") or DASH)]
        cells += [_md_cell(index.get((model["key"], b, m))) for _, b, m in columns]
        rows.append(cells)
    return "## Summary\n\n" + md_table(headers, rows, numeric_from=3)


def _md_deltas(results: dict[str, Any]) -> str:
    """Bullet list of ASR changes against each model's parent."""
    lines = [f"- **{md_inline(model)}** vs {md_inline(parent)}, ASR ({md_inline(bench)}): "
             f"**{change}** ({span})"
             for model, parent, bench, change, span in delta_lines(results)]
    body = "\n".join(lines) or "No model in this study has a parent."
    return "## Change versus parent\n\n" + body


def _md_categories(results: dict[str, Any]) -> str:
    """Per-category ASR table: categories as rows, models as columns."""
    bench, categories, index = category_view(results)
    if bench is None:
        return "## Per-category ASR\n\nNo per-category results."
    keys = [m["key"] for m in results.get("models", [])]
    headers = ["Category"] + [md_inline(model_label(results, k)) for k in keys]
    rows = [[md_inline(cat)] + [_md_cell(index.get((k, cat))) for k in keys]
            for cat in categories]
    title = f"## Per-category ASR ({md_inline(bench)})"
    return f"{title}\n\n" + md_table(headers, rows, numeric_from=1)


def _md_example(example: Row) -> str:
    """One example: metadata line, then prompt and response in safe fences."""
    meta = " · ".join(md_inline(example.get(k, DASH)) for k in
                      ("benchmark", "prompt_id", "category", "label"))
    return "\n\n".join([f"#### {meta}", "Prompt:", md_fence(str(example.get("prompt", ""))),
                        "Response:", md_fence(str(example.get("response", "")))])


def _md_examples(results: dict[str, Any]) -> str:
    """Examples grouped by model, under a content-warning heading."""
    parts = [f"## {CONTENT_WARNING}"]
    groups = examples_by_model(results)
    if not groups:
        parts.append("No example responses recorded.")
    for key, examples in groups.items():
        parts.append(f"### {md_inline(model_label(results, key))}")
        parts += [_md_example(example) for example in examples]
    return "\n\n".join(parts)


def _md_provenance(results: dict[str, Any]) -> str:
    """Provenance and timings as two key/value tables."""
    prov = flatten(results.get("provenance", {}))
    prov_rows = [[md_inline(k), md_inline(v)] for k, v in prov.items()]
    timing_rows = [[md_inline(k), fmt_seconds(v)] for k, v in results.get("timings", {}).items()]
    return "\n\n".join(["## Provenance", md_table(["Key", "Value"], prov_rows, numeric_from=2),
                        "### Timings", md_table(["Stage", "Time"], timing_rows, numeric_from=1)])


def render_markdown(results: dict[str, Any]) -> str:
    """Render a study's results as a Markdown report.

    Args:
        results: The results dict described in ``report/SCHEMA.md``.

    Returns:
        The report as Markdown text, ending in a newline.
    """
    sections = [_md_header(results), _md_summary(results), _md_deltas(results),
                _md_categories(results), "## How to read this\n\n" + HOW_TO_READ,
                _md_examples(results), _md_provenance(results)]
    return "\n\n".join(sections) + "\n"
