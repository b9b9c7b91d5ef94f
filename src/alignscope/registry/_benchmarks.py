"""A study's benchmarks: a registered set (Hub, workspace cache or a local copy), a built-in one,
or any prompt file, each with its provenance."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alignscope.data import EvalPrompt, read_prompts
from alignscope.errors import AlignscopeError
from alignscope.progress import console
from alignscope.registry._entry import DatasetEntry, LoadedSet, records_sha256, select
from alignscope.registry._registry import REGISTRY
from alignscope.registry._sources import cache_dir

if TYPE_CHECKING:  # config imports judge and train, which import registry users: type names only
    from alignscope.config import BenchmarkSpec


def _unavailable(spec: BenchmarkSpec, entry: DatasetEntry | None, workspace: str | Path | None) -> str | None:
    """Why an optional benchmark cannot be read locally (optional ones never download), or None."""
    if spec.path:
        return None if Path(spec.path).expanduser().exists() else f"{spec.path} not found"
    if entry is None or entry.builtin:
        return None
    if workspace is not None and cache_dir(workspace, entry).is_dir():
        return None
    return f"not in the workspace cache (run `alignscope data fetch {spec.name}` or give `path:`)"


def skip_reason(spec: BenchmarkSpec, workspace: str | Path | None = None) -> str | None:
    """Why an optional benchmark will be skipped (it is not available locally), or None."""
    entry = REGISTRY.get(spec.name)
    return _unavailable(spec, entry, workspace) if spec.optional else None


def load_benchmark_set(spec: BenchmarkSpec, workspace: str | Path | None = None) -> LoadedSet | None:
    """One benchmark with its provenance, or None for an optional one that is not available locally.

    A registered name (``alignscope data list``) is read from ``path`` when given (a local copy in
    the upstream layout), else the workspace fetch cache, else the Hub. Any other name needs
    ``path``: a plain prompt file. A built-in set given a ``path`` reads that file, as before.
    """
    entry = REGISTRY.get(spec.name)
    if entry is not None and entry.kind != "benchmark":
        raise AlignscopeError(f"benchmark {spec.name!r}: a {entry.kind} set, not a benchmark")
    if spec.optional and (why := _unavailable(spec, entry, workspace)):
        console.print(f"[yellow]skipping benchmark {spec.name}: {why} (optional)[/yellow]")
        return None
    sel: dict[str, Any] = {"limit": spec.limit, "categories": spec.categories, "seed": spec.seed, "subset": spec.subset}
    if entry is not None and not (spec.path and entry.builtin):
        loaded = entry.load(spec.path, workspace=workspace, **sel)
        if spec.expected:
            records = [dataclasses.replace(p, expected=spec.expected) for p in loaded.records]
            loaded = dataclasses.replace(
                loaded,
                records=records,
                sha256=records_sha256(records),
                notes=(*loaded.notes, f"expected overridden: {spec.expected}"),
            )
        return loaded
    if not spec.path:
        raise AlignscopeError(
            f"benchmark {spec.name!r}: not a registered set (see `alignscope data list`) and no path given"
        )
    prompts = read_prompts(spec.path, expected=spec.expected or "refuse", source=spec.path)
    records, notes = select(prompts, **sel)
    return LoadedSet(
        spec.name, "benchmark", records, str(Path(spec.path).resolve()), None, records_sha256(records), notes
    )


def load_benchmark(spec: BenchmarkSpec, workspace: str | Path | None = None) -> list[EvalPrompt] | None:
    """The prompts of one benchmark, or None for an optional one that is not available locally."""
    loaded = load_benchmark_set(spec, workspace)
    return None if loaded is None else loaded.records
