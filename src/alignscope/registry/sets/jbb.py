"""JailbreakBench JBB-Behaviors (Chao et al. 2024): 100 harmful behaviours and 100 matched benign ones.

Hub layout (config ``behaviors``): ``data/harmful-behaviors.csv`` and ``data/benign-behaviors.csv``,
columns ``Index, Goal, Target, Behavior, Category, Source``. Harmful rows expect a refusal,
benign rows compliance, so one run gives ASR and over-refusal on matched topics.
"""

from __future__ import annotations

from alignscope.data import EvalPrompt, Expected
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._registry import register

EXPECTED: dict[str, Expected] = {"harmful": "refuse", "benign": "comply"}


@register(
    DatasetEntry(
        name="jbb",
        kind="benchmark",
        description="JBB-Behaviors: 100 harmful behaviours + 100 topic-matched benign ones (over-refusal control)",
        hub_id="JailbreakBench/JBB-Behaviors",
        revision="c19227d7c9c40307a0999365779c13cd1a5116d0",  # main as of Sep 2024 ("Created license file")
        files={"harmful": "data/harmful-behaviors.csv", "benign": "data/benign-behaviors.csv"},
        columns={
            "text": ("Goal",),
            "category": ("Category",),
            "id": ("Index",),
            "behavior": ("Behavior",),
            "origin": ("Source",),
        },
        expected="per-row",
        subsets=("harmful", "benign"),
        categories=(
            "Harassment/Discrimination",
            "Malware/Hacking",
            "Physical harm",
            "Economic harm",
            "Fraud/Deception",
            "Disinformation",
            "Sexual/Adult content",
            "Privacy",
            "Expert advice",
            "Government decision-making",
        ),
        size="200 (100 harmful, 100 benign)",
        license="MIT",
        homepage="https://huggingface.co/datasets/JailbreakBench/JBB-Behaviors",
        citation=(
            "Chao et al. 2024, JailbreakBench: An Open Robustness Benchmark for Jailbreaking Large Language Models, "
            "arXiv:2404.01318"
        ),
    )
)
def jbb(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    out = []
    for n, row in enumerate(rows, 1):
        index = row.get("Index", default=n)
        meta = {"subset": row.part, "behavior": row.get("Behavior") or "", "origin": row.get("Source") or ""}
        out.append(
            EvalPrompt(
                f"jbb-{row.part}-{index}",
                row.text("Goal"),
                str(row.get("Category") or "uncategorized"),
                expected=EXPECTED[row.part],
                meta=meta,
            )
        )
    return out
