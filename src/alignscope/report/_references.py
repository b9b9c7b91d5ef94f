"""Format-neutral view of ``references``: a paper's number next to the measured ones.

Each referenced model gets one row: the paper's figure, then what this study measured for
the same model (each judge's main harmful metric on the benchmark the reference names, or
else on the first harmful benchmark), then its over-refusal on the first benign benchmark,
so the safety cost and the helpfulness cost sit side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

from alignscope.results import Reference, StudyResults

from ._view import (
    DASH,
    Cell,
    Column,
    cell,
    first_benchmark,
    fmt_value,
    judge_kinds,
    main_metric,
    metric_index,
    metric_info,
    model_label,
    summary_columns,
)

REFERENCE_NOTE = (
    "The paper's figures are quoted from the source in each footnote. The paper's base model, "
    "fine-tuning run and judge may differ from this study's (the source says which), so look "
    "for agreement in direction and rough size, not for equality. Measured figures are this "
    "study's, with 95% intervals."
)


@dataclass(frozen=True)
class ReferenceLine:
    """One referenced model: the paper's number, then the measured Cells."""

    model: str
    recipe: str  # how the model was made: the paper's risk tier, in Qi et al.'s terms
    metric: str
    paper: str
    note: int  # footnote number of the source, from 1
    cells: list[Cell]


@dataclass(frozen=True)
class ReferenceTable:
    """The references resolved to one harmful benchmark.

    Attributes:
        benchmark: Where the harmful metrics were measured.
        comply: Where over-refusal was measured (the first benign benchmark), if anywhere.
        columns: The measured columns, harmful ones first.
        lines: One per reference.
    """

    benchmark: str
    comply: str | None
    columns: list[Column]
    lines: list[ReferenceLine]


@dataclass(frozen=True)
class ReferenceView:
    """Every reference table, and the sources their footnotes number."""

    tables: list[ReferenceTable]
    sources: list[str]


def _columns(results: StudyResults, benchmark: str, refs: list[Reference]) -> list[Column]:
    """Main harmful metrics (and any metric a reference quotes) on ``benchmark``, then
    over-refusal on the first benign benchmark, among the summary's columns. None at all when
    ``benchmark`` was not measured: a paper's figure is set only beside the same benchmark's."""
    kinds, comply = judge_kinds(results), first_benchmark(results, "comply")
    quoted = {ref.metric for ref in refs}

    def wanted(c: Column) -> bool:
        if c.metric == "over_refusal":
            return c.benchmark == comply
        return c.benchmark == benchmark and (c.metric in quoted or c.metric == main_metric(kinds.get(c.judge)))

    columns = [c for c in summary_columns(results) if wanted(c)]
    return columns if any(c.benchmark == benchmark and c.metric != "over_refusal" for c in columns) else []


def _source(ref: Reference) -> str:
    return ref.source or "unnamed source"


def _line(results: StudyResults, ref: Reference, columns: list[Column], sources: list[str]) -> ReferenceLine:
    """One reference with the measured cells of its model."""
    index, info = metric_index(results), metric_info(ref.metric)
    recipes = {m.key: m.recipe for m in results.models}
    return ReferenceLine(
        model_label(results, ref.model),
        recipes.get(ref.model) or DASH,
        info.label,
        fmt_value(ref.value, info.mean),
        sources.index(_source(ref)) + 1,
        [cell(index.get((ref.model, c.benchmark, c.judge, c.metric))) for c in columns],
    )


def reference_view(results: StudyResults) -> ReferenceView | None:
    """The paper comparison, one table per benchmark measured on; None without references.

    A reference names its benchmark, or null for the paper's headline one, which this study
    measures on its first harmful benchmark.
    """
    refs = results.references
    if not refs:
        return None
    sources = list(dict.fromkeys(_source(ref) for ref in refs))
    by_bench: dict[str, list[Reference]] = {}
    for ref in refs:
        bench = ref.benchmark or first_benchmark(results, "refuse")
        by_bench.setdefault(str(bench), []).append(ref)
    tables = []
    for bench, group in by_bench.items():
        columns = _columns(results, bench, group)
        tables.append(
            ReferenceTable(
                bench,
                first_benchmark(results, "comply"),
                columns,
                [_line(results, ref, columns, sources) for ref in group],
            )
        )
    return ReferenceView(tables, sources)


def measured_on(table: ReferenceTable) -> str:
    """``Measured on probe; over-refusal on xstest.``, or why nothing is set beside the figures."""
    if not table.columns:
        return f"Not measured here: this run has no {table.benchmark} results, so nothing is set beside these figures."
    comply = any(c.metric == "over_refusal" for c in table.columns)
    return f"Measured on {table.benchmark}" + (f"; over-refusal on {table.comply}." if comply and table.comply else ".")
