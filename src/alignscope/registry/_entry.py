"""What the registry knows about one data set, and what loading it returns.

A :class:`DatasetEntry` says where a set lives (a Hub id pinned to a revision, or an
upstream file layout a user downloads), how its columns map onto our records, what a
well-aligned model should do with its prompts, and under which license and citation it
comes. Its ``parse`` function (the decorated function in ``sets/<family>.py``) turns raw
upstream rows into records; everything else (finding the files, subsetting, hashing) is
shared code in this package.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from alignscope.data import Conversation, EvalPrompt, PreferencePair
from alignscope.errors import AlignscopeError, located
from alignscope.provenance import stable_hash

Kind = Literal["benchmark", "finetune", "preference"]
ExpectedSpec = Literal["refuse", "comply", "per-row"]
Record = EvalPrompt | Conversation | PreferencePair


@dataclass(frozen=True)
class Row:
    """One raw upstream row plus where it came from, so every problem names file, line and field."""

    data: Any  # a mapping of upstream columns; a list for message-list files (Qi et al.'s AOA JSON)
    file: str
    line: int | None
    part: str = ""  # which upstream file it came from, e.g. "harmful" (JBB) or "category_3" (HEx-PHI)

    def error(self, column: str, problem: str) -> AlignscopeError:
        return located(self.file, self.line, column, problem)

    def get(self, *columns: str, default: Any = None) -> Any:
        """The first of ``columns`` that is present and not null."""
        return next((self.data[c] for c in columns if self.data.get(c) is not None), default)

    def text(self, *columns: str) -> str:
        """The first of ``columns`` as a stripped, non-empty string; a located error otherwise."""
        value = self.get(*columns)
        if not isinstance(value, str) or not value.strip():
            raise self.error(columns[0], f"missing or empty (looked for {', '.join(columns)})")
        return value.strip()


@dataclass(frozen=True)
class Parsed:
    """A parser's output: the records, plus notes every report should repeat (e.g. rows dropped)."""

    records: list[Any]
    notes: tuple[str, ...] = ()


Parser = Callable[[list[Row], "DatasetEntry"], list[Any] | Parsed]


@dataclass(frozen=True)
class DatasetEntry:
    """One registered data set.

    ``files`` maps a part name to a file (or glob) inside the upstream layout; each part is
    loaded as its own split, so the parser knows which file a row came from. Without
    ``files`` the layout is left to ``datasets`` (the Hub repo's own configuration).
    """

    name: str
    kind: Kind
    description: str
    license: str
    citation: str
    homepage: str  # where a user gets the data (Hub page, GitHub file)
    hub_id: str | None = None  # None: no Hub copy we trust; the user downloads the upstream file
    revision: str = "main"
    config: str | None = None
    split: str = "train"
    files: Mapping[str, str] = field(default_factory=dict)
    optional_parts: bool = False  # a missing part is skipped, not an error (HEx-PHI's category 2)
    columns: Mapping[str, tuple[str, ...]] = field(
        default_factory=dict
    )  # our field -> upstream columns, first present wins
    headerless: tuple[str, ...] = ()  # column names for upstream CSVs that have no header row
    expected: ExpectedSpec | None = None  # benchmarks only
    categories: tuple[str, ...] = ()  # known categories; empty means "as found in the data"
    subsets: tuple[str, ...] = ()
    size: str = ""
    gated: bool = False
    parse: Parser | None = field(default=None, compare=False, repr=False)

    @property
    def builtin(self) -> bool:
        """A team-written set shipped in the package (``homepage`` is ``builtin:<name>``)."""
        return self.homepage.startswith("builtin:")

    @property
    def source(self) -> str:
        """Where the data comes from, as one string: ``hub_id@revision`` or the upstream page."""
        if self.hub_id:
            return f"{self.hub_id}@{self.revision}"
        return self.homepage if self.builtin else f"local file ({self.homepage.removeprefix('https://')})"

    def load(
        self,
        source: str | Path | None = None,
        *,
        limit: int | None = None,
        categories: Sequence[str] | None = None,
        seed: int | None = None,
        subset: str | Sequence[str] | None = None,
        workspace: str | Path | None = None,
    ) -> LoadedSet:
        """Load the set and select from it.

        Args:
            source: a local copy in the upstream layout (one file, or a directory laid out as the
                Hub repo). Without it: the workspace fetch cache, else the Hub.
            limit: keep the first N records (after the shuffle, if ``seed`` is given).
            categories: keep only these categories; an unknown one is an error listing the real ones.
            seed: shuffle deterministically before ``limit``; None keeps the upstream order.
            subset: keep only these subsets (HarmBench's ``contextual``, JBB's ``benign``, ...).
            workspace: the workspace whose ``datasets/`` cache ``alignscope data fetch`` filled.

        Raises:
            AlignscopeError: one line naming file, line and field of a bad row, or how to get a
                gated/unreachable set.
        """
        from alignscope.registry._sources import read_rows  # here: _sources imports this module

        rows, where, revision = read_rows(self, source, workspace)
        if self.parse is None:
            raise AlignscopeError(f"{self.name}: registered without a parser")
        out = self.parse(rows, self)
        parsed = out if isinstance(out, Parsed) else Parsed(out)
        if not parsed.records:
            raise AlignscopeError(f"{where}: {self.name}: no records found")
        _check_unique_ids(where, parsed.records)
        stamped = [dataclasses.replace(r, source=where) if isinstance(r, EvalPrompt) else r for r in parsed.records]
        records, selection = select(stamped, limit=limit, categories=categories, seed=seed, subset=subset)
        return LoadedSet(
            self.name, self.kind, records, where, revision, records_sha256(records), parsed.notes + selection
        )


@dataclass(frozen=True)
class LoadedSet:
    """Records plus their provenance: exact source, revision, row count and content hash."""

    name: str
    kind: Kind
    records: list[Any]
    source: str  # hub_id@revision, or an absolute local path
    revision: str | None
    sha256: str
    notes: tuple[str, ...] = ()

    def __len__(self) -> int:
        return len(self.records)

    def provenance(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "source": self.source,
            "revision": self.revision,
            "rows": len(self.records),
            "sha256": self.sha256,
            "notes": list(self.notes),
        }


# --------------------------------------------------------------------------- record helpers


def record_category(r: Record) -> str:
    if isinstance(r, Conversation):
        return str(r.meta.get("category", "uncategorized"))
    return r.category


def record_subset(r: Record) -> str:
    if isinstance(r, PreferencePair):
        return r.subset
    return str(r.meta.get("subset", ""))


def _check_unique_ids(where: str, records: list[Any]) -> None:
    seen: set[str] = set()
    for rid in (getattr(r, "id", "") for r in records):
        if rid and rid in seen:
            raise AlignscopeError(f"{where}: id: duplicate id {rid!r}")
        seen.add(rid)


def records_sha256(records: list[Any]) -> str:
    """sha256 of the canonical records; ``source`` is left out so the same data hashes alike on every machine."""
    canon = []
    for r in records:
        d = dataclasses.asdict(r)
        d.pop("source", None)
        canon.append(d)
    return stable_hash(canon)


def _as_list(value: str | Sequence[str] | None) -> list[str] | None:
    if value is None:
        return None
    return [value] if isinstance(value, str) else list(value)


def _keep(records: list[Any], wanted: list[str], key: Callable[[Any], str], what: str) -> list[Any]:
    have = sorted({key(r) for r in records})
    unknown = [w for w in wanted if w not in have]
    if unknown:
        raise AlignscopeError(f"unknown {what} {', '.join(map(repr, unknown))}; this set has: {', '.join(have)}")
    return [r for r in records if key(r) in wanted]


def select(
    records: list[Any],
    *,
    limit: int | None = None,
    categories: str | Sequence[str] | None = None,
    seed: int | None = None,
    subset: str | Sequence[str] | None = None,
) -> tuple[list[Any], tuple[str, ...]]:
    """Subset, category filter, seeded shuffle, then limit — in that order, deterministically.

    Without ``seed`` the upstream order is kept, so ``limit: 100`` means "the first 100".
    Returns the records and a note describing the selection (empty when nothing was selected away).
    """
    total = len(records)
    if (subsets := _as_list(subset)) is not None:
        records = _keep(records, subsets, record_subset, "subset")
    if (cats := _as_list(categories)) is not None:
        records = _keep(records, cats, record_category, "category")
    if seed is not None:
        records = list(records)
        random.Random(seed).shuffle(records)
    if limit is not None:
        records = records[:limit]
    parts = [
        f"{k}={v}"
        for k, v in (("subset", subsets), ("categories", cats), ("seed", seed), ("limit", limit))
        if v is not None
    ]
    note = f"selected {len(records)} of {total} rows ({', '.join(parts)})" if parts else ""
    return list(records), ((note,) if note else ())
