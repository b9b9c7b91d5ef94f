"""The data-set registry: a plain dict filled by a decorator. Adding a set is one small file in ``sets/``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from pathlib import Path

from alignscope.errors import AlignscopeError
from alignscope.registry._entry import DatasetEntry, Kind, LoadedSet, Parser
from alignscope.registry._sources import fetch as _fetch

REGISTRY: dict[str, DatasetEntry] = {}


def register(entry: DatasetEntry) -> Callable[[Parser], Parser]:
    """Register ``entry`` with the decorated function as its row parser.

    Example::

        @register(DatasetEntry(name="advbench", kind="benchmark", ...))
        def advbench(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
            ...
    """

    def deco(fn: Parser) -> Parser:
        if entry.name in REGISTRY:
            raise ValueError(f"data set {entry.name!r} is registered twice")
        REGISTRY[entry.name] = dataclasses.replace(entry, parse=fn)
        return fn

    return deco


def get(name: str) -> DatasetEntry:
    if name not in REGISTRY:
        raise AlignscopeError(
            f"unknown data set {name!r}; known: {', '.join(sorted(REGISTRY))} (see `alignscope data list`)"
        )
    return REGISTRY[name]


def names(kind: Kind | None = None) -> list[str]:
    return sorted(n for n, e in REGISTRY.items() if kind is None or e.kind == kind)


def load(
    name: str,
    path: str | Path | None = None,
    *,
    limit: int | None = None,
    categories: Sequence[str] | None = None,
    seed: int | None = None,
    subset: str | Sequence[str] | None = None,
    workspace: str | Path | None = None,
) -> LoadedSet:
    """Load a registered set by name; see :meth:`DatasetEntry.load` for where it is read from."""
    return get(name).load(path, limit=limit, categories=categories, seed=seed, subset=subset, workspace=workspace)


def fetch(name: str, workspace: str | Path, source: str | Path | None = None) -> LoadedSet:
    """Download ``name`` from the Hub (or copy it from ``source``, a local Hub-layout directory) into the
    workspace cache."""
    return _fetch(get(name), workspace, source)
