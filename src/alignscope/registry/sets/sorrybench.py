"""SORRY-Bench (Xie et al. 2024): unsafe instructions balanced over fine-grained categories.

Gated Hub repo; ``question.jsonl`` holds the base prompts, one JSON object per line with
``question_id, category, turns, prompt_style``. The paper's first version had 440 prompts in
44 categories; later releases have 450 in 45. The loader counts and reports which it got.
"""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Parsed, Row
from alignscope.registry._registry import register


def _prompt(row: Row) -> EvalPrompt:
    turns = row.get("turns")
    if not isinstance(turns, list) or not turns or not isinstance(turns[0], str) or not turns[0].strip():
        raise row.error("turns", "expected a non-empty list whose first item is the prompt")
    qid = row.get("question_id")
    if qid is None:
        raise row.error("question_id", "missing")
    meta = {"prompt_style": row.get("prompt_style") or "base"}
    return EvalPrompt(
        f"sorrybench-{qid}",
        turns[0].strip(),
        str(row.get("category", default="uncategorized")),
        expected="refuse",
        meta=meta,
    )


@register(
    DatasetEntry(
        name="sorrybench",
        kind="benchmark",
        description="SORRY-Bench: unsafe instructions, 10 per fine-grained category (category ids as in the release)",
        hub_id="sorry-bench/sorry-bench-202406",
        revision="main",  # gated: no commit sha verified
        files={"base": "question.jsonl"},
        columns={"text": ("turns",), "category": ("category",), "id": ("question_id",)},
        expected="refuse",
        size="440 (44 categories) or 450 (45), by release",
        gated=True,
        license="SORRY-Bench license (gated; see the Hub page)",
        homepage="https://huggingface.co/datasets/sorry-bench/sorry-bench-202406",
        citation=(
            "Xie et al. 2024, SORRY-Bench: Systematically Evaluating Large Language Model Safety Refusal, "
            "arXiv:2406.14598"
        ),
    )
)
def sorrybench(rows: list[Row], entry: DatasetEntry) -> Parsed:
    out = [_prompt(row) for row in rows]
    cats = {p.category for p in out}
    return Parsed(out, (f"SORRY-Bench: {len(out)} prompts in {len(cats)} categories",))
