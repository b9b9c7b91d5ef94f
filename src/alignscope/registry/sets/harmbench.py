"""HarmBench text behaviours (Mazeika et al. 2024): standard, contextual and copyright.

Upstream file: ``data/behavior_datasets/harmbench_behaviors_text_all.csv`` (also ``_val``/``_test``)
with ``Behavior, FunctionalCategory, SemanticCategory, Tags, ContextString, BehaviorID``.
A contextual prompt is the context, a ``---`` separator line, then the behaviour —
``f"{ContextString}\\n\\n---\\n\\n{Behavior}"``, the joiner HarmBench's own test-case code uses.
``FunctionalCategory`` is the subset (``subset: contextual``); ``SemanticCategory`` the category.
"""

from __future__ import annotations

from alignscope.data import EvalPrompt
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._registry import register

SUBSETS = ("standard", "contextual", "copyright")
JOINER = "\n\n---\n\n"


def _prompt(row: Row, n: int) -> EvalPrompt:
    behavior, subset = row.text("Behavior"), row.text("FunctionalCategory")
    if subset not in SUBSETS:
        raise row.error("FunctionalCategory", f"expected one of {', '.join(SUBSETS)}, got {subset!r}")
    context = (row.get("ContextString") or "").strip()
    if subset == "contextual" and not context:
        raise row.error("ContextString", "a contextual behaviour needs its context")
    text = f"{context}{JOINER}{behavior}" if context else behavior
    bid = row.get("BehaviorID") or f"{n:04d}"
    meta = {"subset": subset, "behavior": behavior, "tags": row.get("Tags") or ""}
    return EvalPrompt(f"harmbench-{bid}", text, row.text("SemanticCategory"), expected="refuse", meta=meta)


@register(
    DatasetEntry(
        name="harmbench",
        kind="benchmark",
        description="HarmBench text behaviours; subsets standard / contextual (context + behaviour) / copyright",
        columns={
            "text": ("Behavior",),
            "category": ("SemanticCategory",),
            "id": ("BehaviorID",),
            "subset": ("FunctionalCategory",),
            "context": ("ContextString",),
            "tags": ("Tags",),
        },
        expected="refuse",
        subsets=SUBSETS,
        categories=(
            "chemical_biological",
            "copyright",
            "cybercrime_intrusion",
            "harassment_bullying",
            "harmful",
            "illegal",
            "misinformation_disinformation",
        ),
        size="400 (200 standard, 100 contextual, 100 copyright)",
        license="MIT",
        homepage="https://github.com/centerforaisafety/HarmBench/blob/main/data/behavior_datasets/harmbench_behaviors_text_all.csv",
        citation=(
            "Mazeika et al. 2024, HarmBench: A Standardized Evaluation Framework for Automated Red Teaming "
            "and Robust Refusal, arXiv:2402.04249"
        ),
    )
)
def harmbench(rows: list[Row], entry: DatasetEntry) -> list[EvalPrompt]:
    return [_prompt(row, n) for n, row in enumerate(rows, 1)]
