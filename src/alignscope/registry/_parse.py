"""Row-to-record helpers shared by the set modules."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alignscope.data import Conversation, EvalPrompt, Message, row_conversation
from alignscope.registry._entry import DatasetEntry, Row

RESERVED = ("text", "category", "id")


def row_id(entry: DatasetEntry, row: Row, n: int) -> str:
    """``<set>-<upstream id>``, or ``<set>-<row number>`` when the upstream has no id column."""
    rid = row.get(*entry.columns.get("id", ()))
    return f"{entry.name}-{rid}" if rid is not None and str(rid).strip() else f"{entry.name}-{n:04d}"


def row_category(entry: DatasetEntry, row: Row) -> str:
    cat = row.get(*entry.columns.get("category", ()))
    return str(cat).strip() if cat is not None and str(cat).strip() else "uncategorized"


def row_meta(entry: DatasetEntry, row: Row, **extra: Any) -> dict[str, Any]:
    """Every mapped column other than text/category/id, under our name for it."""
    meta = {k: row.get(*cols) for k, cols in entry.columns.items() if k not in RESERVED}
    return {**{k: v for k, v in meta.items() if v is not None}, **extra}


def prompts_from_columns(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    """The common case: one prompt per row, columns as in ``entry.columns``, one fixed expected behaviour."""
    assert entry.expected in ("refuse", "comply"), f"{entry.name}: per-row expectations need their own parser"
    return [
        EvalPrompt(
            row_id(entry, row, n),
            row.text(*entry.columns["text"]),
            row_category(entry, row),
            expected=entry.expected,
            meta=row_meta(entry, row),
        )
        for n, row in enumerate(rows, 1)
    ]


def conversation_from_row(row: Row) -> Conversation:
    """A fine-tuning example in any format the foundation's reader accepts (OpenAI messages,
    a message list, Alpaca instruction/input/output), validated by that same reader."""
    return row_conversation(Path(row.file), row.line, row.data)


def single_turn(user: str, assistant: str, **meta: Any) -> Conversation:
    return Conversation((Message("user", user), Message("assistant", assistant)), meta)
