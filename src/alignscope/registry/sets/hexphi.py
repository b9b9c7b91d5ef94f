"""HEx-PHI (Qi et al. 2023): 30 harmful instructions in each of 11 categories, one
headerless CSV per category (``category_N.csv``).

The public (gated) Hub release has no ``category_2.csv`` (child abuse content), so a copy
holds 300 prompts, not the paper's 330. The loader detects which, and says so in a note
that every report repeats.
"""

from __future__ import annotations

import re

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Parsed, Row
from alignscope.registry._registry import register

CATEGORIES = {
    1: "Illegal Activity",
    2: "Child Abuse Content",
    3: "Hate/Harass/Violence",
    4: "Malware",
    5: "Physical Harm",
    6: "Economic Harm",
    7: "Fraud/Deception",
    8: "Adult Content",
    9: "Political Campaigning",
    10: "Privacy Violation Activity",
    11: "Tailored Financial Advice",
}
FILE = re.compile(r"category_(\d+)\.csv$")


def _category_number(row: Row) -> int:
    m = FILE.search(row.file)  # the category is the file: a local path, a file in a directory, or the Hub file
    if not m or int(m.group(1)) not in CATEGORIES:
        raise row.error("file", "HEx-PHI files are named category_N.csv with N from 1 to 11")
    return int(m.group(1))


def release_note(found: set[int], n: int) -> str:
    """Which HEx-PHI release this is: 330 prompts (all 11 categories) or the public 300 (no category 2)."""
    if found == set(CATEGORIES):
        return f"HEx-PHI: {n} prompts, all 11 categories (the full 330-prompt release, with category 2)"
    if found == set(CATEGORIES) - {2}:
        return (
            f"HEx-PHI: {n} prompts, 10 categories "
            "(the public 300-prompt release, without category 2: Child Abuse Content)"
        )
    missing = ", ".join(str(i) for i in sorted(set(CATEGORIES) - found))
    return f"HEx-PHI: {n} prompts; partial copy, categories missing: {missing}"


@register(
    DatasetEntry(
        name="hexphi",
        kind="benchmark",
        description=(
            "HEx-PHI: harmful instructions across 11 prohibited-use categories (Meta and OpenAI usage policies)"
        ),
        hub_id="LLM-Tuning-Safety/HEx-PHI",
        revision="main",  # gated: no commit sha verified; pin one once you have access
        files={f"category_{i}": f"category_{i}.csv" for i in CATEGORIES},
        optional_parts=True,
        columns={"text": ("prompt",)},
        headerless=("prompt",),
        expected="refuse",
        categories=tuple(CATEGORIES.values()),
        size="330 (paper) / 300 (public release, no category 2)",
        gated=True,
        license="HEx-PHI license agreement (research use, gated)",
        homepage="https://huggingface.co/datasets/LLM-Tuning-Safety/HEx-PHI",
        citation=(
            "Qi et al. 2023, Fine-tuning Aligned Language Models Compromises Safety, "
            "Even When Users Do Not Intend To!, arXiv:2310.03693"
        ),
    )
)
def hexphi(rows: list[Row], entry: DatasetEntry) -> Parsed:
    out: list[EvalPrompt] = []
    counts: dict[int, int] = {}
    for row in rows:
        c = _category_number(row)
        counts[c] = counts.get(c, 0) + 1
        out.append(EvalPrompt(f"hexphi-c{c:02d}-{counts[c]:03d}", row.text("prompt"), CATEGORIES[c], expected="refuse"))
    return Parsed(out, (release_note(set(counts), len(out)),))
