"""One SQLite file per workspace: generations and verdicts, keyed by content hashes.

A generation's key hashes (model fingerprint, rendered prompt, sampling config); a verdict's
key hashes (judge config, prompt, response). Rows are written batch by batch in their own
transactions with INSERT OR IGNORE, so a kill at any moment loses at most the batch in
flight, and re-running fills in exactly what is missing — never a duplicate.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

GENERATIONS = """
CREATE TABLE IF NOT EXISTS {table} (
    key TEXT PRIMARY KEY,
    model_key TEXT NOT NULL,
    prompt_id TEXT NOT NULL,
    sampling_key TEXT NOT NULL,
    prompt TEXT NOT NULL,
    text TEXT NOT NULL,
    tokens INTEGER,  -- NULL: an api server that reported no usage
    finish_reason TEXT NOT NULL,
    backend TEXT,  -- hf | vllm | api; NULL: written before backends were recorded (all hf)
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
"""

SCHEMA = (
    GENERATIONS.format(table="generations")
    + """
CREATE TABLE IF NOT EXISTS verdicts (
    key TEXT PRIMARY KEY,
    generation_key TEXT NOT NULL,
    judge_key TEXT NOT NULL,
    score REAL,
    label TEXT,
    raw TEXT NOT NULL DEFAULT '',
    error TEXT,
    created TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
);
CREATE INDEX IF NOT EXISTS verdicts_by_generation ON verdicts (generation_key, judge_key);
"""
)

GEN_COLS = ("key", "model_key", "prompt_id", "sampling_key", "prompt", "text", "tokens", "finish_reason", "backend")
_OLD_GEN_COLS = (*GEN_COLS[:-1], "created")


def _migrate(db: sqlite3.Connection) -> None:
    """Bring a database from before generation backends up to ``SCHEMA``: add ``backend`` and let
    ``tokens`` be NULL. SQLite cannot drop a NOT NULL, so the table is rebuilt, once, in one
    transaction; its rows are kept as they are (``backend`` NULL, read back as hf)."""

    def current() -> bool:
        return "backend" in {row["name"] for row in db.execute("PRAGMA table_info(generations)")}

    if current():
        return
    with db:
        db.execute("BEGIN IMMEDIATE")
        if current():  # another process migrated it while we waited for the lock
            return
        db.execute(GENERATIONS.format(table="generations_migrating"))
        cols = ",".join(_OLD_GEN_COLS)
        db.execute(f"INSERT INTO generations_migrating ({cols}) SELECT {cols} FROM generations")
        db.execute("DROP TABLE generations")
        db.execute("ALTER TABLE generations_migrating RENAME TO generations")


VERDICT_COLS = ("key", "generation_key", "judge_key", "score", "label", "raw", "error")


class Store:
    """The workspace database. Cheap to open; safe to share between processes (WAL)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=60)
        self.db.row_factory = sqlite3.Row
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        _migrate(self.db)

    def close(self) -> None:
        self.db.close()

    def _get(self, table: str, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        keys = list(keys)
        out: dict[str, dict[str, Any]] = {}
        for i in range(0, len(keys), 500):  # stay under SQLite's bound-parameter limit
            chunk = keys[i : i + 500]
            marks = ",".join("?" * len(chunk))
            for row in self.db.execute(f"SELECT * FROM {table} WHERE key IN ({marks})", chunk):
                out[row["key"]] = dict(row)
        return out

    def _put(self, table: str, cols: tuple[str, ...], rows: list[dict[str, Any]]) -> None:
        marks = ",".join("?" * len(cols))
        with self.db:  # one transaction per batch: all of it lands, or none
            self.db.executemany(
                f"INSERT OR IGNORE INTO {table} ({','.join(cols)}) VALUES ({marks})",
                [tuple(r[c] for c in cols) for r in rows],
            )

    def get_generations(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Stored generations by key; rows from before backends were recorded say ``backend: hf``."""
        got = self._get("generations", keys)
        for row in got.values():
            row["backend"] = row["backend"] or "hf"
        return got

    def put_generations(self, rows: list[dict[str, Any]]) -> None:
        """Insert generations (first write wins). ``backend`` names the engine; a row without one is hf."""
        self._put("generations", GEN_COLS, [{**r, "backend": r.get("backend") or "hf"} for r in rows])

    def get_verdicts(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        return self._get("verdicts", keys)

    def put_verdicts(self, rows: list[dict[str, Any]], replace_errors: bool = False) -> None:
        """Insert verdicts. With ``replace_errors``, a new row replaces a stored *error* verdict
        (a re-run filling in failures) but never a stored good one."""
        rows = [{**r, "raw": r.get("raw") or "", "error": r.get("error")} for r in rows]
        if not replace_errors:
            self._put("verdicts", VERDICT_COLS, rows)
            return
        cols = ",".join(VERDICT_COLS)
        updates = ",".join(f"{c}=excluded.{c}" for c in VERDICT_COLS[1:])
        with self.db:
            self.db.executemany(
                f"INSERT INTO verdicts ({cols}) VALUES ({','.join('?' * len(VERDICT_COLS))}) "
                f"ON CONFLICT(key) DO UPDATE SET {updates}, created=strftime('%Y-%m-%dT%H:%M:%fZ', 'now') "
                "WHERE verdicts.error IS NOT NULL",
                [tuple(r[c] for c in VERDICT_COLS) for r in rows],
            )

    def count(self, table: str) -> int:
        return self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]

    def dump(self, table: str) -> list[dict[str, Any]]:
        return [dict(r) for r in self.db.execute(f"SELECT * FROM {table} ORDER BY created, key")]


def to_json(rows: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
