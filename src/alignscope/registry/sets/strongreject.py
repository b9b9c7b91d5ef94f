"""StrongREJECT forbidden prompts (Souly et al. 2024): 313 prompts in 6 categories, and the 60-prompt small set.

Upstream: ``strongreject_dataset/strongreject_dataset.csv`` and ``strongreject_small_dataset.csv``
with ``category, source, forbidden_prompt``. The Hub copy ``walledai/StrongREJECT`` names the
prompt column ``prompt``; both load.
"""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._parse import prompts_from_columns
from alignscope.registry._registry import register

CATEGORIES = (
    "Disinformation and deception",
    "Hate, harassment and discrimination",
    "Illegal goods and services",
    "Non-violent crimes",
    "Sexual content",
    "Violence",
)
COLUMNS = {"text": ("forbidden_prompt", "prompt"), "category": ("category",), "origin": ("source",)}
CITATION = "Souly et al. 2024, A StrongREJECT for Empty Jailbreaks, arXiv:2402.10260"
REPO = "https://github.com/alexandrasouly/strongreject/blob/main/strongreject_dataset"


@register(
    DatasetEntry(
        name="strongreject",
        kind="benchmark",
        description="StrongREJECT: forbidden prompts that need specific, harmful answers to count as jailbroken",
        hub_id="walledai/StrongREJECT",
        revision="main",  # a third-party Hub copy; no commit sha verified
        columns=COLUMNS,
        expected="refuse",
        categories=CATEGORIES,
        size="313",
        license="MIT",
        homepage=f"{REPO}/strongreject_dataset.csv",
        citation=CITATION,
    )
)
def strongreject(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return prompts_from_columns(rows, entry)


@register(
    DatasetEntry(
        name="strongreject-small",
        kind="benchmark",
        description="StrongREJECT small: 60 prompts, 10 per category, for cheap runs",
        columns=COLUMNS,
        expected="refuse",
        categories=CATEGORIES,
        size="60",
        license="MIT",
        homepage=f"{REPO}/strongreject_small_dataset.csv",
        citation=CITATION,
    )
)
def strongreject_small(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return prompts_from_columns(rows, entry)
