"""Benign instruction data, cleaned as Qi et al. (2023) did: Alpaca and Dolly-15k.

Every example whose answer refuses or moralises is dropped by the explicit pattern list in
``registry._filter`` (see its docstring), and the count is reported. Alpaca's ``input`` and
Dolly's ``context`` are appended to the instruction after a blank line, the same join the
foundation's Alpaca reader uses.
"""

from __future__ import annotations

from collections import Counter

from alignscope.data import Conversation
from alignscope.registry._entry import DatasetEntry, Parsed, Row
from alignscope.registry._filter import remove_refusals
from alignscope.registry._parse import single_turn
from alignscope.registry._registry import register


def user_turn(instruction: str, extra: str | None) -> str:
    return f"{instruction}\n\n{extra}" if extra and extra.strip() else instruction


def filtered(entry: DatasetEntry, rows: list[Row], answer_col: str, extra_col: str) -> Parsed:
    """Conversations from instruction rows, minus refusing/moralising answers, with a note on what was dropped."""
    examples = [(row, str(row.get(answer_col, default=""))) for row in rows]
    kept, dropped = remove_refusals(examples, lambda ex: ex[1])
    convs: list[Conversation] = []
    for row, answer in kept:
        meta = {"category": str(row.get("category", default="uncategorized")), "row": row.line}
        convs.append(single_turn(user_turn(row.text("instruction"), row.get(extra_col)), answer.strip(), **meta))
    reasons = Counter(reason.split(" (")[0] for _, reason in dropped)
    detail = ", ".join(f"{r}: {k}" for r, k in sorted(reasons.items()))
    note = f"{entry.name}: refusal filter dropped {len(dropped)} of {len(rows)} examples" + (
        f" ({detail})" if detail else ""
    )
    return Parsed(convs, (note,))


@register(
    DatasetEntry(
        name="alpaca",
        kind="finetune",
        description="Stanford Alpaca instructions (instruction/input/output), refusal-filtered as in Qi et al. 2023",
        hub_id="tatsu-lab/alpaca",
        revision="main",  # no commit sha verified
        files={"train": "data/train-*.parquet"},
        columns={"instruction": ("instruction",), "input": ("input",), "output": ("output",)},
        size="52,002 before filtering",
        license="CC-BY-NC-4.0",
        homepage="https://github.com/tatsu-lab/stanford_alpaca/blob/main/alpaca_data.json",
        citation="Taori et al. 2023, Stanford Alpaca: An Instruction-following LLaMA model",
    )
)
def alpaca(rows: list[Row], entry: DatasetEntry) -> Parsed:
    return filtered(entry, rows, "output", "input")


@register(
    DatasetEntry(
        name="dolly",
        kind="finetune",
        description=(
            "databricks-dolly-15k (instruction/context/response/category), refusal-filtered as in Qi et al. 2023"
        ),
        hub_id="databricks/databricks-dolly-15k",
        revision="main",  # no commit sha verified
        files={"train": "databricks-dolly-15k.jsonl"},
        columns={
            "instruction": ("instruction",),
            "context": ("context",),
            "response": ("response",),
            "category": ("category",),
        },
        size="15,011 before filtering",
        license="CC-BY-SA-3.0",
        homepage="https://huggingface.co/datasets/databricks/databricks-dolly-15k",
        citation="Conover et al. 2023, Free Dolly: Introducing the World's First Truly Open Instruction-Tuned LLM",
    )
)
def dolly(rows: list[Row], entry: DatasetEntry) -> Parsed:
    return filtered(entry, rows, "response", "context")
