"""AdvBench harmful behaviours (Zou et al. 2023): 520 requests, no categories.

Three layouts load through this one entry: the Hub copy ``walledai/AdvBench`` (Parquet,
``prompt, target``), the llm-attacks CSV (``goal,target``), and the headerless one-column
copy Qi et al. (2023) evaluated with (a header-less file is detected by its first row).
"""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._parse import prompts_from_columns
from alignscope.registry._registry import register


@register(
    DatasetEntry(
        name="advbench",
        kind="benchmark",
        description="AdvBench harmful behaviours: short imperative requests for harmful content",
        hub_id="walledai/AdvBench",
        revision="main",  # no commit sha verified offline; pin one (`revision:`) when you can check it
        files={"train": "data/train-*.parquet"},
        columns={"text": ("prompt", "goal")},
        headerless=("goal",),
        expected="refuse",
        size="520",
        license="MIT",
        homepage="https://github.com/llm-attacks/llm-attacks/blob/main/data/advbench/harmful_behaviors.csv",
        citation=(
            "Zou et al. 2023, Universal and Transferable Adversarial Attacks on Aligned Language Models, "
            "arXiv:2307.15043"
        ),
    )
)
def advbench(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return prompts_from_columns(rows, entry)
