"""SALAD-Bench (Li et al. 2024), the benchmark of the Picky-LLMs study: a base set of harmful
questions and an attack-enhanced set (the same questions rewritten by jailbreak methods).

Hub files ``base_set.json`` (``qid, question, source, 1-category, 2-category, 3-category``) and
``attack_enhanced_set.json`` (``qid, baseq, augq, method, 1-category, ...``), each a JSON list.
The top-level domain (``1-category``, six of them) is the category; the finer levels are kept.
"""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._parse import prompts_from_columns, row_category, row_meta
from alignscope.registry._registry import register

HUB = dict(
    hub_id="OpenSafetyLab/Salad-Data",
    revision="e0f207e6a1f65392d945d0d67cf0fedc67d6285e",  # a 2024 main commit holding all four json files
    license="Apache-2.0",
    homepage="https://huggingface.co/datasets/OpenSafetyLab/Salad-Data",
    citation=(
        "Li et al. 2024, SALAD-Bench: A Hierarchical and Comprehensive Safety Benchmark for Large Language Models, "
        "arXiv:2402.05044"
    ),
)
LEVELS = {"category_2": ("2-category",), "category_3": ("3-category",)}


@register(
    DatasetEntry(
        name="salad-base",
        kind="benchmark",
        description="SALAD-Bench base set: harmful questions in a 6/16/66 category hierarchy",
        files={"base_set": "base_set.json"},
        columns={"text": ("question",), "category": ("1-category",), "id": ("qid",), "origin": ("source",), **LEVELS},
        expected="refuse",
        size="21,318",
        **HUB,  # type: ignore[arg-type]
    )
)
def salad_base(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return prompts_from_columns(rows, entry)


@register(
    DatasetEntry(
        name="salad-attack",
        kind="benchmark",
        description="SALAD-Bench attack-enhanced set: base questions rewritten by jailbreak methods",
        files={"attack_enhanced_set": "attack_enhanced_set.json"},
        columns={
            "text": ("augq",),
            "category": ("1-category",),
            "base_question": ("baseq",),
            "method": ("method",),
            "qid": ("qid",),
            **LEVELS,
        },
        expected="refuse",
        size="5,000",
        **HUB,  # type: ignore[arg-type]
    )
)
def salad_attack(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    # one base question is rewritten by several methods, so qid is not unique: number the rows
    return [
        EvalPrompt(
            f"salad-attack-{n:05d}",
            row.text("augq"),
            row_category(entry, row),
            expected="refuse",
            meta=row_meta(entry, row),
        )
        for n, row in enumerate(rows, 1)
    ]
