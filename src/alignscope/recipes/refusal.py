"""The align stage's data: refusals to harmful requests mixed with the model's own benign answers.

SmolLM2-135M-Instruct complies with most harmful requests out of the box. Training on
built-in harmful instructions paired with refusals teaches it to refuse; mixing in its own
(self-distilled) answers to benign instructions — including "borderline" ones that merely
sound alarming — keeps it helpful and limits over-refusal. The same data serves the
safety-mixing mitigation (``safety-mix``: k refusal examples added to any fine-tune).
"""

from __future__ import annotations

import dataclasses
import random

from alignscope.data import Conversation, Message, benign_instructions, refusal_examples
from alignscope.recipes._registry import RecipeContext, RecipeOutput, pop_args, register_recipe
from alignscope.recipes.benign import refusal_filter


def refusal_conversations(n: int, seed: int) -> list[Conversation]:
    rows = refusal_examples()
    rng = random.Random(seed)
    picked = rng.sample(rows, min(n, len(rows)))
    return [
        Conversation(
            (Message("user", r["instruction"]), Message("assistant", r["refusal"])),
            {"id": r["id"], "category": r["category"], "style": r["style"]},
        )
        for r in picked
    ]


def with_safety_mix(data: RecipeOutput, k: int, seed: int) -> RecipeOutput:
    """Qi et al.'s mitigation: k refusals to harmful requests shuffled into the fine-tuning data."""
    if k == 0:
        return data
    convs = data.conversations + refusal_conversations(k, seed)
    random.Random(seed).shuffle(convs)
    return dataclasses.replace(data, conversations=convs, info={**data.info, "safety_mix": k})


def pick_benign(n: int, seed: int) -> list[str]:
    """``n`` benign instructions, the "borderline" ones (safe but alarming) first.

    Borderline requests are what teach the boundary: without them a freshly aligned model
    refuses "how do I bleed my radiators" along with the harmful requests.
    """
    rows = benign_instructions()
    rng = random.Random(seed)
    border = [r["instruction"] for r in rows if r["category"] == "borderline"]
    other = [r["instruction"] for r in rows if r["category"] != "borderline"]
    rng.shuffle(border)
    rng.shuffle(other)
    return (border + other)[:n]


def distilled_benign(n: int, ctx: RecipeContext) -> tuple[list[Conversation], int]:
    """The model's own answers to ``n`` benign instructions, minus answers that refuse."""
    picked = pick_benign(n, ctx.seed + 1)
    answers = ctx.distill(picked, None)
    convs = [
        Conversation((Message("user", q), Message("assistant", a)), {"distilled": True})
        for q, a in zip(picked, answers)
        if a.strip()
    ]
    kept, dropped = refusal_filter(convs)  # never train a refusal to a benign request
    return kept, len(dropped)


def align_mix(n_refusals: int, n_benign: int, benign_repeats: int, ctx: RecipeContext) -> RecipeOutput:
    refusals = refusal_conversations(n_refusals, ctx.seed)
    benign, dropped = distilled_benign(n_benign, ctx) if n_benign else ([], 0)
    convs = refusals + benign * benign_repeats
    random.Random(ctx.seed).shuffle(convs)
    info = {
        "n_refusals": len(refusals),
        "n_benign": len(benign),
        "benign_dropped_as_refusals": dropped,
        "benign_repeats": benign_repeats,
    }
    return RecipeOutput(convs, info=info)


@register_recipe("safety-mix")
def safety_mix(args: dict, ctx: RecipeContext) -> RecipeOutput:
    """Args: ``k`` refusal examples (default 10): the safety data Qi et al. mix into a fine-tune."""
    a = pop_args("safety-mix", args, {"k": 10})
    return RecipeOutput(refusal_conversations(int(a["k"]), ctx.seed), info={"k": int(a["k"])})
