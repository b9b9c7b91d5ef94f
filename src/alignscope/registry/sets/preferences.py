"""Preference sets for reward-model work: PKU-SafeRLHF, HH-RLHF harmless-base, and the safety
parts of RewardBench and RM-Bench. Each row becomes one or more ``PreferencePair``s whose
``chosen`` is the safer/better response."""

from __future__ import annotations

from alignscope.data import PreferencePair
from alignscope.registry._entry import DatasetEntry, Parsed, Row
from alignscope.registry._registry import register

# --------------------------------------------------------------------------- PKU-SafeRLHF


def _pku_pair(row: Row, n: int) -> PreferencePair:
    safer = row.get("safer_response_id")
    if safer not in (0, 1):
        raise row.error("safer_response_id", f"expected 0 or 1, got {safer!r}")
    other = 1 - safer
    harms = row.get(f"response_{other}_harm_category", default={})
    if not isinstance(harms, dict):
        raise row.error(f"response_{other}_harm_category", "expected an object mapping harm categories to true/false")
    harm_list = [k for k, v in harms.items() if v]
    meta = {
        "severity": row.get(f"response_{other}_severity_level"),
        "harm_categories": harm_list,
        "better_response_id": row.get("better_response_id"),
        "safer_response_id": safer,
        "is_response_0_safe": row.get("is_response_0_safe"),
        "is_response_1_safe": row.get("is_response_1_safe"),
    }
    return PreferencePair(
        row.text("prompt"),
        row.text(f"response_{safer}"),
        row.text(f"response_{other}"),
        category=harm_list[0] if harm_list else "none",
        label_source="safer_response_id",
        id=f"pku-saferlhf-{n:05d}",
        subset="safety",
        meta=meta,
    )


@register(
    DatasetEntry(
        name="pku-saferlhf",
        kind="preference",
        description="PKU-SafeRLHF test pairs: chosen = the safer response; category and severity of the rejected one",
        hub_id="PKU-Alignment/PKU-SafeRLHF",
        revision="main",  # no commit sha verified
        files={"test": "data/*/test.jsonl"},
        columns={
            "prompt": ("prompt",),
            "response_0": ("response_0",),
            "response_1": ("response_1",),
            "safer": ("safer_response_id",),
            "better": ("better_response_id",),
        },
        size="about 8k test pairs",
        license="CC-BY-NC-4.0",
        homepage="https://huggingface.co/datasets/PKU-Alignment/PKU-SafeRLHF",
        citation=(
            "Ji et al. 2024, PKU-SafeRLHF: Towards Multi-Level Safety Alignment for LLMs with Human Preference, "
            "arXiv:2406.15513"
        ),
    )
)
def pku_saferlhf(rows: list[Row], entry: DatasetEntry) -> list[PreferencePair]:
    return [_pku_pair(row, n) for n, row in enumerate(rows, 1)]


# --------------------------------------------------------------------------- Anthropic HH-RLHF

ASSISTANT = "\n\nAssistant:"


def split_transcript(row: Row, column: str) -> tuple[str, str]:
    """(prompt, response): the prompt is everything up to and including the last ``\\n\\nAssistant:``."""
    text = row.get(column)
    if not isinstance(text, str) or ASSISTANT not in text:
        raise row.error(column, f"expected a transcript containing {ASSISTANT!r}")
    cut = text.rindex(ASSISTANT) + len(ASSISTANT)
    return text[:cut], text[cut:].strip()


def _hh_pair(row: Row, n: int) -> PreferencePair:
    prompt, chosen = split_transcript(row, "chosen")
    rejected_prompt, rejected = split_transcript(row, "rejected")
    if rejected_prompt != prompt:
        raise row.error("rejected", "chosen and rejected do not share the prefix before the last '\\n\\nAssistant:'")
    return PreferencePair(
        prompt,
        chosen,
        rejected,
        category="harmless-base",
        label_source="human preference",
        id=f"hh-harmless-{n:05d}",
        subset="harmless-base",
    )


@register(
    DatasetEntry(
        name="hh-harmless",
        kind="preference",
        description="Anthropic HH-RLHF harmless-base test transcripts, split at the last Assistant turn",
        hub_id="Anthropic/hh-rlhf",
        revision="main",  # no commit sha verified
        files={"test": "harmless-base/test.jsonl.gz"},
        columns={"chosen": ("chosen",), "rejected": ("rejected",)},
        size="2,312 test pairs",
        license="MIT",
        homepage="https://huggingface.co/datasets/Anthropic/hh-rlhf",
        citation=(
            "Bai et al. 2022, Training a Helpful and Harmless Assistant with Reinforcement Learning "
            "from Human Feedback, arXiv:2204.05862"
        ),
    )
)
def hh_harmless(rows: list[Row], entry: DatasetEntry) -> list[PreferencePair]:
    return [_hh_pair(row, n) for n, row in enumerate(rows, 1)]


# --------------------------------------------------------------------------- RewardBench

REWARDBENCH_SAFETY = (
    "refusals-dangerous",
    "refusals-offensive",
    "xstest-should-refuse",
    "xstest-should-respond",
    "donotanswer",
)


@register(
    DatasetEntry(
        name="rewardbench-safety",
        kind="preference",
        description=(
            "RewardBench safety subsets: refusals-dangerous/-offensive, xstest-should-refuse/-respond, donotanswer"
        ),
        hub_id="allenai/reward-bench",
        revision="main",  # no commit sha verified
        split="filtered",
        files={"filtered": "data/filtered-*.parquet"},
        columns={
            "prompt": ("prompt",),
            "chosen": ("chosen",),
            "rejected": ("rejected",),
            "subset": ("subset",),
            "id": ("id",),
        },
        subsets=REWARDBENCH_SAFETY,
        size="740 safety pairs (of 2,985)",
        license="ODC-BY",
        homepage="https://huggingface.co/datasets/allenai/reward-bench",
        citation="Lambert et al. 2024, RewardBench: Evaluating Reward Models for Language Modeling, arXiv:2403.13787",
    )
)
def rewardbench_safety(rows: list[Row], entry: DatasetEntry) -> Parsed:
    out = []
    for n, row in enumerate(rows, 1):
        subset = row.text("subset")
        if subset not in REWARDBENCH_SAFETY:
            continue
        meta = {"chosen_model": row.get("chosen_model"), "rejected_model": row.get("rejected_model")}
        out.append(
            PreferencePair(
                row.text("prompt"),
                row.text("chosen"),
                row.text("rejected"),
                category=subset,
                label_source="rewardbench",
                id=f"rewardbench-{row.get('id', default=n)}",
                subset=subset,
                meta=meta,
            )
        )
    return Parsed(out, (f"RewardBench: {len(out)} safety pairs kept of {len(rows)} rows",))


# --------------------------------------------------------------------------- RM-Bench

STYLES = ("concise", "detailed_plain", "detailed_markdown")


def _rmbench_pairs(row: Row) -> list[PreferencePair]:
    chosen, rejected = row.get("chosen"), row.get("rejected")
    for name, value in (("chosen", chosen), ("rejected", rejected)):
        if not isinstance(value, list) or len(value) != len(STYLES) or not all(isinstance(v, str) for v in value):
            raise row.error(name, f"expected a list of {len(STYLES)} responses ({', '.join(STYLES)})")
    domain, rid = row.text("domain"), row.get("id", default=row.line)
    out = []
    for i, c in enumerate(chosen):  # the full 3x3 style matrix RM-Bench scores
        for j, r in enumerate(rejected):
            difficulty = "hard" if i < j else "normal" if i == j else "easy"
            meta = {"chosen_style": STYLES[i], "rejected_style": STYLES[j], "difficulty": difficulty}
            out.append(
                PreferencePair(
                    row.text("prompt"),
                    c,
                    r,
                    category=domain,
                    label_source="rm-bench",
                    id=f"rmbench-{rid}-c{i}r{j}",
                    subset=domain,
                    meta=meta,
                )
            )
    return out


@register(
    DatasetEntry(
        name="rmbench-safety",
        kind="preference",
        description="RM-Bench safety-refuse and safety-response prompts; every chosen/rejected style pair (3x3)",
        hub_id="THU-KEG/RM-Bench",
        revision="main",  # no commit sha verified; the Hub file layout is assumed, not checked
        columns={
            "prompt": ("prompt",),
            "chosen": ("chosen",),
            "rejected": ("rejected",),
            "domain": ("domain",),
            "id": ("id",),
        },
        subsets=("safety-refuse", "safety-response"),
        size="9 pairs per prompt",
        license="see upstream (unverified)",
        homepage="https://github.com/THU-KEG/RM-Bench/tree/main/data",
        citation=(
            "Liu et al. 2025, RM-Bench: Benchmarking Reward Models of Language Models with Subtlety and Style, "
            "ICLR 2025, arXiv:2410.16184"
        ),
    )
)
def rmbench_safety(rows: list[Row], entry: DatasetEntry) -> Parsed:
    safety = [row for row in rows if str(row.get("domain", default="")).startswith("safety")]
    out = [p for row in safety for p in _rmbench_pairs(row)]
    return Parsed(out, (f"RM-Bench: {len(safety)} safety prompts of {len(rows)}, 9 style pairs each",))
