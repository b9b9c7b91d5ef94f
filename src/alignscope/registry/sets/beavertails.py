"""BeaverTails (Ji et al. 2023): question-answer pairs labelled safe/unsafe over 14 harm categories.

Hub files ``round0/30k/train.jsonl.gz`` and ``round0/30k/test.jsonl.gz`` (splits ``30k_train`` and
``30k_test``), rows ``prompt, response, category, is_safe`` where ``category`` maps each of the 14
harm categories to true/false. Three entries:

- ``beavertails`` (benchmark): the harmful-score prompts of the harmful-fine-tuning defence
  literature (Vaccine, Lisa, Booster, ...): the first 500 rows of ``30k_test`` with
  ``is_safe == false``, prompts only, upstream order, duplicates kept as they did.
- ``beavertails-harmful`` / ``beavertails-safe`` (fine-tuning): ``30k_train`` pairs, for the
  user-data mixtures of that literature (p% harmful + benign).

A row's category is its first true harm category (upstream order); all are kept in ``meta``.
"""

from __future__ import annotations

from alignscope.data import Conversation, EvalPrompt
from alignscope.registry._entry import DatasetEntry, Parsed, Row
from alignscope.registry._parse import single_turn
from alignscope.registry._registry import register

N_EVAL = 500
HUB = dict(
    hub_id="PKU-Alignment/BeaverTails",
    revision="8401fe609d288129cc684a9b3be6a93e41cfe678",  # "Re-upload BeaverTails-30k and refactoring", Oct 2023
    license="CC-BY-NC-4.0",
    homepage="https://huggingface.co/datasets/PKU-Alignment/BeaverTails",
    citation=(
        "Ji et al. 2023, BeaverTails: Towards Improved Safety Alignment of LLM via a Human-Preference Dataset, "
        "arXiv:2307.04657"
    ),
)
COLUMNS = {"text": ("prompt",), "response": ("response",), "category": ("category",), "is_safe": ("is_safe",)}
CATEGORIES = (
    "animal_abuse",
    "child_abuse",
    "controversial_topics,politics",
    "discrimination,stereotype,injustice",
    "drug_abuse,weapons,banned_substance",
    "financial_crime,property_crime,theft",
    "hate_speech,offensive_language",
    "misinformation_regarding_ethics,laws_and_safety",
    "non_violent_unethical_behavior",
    "privacy_violation",
    "self_harm",
    "sexually_explicit,adult_content",
    "terrorism,organized_crime",
    "violence,aiding_and_abetting,incitement",
)


def _is_safe(row: Row) -> bool:
    value = row.get("is_safe")
    if not isinstance(value, bool):
        raise row.error("is_safe", f"expected true or false, got {value!r}")
    return value


def _harms(row: Row) -> list[str]:
    cats = row.get("category")
    if not isinstance(cats, dict):
        raise row.error("category", "expected an object mapping each harm category to true/false")
    return [k for k, v in cats.items() if v]


@register(
    DatasetEntry(
        name="beavertails",
        kind="benchmark",
        description=(
            "BeaverTails harmful-score prompts: first 500 unsafe rows of 30k_test (defence-literature protocol)"
        ),
        files={"30k_test": "round0/30k/test.jsonl.gz"},
        columns=COLUMNS,
        expected="refuse",
        categories=CATEGORIES,
        size="500",
        **HUB,  # type: ignore[arg-type]
    )
)
def beavertails(rows: list[Row], entry: DatasetEntry) -> Parsed:
    unsafe = [row for row in rows if not _is_safe(row)]
    out = []
    for n, row in enumerate(unsafe[:N_EVAL], 1):
        harms = _harms(row)
        out.append(
            EvalPrompt(
                f"beavertails-{n:03d}",
                row.text("prompt"),
                harms[0] if harms else "uncategorized",
                expected="refuse",
                meta={"categories": harms, "row": row.line},
            )
        )
    return Parsed(
        out, (f"BeaverTails: first {len(out)} of {len(unsafe)} unsafe rows of {rows[0].part if rows else '30k_test'}",)
    )


def _pairs(rows: list[Row], safe: bool) -> list[Conversation]:
    out = []
    for row in rows:
        if _is_safe(row) != safe:
            continue
        harms = _harms(row)
        out.append(
            single_turn(
                row.text("prompt"),
                row.text("response"),
                category=harms[0] if harms else "safe",
                categories=harms,
                is_safe=safe,
                row=row.line,
            )
        )
    return out


@register(
    DatasetEntry(
        name="beavertails-harmful",
        kind="finetune",
        description=(
            "BeaverTails 30k_train pairs labelled unsafe: the harmful part of defence-literature user-data mixtures"
        ),
        files={"30k_train": "round0/30k/train.jsonl.gz"},
        columns=COLUMNS,
        categories=CATEGORIES,
        size="about 15k of 27k",
        **HUB,  # type: ignore[arg-type]
    )
)
def beavertails_harmful(rows: list[Row], entry: DatasetEntry) -> list[Conversation]:
    return _pairs(rows, safe=False)


@register(
    DatasetEntry(
        name="beavertails-safe",
        kind="finetune",
        description="BeaverTails 30k_train pairs labelled safe",
        files={"30k_train": "round0/30k/train.jsonl.gz"},
        columns=COLUMNS,
        size="about 12k of 27k",
        **HUB,  # type: ignore[arg-type]
    )
)
def beavertails_safe(rows: list[Row], entry: DatasetEntry) -> list[Conversation]:
    return _pairs(rows, safe=True)
