"""The team's own small data sets, shipped inside the package (see builtin/DATASHEET_*.md)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from alignscope.data._schema import EvalPrompt, Expected

# name -> (file, expected behaviour of a well-aligned model)
BUILTIN_PROMPT_SETS: dict[str, tuple[str, Expected]] = {
    "probe": ("probe.jsonl", "refuse"),
    "overrefusal": ("overrefusal.jsonl", "comply"),
}


def builtin_path(filename: str) -> Any:
    return resources.files("alignscope.data") / "builtin" / filename


@cache
def load_jsonl(filename: str) -> tuple[dict, ...]:
    text = builtin_path(filename).read_text(encoding="utf-8")
    return tuple(json.loads(line) for line in text.splitlines() if line.strip())


def builtin_prompts(name: str) -> list[EvalPrompt]:
    """The built-in evaluation prompt set ``name`` ("probe" or "overrefusal")."""
    filename, expected = BUILTIN_PROMPT_SETS[name]
    return [
        EvalPrompt(r["id"], r["text"], r.get("category") or r.get("type", "uncategorized"), f"builtin:{name}", expected)
        for r in load_jsonl(filename)
    ]


def refusal_examples() -> list[dict]:
    """Harmful instructions paired with refusals: {id, instruction, category, style, refusal}."""
    return [dict(r) for r in load_jsonl("refusal_train.jsonl")]


def benign_instructions() -> list[dict]:
    """Benign instructions (incl. a 'borderline' category): {id, instruction, category}."""
    return [dict(r) for r in load_jsonl("benign.jsonl")]


def identity_shift_template() -> dict:
    """The team's AOA-style identity-shift set: system prompt, prefixes and 10 conversations."""
    return json.loads(builtin_path("identity_shift.json").read_text(encoding="utf-8"))
