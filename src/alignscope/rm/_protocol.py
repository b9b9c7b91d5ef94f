"""The reward-model seams: a scalar RM scores one response, a pairwise RM compares two.

Both kinds are judges of kind ``"reward"``, so scoring runs through ``judge_cached``: every
score is a verdict in the workspace store keyed by (RM key, prompt, response), a re-run costs
nothing, and a failure is a verdict with ``error`` set, which reaches the caller as a missing
score (``None``), never a made-up one. An RM's ``key`` hashes every setting that can change a
score, so two configurations never share cache rows.

A pairwise RM is a judge whose items carry both responses, in the order shown, packed into the
``response`` field by ``encode_pair``; ``A`` then ``B`` and ``B`` then ``A`` are different
items, hence different cache rows.
"""

from __future__ import annotations

import json
from typing import Literal, NamedTuple, Protocol

from alignscope.data import PreferencePair, Verdict
from alignscope.judge import judge_cached
from alignscope.provenance import stable_hash
from alignscope.store import Store

Preference = Literal["chosen", "rejected", "tie", "inconsistent"]


class RewardModel(Protocol):
    """Scores (prompt, response): ``judge_batch`` returns verdicts whose ``score`` is the reward.

    ``describe()`` records what a report needs to reproduce the scores: model, revision, chat
    template sha256, max length, dtype, truncated inputs and kind-specific settings.
    """

    key: str
    kind: Literal["reward"]

    def judge_batch(self, items: list[tuple[str, str, str]]) -> list[Verdict]: ...

    def describe(self) -> dict: ...


class PairwiseRM(Protocol):
    """Compares two responses to one prompt; use it through ``pairwise_prefs``.

    ``judge_batch`` takes (id, prompt, ``encode_pair(first, second)``) items and returns
    verdicts with ``score`` 1.0 when the first response shown is better, 0.0 when the second
    is, 0.5 for a tie; an unparseable reply is a verdict with ``error`` set.
    """

    key: str
    kind: Literal["reward"]

    def judge_batch(self, items: list[tuple[str, str, str]]) -> list[Verdict]: ...

    def describe(self) -> dict: ...


class PairScores(NamedTuple):
    """An RM's scores on preference pairs; ``None`` where scoring failed."""

    chosen: list[float | None]
    rejected: list[float | None]
    failures: int  # pairs with at least one missing score (they cannot count as right or wrong)


def response_id(prompt: str, response: str) -> str:
    """A stable generation id for a (prompt, response) pair that no generation run produced."""
    return "rm:" + stable_hash([prompt, response])[:16]


def _score(verdict: Verdict) -> float | None:
    return None if verdict.error is not None or verdict.score is None else float(verdict.score)


def score_pairs(rm: RewardModel, pairs: list[PreferencePair], store: Store, chunk_size: int = 64) -> PairScores:
    """Score the chosen and the rejected response of every pair, through the verdict cache.

    Args:
        rm: Any scalar reward model.
        pairs: Preference pairs.
        store: The workspace store; scores already in it are not recomputed.
        chunk_size: Items judged (and written) per transaction.

    Returns:
        Chosen scores, rejected scores (aligned with ``pairs``) and the number of failed pairs.
    """
    responses = [p.chosen for p in pairs] + [p.rejected for p in pairs]
    prompts = [p.prompt for p in pairs] * 2
    items = [(response_id(p, r), p, r) for p, r in zip(prompts, responses)]
    scores = [_score(row) for row in judge_cached(rm, items, store, chunk_size, description=f"score {rm.key}")]
    chosen, rejected = scores[: len(pairs)], scores[len(pairs) :]
    return PairScores(chosen, rejected, sum(c is None or r is None for c, r in zip(chosen, rejected)))


# --- pairwise ---------------------------------------------------------------------------


def encode_pair(first: str, second: str) -> str:
    """Both responses, in the order the judge sees them, as one cacheable string."""
    return json.dumps([first, second], ensure_ascii=False)


def decode_pair(text: str) -> tuple[str, str]:
    first, second = json.loads(text)
    return first, second


# which response won, given the verdict score, when the chosen one is shown first / second
_WINNER_CHOSEN_FIRST = {1.0: "chosen", 0.0: "rejected", 0.5: "tie"}
_WINNER_CHOSEN_SECOND = {1.0: "rejected", 0.0: "chosen", 0.5: "tie"}


def pair_preference(row_ab: Verdict, row_ba: Verdict) -> dict:
    """Combine the verdicts of one pair shown in both orders.

    Args:
        row_ab: Verdict with the chosen response shown first.
        row_ba: Verdict with the rejected response shown first.

    Returns:
        ``pref_ab`` and ``pref_ba`` (``chosen``/``rejected``/``tie``, ``None`` on failure),
        ``consistent`` (``None`` unless both orders were judged), ``preference`` (the agreed
        winner, ``inconsistent``, or ``None`` on failure) and ``error``.
    """
    score_ab, score_ba = _score(row_ab), _score(row_ba)
    ab = None if score_ab is None else _WINNER_CHOSEN_FIRST[score_ab]
    ba = None if score_ba is None else _WINNER_CHOSEN_SECOND[score_ba]
    error = row_ab.error or row_ba.error
    if ab is None or ba is None:
        return {"pref_ab": ab, "pref_ba": ba, "consistent": None, "preference": None, "error": error or "no score"}
    return {
        "pref_ab": ab,
        "pref_ba": ba,
        "consistent": ab == ba,
        "preference": ab if ab == ba else "inconsistent",
        "error": None,
    }


def pairwise_prefs(rm: PairwiseRM, pairs: list[PreferencePair], store: Store, chunk_size: int = 64) -> list[dict]:
    """Judge every pair in both orders, through the verdict cache; one dict per pair.

    Args:
        rm: Any pairwise reward model.
        pairs: Preference pairs.
        store: The workspace store; comparisons already in it are not asked again.
        chunk_size: Items judged (and written) per transaction.

    Returns:
        ``pair_preference`` of each pair, aligned with ``pairs``.
    """
    shown = [encode_pair(p.chosen, p.rejected) for p in pairs] + [encode_pair(p.rejected, p.chosen) for p in pairs]
    prompts = [p.prompt for p in pairs] * 2
    items = [(response_id(p, s), p, s) for p, s in zip(prompts, shown)]
    rows = judge_cached(rm, items, store, chunk_size, description=f"compare {rm.key}")
    return [pair_preference(ab, ba) for ab, ba in zip(rows[: len(pairs)], rows[len(pairs) :])]


def order_swap_disagreement(results: list[dict]) -> float:
    """Share of pairs judged in both orders whose two verdicts disagree (position bias).

    Failed pairs are left out of numerator and denominator.

    Raises:
        ValueError: If no pair was judged in both orders.
    """
    judged = [r for r in results if r["consistent"] is not None]
    if not judged:
        raise ValueError("no pair was judged in both orders: order-swap disagreement is undefined")
    return sum(not r["consistent"] for r in judged) / len(judged)
