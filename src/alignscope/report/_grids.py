"""Format-neutral views of a study's grids (``grids`` and ``aggregates`` of ``StudyResults``).

A grid is a set of fine-tunes that differ only in a few settings (its axes). Its views
look every cell up once, so the heatmap, the line chart, the cell table and the main
effects of one grid, in HTML and in Markdown, all show the same numbers.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from alignscope.results import Aggregate, Grid, Level, MetricRow, StudyResults

from ._view import (
    DASH,
    Cell,
    Column,
    Estimate,
    cell,
    fmt_ci,
    fmt_value,
    main_columns,
    metric_index,
    metric_info,
    model_label,
    summary_columns,
)

Combo = tuple[Level, ...]  # one level per axis, in axis order


@dataclass(frozen=True)
class GridView:
    """One grid with every cell's numbers looked up.

    Attributes:
        name: The finetune entry the grid came from.
        kind: ``"numeric"`` or ``"factorial"``.
        axes: Axis names (the seed axis excluded), in study order.
        levels: Each axis's levels, in study order.
        n_seeds: Seeds per cell; above one, cells show the mean over seeds.
        parent: Display label of the model every cell was fine-tuned from.
        combos: Every combination of levels, first axis outermost.
        columns: Each judge's main harmful metric and over-refusal, where any cell has a row.
        rows: (combo, column) -> what a cell shows: a metric row, or a seed aggregate.
        parent_rows: column -> the parent's metric row.
    """

    name: str
    kind: str
    axes: list[str]
    levels: list[list[Level]]
    n_seeds: int
    parent: str
    combos: list[Combo]
    columns: list[Column]
    rows: dict[tuple[Combo, Column], Estimate]
    parent_rows: dict[Column, MetricRow]

    def value(self, combo: Combo, column: Column) -> Estimate | None:
        """The row shown for ``combo`` in ``column``, or None when it has none."""
        return self.rows.get((combo, column))


def fmt_level(value: Level) -> str:
    """An axis level as the study file would write it: ``2e-05``, ``true``, ``roleplay``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return f"{value:g}"
    return DASH if value is None else str(value)


def combo_label(view: GridView, combo: Combo) -> str:
    """``lr=2e-05, bs=16``: a cell's settings."""
    return ", ".join(f"{axis}={fmt_level(level)}" for axis, level in zip(view.axes, combo))


def grid_cell(row: Estimate | None) -> Cell:
    """The display strings of a cell: a seed mean counts seeds, a metric row counts prompts."""
    if not isinstance(row, Aggregate):
        return cell(row)
    point = fmt_value(row.value, metric_info(row.metric).mean)
    return Cell(point, fmt_ci(row), f"{row.n_seeds} seeds")


# ------------------------------------------------------------------------------- lookups


def _combo(params: dict[str, Level], axes: list[str]) -> Combo:
    return tuple(params.get(axis) for axis in axes)


def _cell_models(results: StudyResults, grid: Grid) -> dict[Combo, list[str]]:
    """combo -> the model keys (one per seed) that ran it, read off ``models[i].grid``."""
    cells = set(grid.cells)
    models: dict[Combo, list[str]] = {}
    for model in results.models:
        if model.key in cells and model.grid is not None and model.grid.name == grid.name:
            models.setdefault(_combo(model.grid.params, grid.axes), []).append(model.key)
    return models


def _aggregates(results: StudyResults, grid: Grid) -> dict[tuple[Any, ...], Aggregate]:
    """(combo, benchmark, judge, metric) -> the grid's seed aggregate."""
    return {
        (_combo(row.params, grid.axes), row.benchmark, row.judge, row.metric): row
        for row in results.aggregates
        if row.grid == grid.name
    }


def _cell_rows(
    results: StudyResults, grid: Grid, combos: list[Combo], columns: list[Column]
) -> dict[tuple[Combo, Column], Estimate]:
    """Each cell's row per column: the seed aggregate if any, else its single model's row."""
    metrics, aggregates = metric_index(results), _aggregates(results, grid)
    models, rows = _cell_models(results, grid), {}
    for combo, column in itertools.product(combos, columns):
        key = (column.benchmark, column.judge, column.metric)
        row: Estimate | None = aggregates.get((combo, *key))
        if row is None and len(models.get(combo, [])) == 1:
            row = metrics.get((models[combo][0], *key))
        if row is not None:
            rows[(combo, column)] = row
    return rows


def grid_view(results: StudyResults, grid: Grid) -> GridView:
    """Look up every cell of ``grid`` (an entry of ``results.grids``)."""
    axes = list(grid.axes)
    levels = [list(grid.values.get(axis) or []) for axis in axes]
    combos = list(itertools.product(*levels))
    candidates = main_columns(results, summary_columns(results))
    rows = _cell_rows(results, grid, combos, candidates)
    columns = [c for c in candidates if any((combo, c) in rows for combo in combos)]
    metrics, parent = metric_index(results), grid.parent
    parent_rows = {
        c: metrics[key]
        for c in columns
        if parent is not None and (key := (parent, c.benchmark, c.judge, c.metric)) in metrics
    }
    return GridView(
        grid.name,
        grid.kind,
        axes,
        levels,
        len(grid.seeds) or 1,
        model_label(results, parent),
        combos,
        columns,
        rows,
        parent_rows,
    )


def grid_views(results: StudyResults) -> list[GridView]:
    """One view per entry of ``grids``, in study order."""
    return [grid_view(results, grid) for grid in results.grids]


def harmful_columns(view: GridView) -> list[Column]:
    """The grid's columns on harmful prompts: one figure each."""
    return [c for c in view.columns if metric_info(c.metric).side == "refuse"]


# ------------------------------------------------------------------------------ figures


@dataclass(frozen=True)
class Heatmap:
    """One column of a two-axis numeric grid: first axis down, second across."""

    column: Column
    axes: tuple[str, str]
    row_levels: list[str]
    col_levels: list[str]
    cells: list[list[Estimate | None]]  # [row level][column level]
    parent: MetricRow | None


def heatmaps(view: GridView) -> list[Heatmap]:
    """One heatmap per harmful column of a numeric grid with exactly two axes."""
    if view.kind != "numeric" or len(view.axes) != 2:
        return []
    rows, cols = view.levels
    return [
        Heatmap(
            column,
            (view.axes[0], view.axes[1]),
            [fmt_level(r) for r in rows],
            [fmt_level(c) for c in cols],
            [[view.value((r, c), column) for c in cols] for r in rows],
            view.parent_rows.get(column),
        )
        for column in harmful_columns(view)
    ]


@dataclass(frozen=True)
class Series:
    """One column of a one-axis numeric grid, level by level."""

    column: Column
    axis: str
    levels: list[str]
    points: list[Estimate | None]
    parent: MetricRow | None


def series(view: GridView) -> list[Series]:
    """One line chart per harmful column of a numeric grid with exactly one axis."""
    if view.kind != "numeric" or len(view.axes) != 1:
        return []
    return [
        Series(
            column,
            view.axes[0],
            [fmt_level(level) for level in view.levels[0]],
            [view.value((level,), column) for level in view.levels[0]],
            view.parent_rows.get(column),
        )
        for column in harmful_columns(view)
    ]


# ------------------------------------------------------------------------------- tables


def axis_headers(view: GridView) -> list[str]:
    """The cell table's leading headers: the axes, or ``grid`` for a grid of seeds only."""
    return view.axes or ["grid"]


def factor_rows(view: GridView) -> list[tuple[list[str], list[Cell]]]:
    """One row per cell: its level on each axis, then one Cell per column."""
    return [
        (
            [fmt_level(level) for level in combo] or [view.name],
            [grid_cell(view.value(combo, column)) for column in view.columns],
        )
        for combo in view.combos
    ]


def parent_cells(view: GridView) -> list[Cell]:
    """The parent's Cell per column, the reference row of the cell table."""
    return [cell(view.parent_rows.get(column)) for column in view.columns]


@dataclass(frozen=True)
class Effect:
    """The mean of one column over the cells at one level of one axis."""

    axis: str
    level: str
    means: list[str]


def level_mean(view: GridView, axis: int, level: Level, column: Column) -> str:
    """Unweighted mean over the cells at ``level``; says how many cells when some lack data."""
    cells = [combo for combo in view.combos if combo[axis] == level]
    values = [row.value for combo in cells if (row := view.value(combo, column)) is not None and row.value is not None]
    if not values:
        return DASH
    text = fmt_value(sum(values) / len(values), metric_info(column.metric).mean)
    return text if len(values) == len(cells) else f"{text} ({len(values)} of {len(cells)} cells)"


def main_effects(view: GridView) -> list[Effect]:
    """For each axis and level, every column's mean over the cells at that level."""
    return [
        Effect(axis, fmt_level(level), [level_mean(view, i, level, c) for c in view.columns])
        for i, axis in enumerate(view.axes)
        for level in view.levels[i]
    ]


def describe(view: GridView) -> str:
    """One sentence on what the grid varied, over how many cells and seeds, from which parent."""
    axes = "; ".join(
        f"{axis} ∈ {{{', '.join(fmt_level(v) for v in levels)}}}" for axis, levels in zip(view.axes, view.levels)
    )
    seeds = (
        f", each run with {view.n_seeds} seeds (cells show the mean over seeds, with a 95% t-interval over seeds)"
        if view.n_seeds > 1
        else ""
    )
    cells = f"{len(view.combos)} cell{'s' if len(view.combos) != 1 else ''}"
    return f"A {view.kind} grid of {cells} fine-tuned from {view.parent}{': ' + axes if axes else ''}{seeds}."


EFFECTS_NOTE = (
    "Descriptive only: each entry is the plain average of the cell values at that level, "
    "without an interval. The tested differences between cells are in Paired comparisons "
    "(rows compared for factor: <axis>)."
)
