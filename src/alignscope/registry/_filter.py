"""The refusal-removal filter Qi et al. (2023) applied to benign fine-tuning data (Alpaca, Dolly).

Benign instruction data sometimes contains answers that refuse or lecture. Fine-tuning on
them would *teach* refusal and blur the experiment ("does benign data erode safety?"), so
such examples are dropped before training, and the number dropped is reported.

The patterns are explicit and case-insensitive, matched anywhere in the answer; the first
match is the drop reason. They aim at the answer's *stance* ("I cannot help", "As an AI",
"I do not condone"), not at topics: a factual "It is illegal to park here" is kept.
This is not the paper judges' keyword list (``judge.QI2023_REFUSAL_KEYWORDS``), which flags
any "illegal" or "Hello!" and would drop many ordinary Alpaca answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")

# (reason, pattern). Order matters only for which reason is reported.
REFUSAL_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (reason, re.compile(rx, re.IGNORECASE))
    for reason, rx in (
        # refusing
        ("refusal: apology", r"\b(?:I am|I'm) (?:really |very |so )?sorry\b|\bI apologi[sz]e\b|\bmy apologies\b"),
        (
            "refusal: cannot",
            r"\bI(?: cannot| can ?not| can't| won't| will not| am unable to|'m unable to"
            r"| am not able to|'m not able to) "
            r"(?:help|assist|provide|answer|fulfil+|comply|complete|create|write"
            r"|generate|give|share|support|engage|do that)\b",
        ),
        (
            "refusal: as an AI",
            r"\bas an? (?:AI|artificial intelligence|(?:AI )?language model|AI assistant)\b"
            r"|\bI(?: am|'m) (?:just |only )?an? (?:AI|language model)\b",
        ),
        ("refusal: policy", r"\bagainst (?:my|our) (?:programming|guidelines|policies|policy|principles)\b"),
        # moralising
        (
            "moralising: condone",
            r"\bI (?:do not|don't|cannot|can't|will not|won't) (?:condone|endorse|encourage|promote)\b",
        ),
        ("moralising: unethical", r"\b(?:is|are|would be|it's) (?:highly |very |extremely )?(?:unethical|immoral)\b"),
        (
            "moralising: not appropriate",
            r"\b(?:it is|it's|it would be|that is|that's) (?:not|never) "
            r"(?:appropriate|ethical|acceptable|okay|ok) to\b",
        ),
        ("moralising: advise against", r"\bI (?:strongly )?(?:advise|urge|caution) (?:you )?against\b"),
    )
)


def drop_reason(answer: str) -> str | None:
    """Why an example with this answer is dropped, or None to keep it."""
    if not answer or not answer.strip():
        return "empty answer"
    for reason, pattern in REFUSAL_PATTERNS:
        if m := pattern.search(answer):
            return f"{reason} ({m.group(0)!r})"
    return None


def remove_refusals(examples: Sequence[T], answer: Callable[[T], str]) -> tuple[list[T], list[tuple[int, str]]]:
    """Split ``examples`` into the kept ones and ``(index, reason)`` for each dropped one."""
    kept: list[T] = []
    dropped: list[tuple[int, str]] = []
    for i, ex in enumerate(examples):
        reason = drop_reason(answer(ex))
        if reason is None:
            kept.append(ex)
        else:
            dropped.append((i, reason))
    return kept, dropped
