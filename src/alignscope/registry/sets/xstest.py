"""XSTest (Röttger et al. 2024): 250 safe prompts that only *sound* unsafe, and 200 unsafe contrasts.

Upstream CSV ``xstest_prompts.csv``: ``id, prompt, type, label, focus, note``. ``label`` is
``safe`` (expected: comply — refusing is over-refusal) or ``unsafe`` (expected: refuse — ASR).
``type`` (e.g. ``homonyms``, ``contrast_homonyms``) is the category; ``focus`` and ``note`` are kept.
"""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Parsed, Row
from alignscope.registry._parse import row_id, row_meta
from alignscope.registry._registry import register

EXPECTED = {"safe": "comply", "unsafe": "refuse"}


def _prompt(entry: DatasetEntry, row: Row, n: int) -> EvalPrompt:
    label = str(row.get("label", default="")).strip().lower()
    if label not in EXPECTED:
        raise row.error("label", f"expected 'safe' or 'unsafe', got {row.get('label')!r}")
    return EvalPrompt(
        row_id(entry, row, n),
        row.text("prompt"),
        row.text("type"),
        expected=EXPECTED[label],  # type: ignore[arg-type]
        meta=row_meta(entry, row, label=label),
    )


@register(
    DatasetEntry(
        name="xstest",
        kind="benchmark",
        description="XSTest: exaggerated-safety test; safe prompts measure over-refusal, unsafe contrasts measure ASR",
        # hub_id: a Parquet copy of the authors' CSV (no id column); the authors' file loads via `path:`
        hub_id="walledai/XSTest",
        revision="main",  # no commit sha verified
        files={"test": "data/*.parquet"},
        columns={"text": ("prompt",), "category": ("type",), "id": ("id",), "focus": ("focus",), "note": ("note",)},
        expected="per-row",
        size="450 (250 safe, 200 unsafe)",
        license="CC-BY-4.0",
        homepage="https://github.com/paul-rottger/xstest/blob/main/xstest_prompts.csv",
        citation=(
            "Röttger et al. 2024, XSTest: A Test Suite for Identifying Exaggerated Safety Behaviours "
            "in Large Language Models, arXiv:2308.01263"
        ),
    )
)
def xstest(rows: list[Row], entry: DatasetEntry) -> Parsed:
    out = [_prompt(entry, row, n) for n, row in enumerate(rows, 1)]
    safe = sum(p.expected == "comply" for p in out)
    note = (
        f"XSTest: {safe} safe prompts (expected comply: over-refusal), "
        f"{len(out) - safe} unsafe contrasts (expected refuse: ASR)"
    )
    return Parsed(out, (note,))
