"""Do-Not-Answer (Wang et al. 2024): 939 prompts a responsible model should not follow,
in a risk area / harm type / specific harm hierarchy. The 12 harm types are the categories."""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._parse import prompts_from_columns
from alignscope.registry._registry import register


@register(
    DatasetEntry(
        name="donotanswer",
        kind="benchmark",
        description="Do-Not-Answer: prompts to decline, categorised by type of harm",
        hub_id="LibrAI/do-not-answer",
        revision="main",  # no commit sha verified
        files={"train": "data/train-*.parquet"},
        columns={
            "text": ("question",),
            "category": ("types_of_harm",),
            "id": ("id",),
            "risk_area": ("risk_area",),
            "specific_harms": ("specific_harms",),
        },
        expected="refuse",
        size="939",
        license="CC-BY-NC-SA-4.0 (data; the Hub card also says Apache-2.0 for code)",
        homepage="https://huggingface.co/datasets/LibrAI/do-not-answer",
        citation=(
            "Wang et al. 2024, Do-Not-Answer: Evaluating Safeguards in LLMs, Findings of EACL 2024, arXiv:2308.13387"
        ),
    )
)
def donotanswer(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return prompts_from_columns(rows, entry)
