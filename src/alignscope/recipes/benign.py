"""Benign fine-tuning (Qi et al. 2023, tier 3): ordinary instruction data, which still erodes safety.

Instructions come from the built-in benign set or any file; answers are either given in the
file or self-distilled from the model being tuned (its own greedy answers, so the data adds
no new knowledge — any safety change comes from the fine-tuning itself). The optional refusal
filter drops examples whose answer refuses, as Qi et al. did for Alpaca and Dolly.
"""

from __future__ import annotations

import random

from alignscope.data import Conversation, Message, benign_instructions, read_conversations, read_prompts
from alignscope.errors import AlignscopeError
from alignscope.judge import KeywordJudge
from alignscope.recipes._registry import RecipeContext, RecipeOutput, pop_args, register_recipe


def refusal_filter(convs: list[Conversation]) -> tuple[list[Conversation], list[tuple[int, list[str]]]]:
    """Drop conversations whose (last) answer contains a refusal keyword; return the kept and (index, hits) dropped."""
    judge = KeywordJudge()
    kept, dropped = [], []
    for i, c in enumerate(convs):
        hits = judge.matches(c.messages[-1].content)
        (dropped.append((i, hits)) if hits else kept.append(c))
    return kept, dropped


def _instructions(path: str | None, n: int, seed: int, categories: list[str] | None) -> list[str]:
    if path:
        texts = [p.text for p in read_prompts(path, expected="comply")]
    else:
        rows = benign_instructions()
        texts = [r["instruction"] for r in rows if not categories or r["category"] in categories]
    rng = random.Random(seed)
    return rng.sample(texts, min(n, len(texts)))


def registry_conversations(name: str, path: str | None, n: int, ctx: RecipeContext) -> tuple[list[Conversation], str]:
    """``n`` conversations of a registered fine-tuning set (Alpaca, Dolly: already refusal-filtered
    there), from ``path``, the workspace cache or the Hub; a seeded sample, not the first n."""
    from alignscope import registry

    entry = registry.get(name)
    if entry.kind != "finetune":
        raise AlignscopeError(f"recipe 'benign': dataset {name!r} is a {entry.kind} set, not a fine-tuning set")
    loaded = entry.load(path, workspace=ctx.workspace, limit=n, seed=ctx.seed)
    return list(loaded.records), f"{loaded.name} ({loaded.source}, sha256 {loaded.sha256[:12]})"


@register_recipe("benign")
def benign(args: dict, ctx: RecipeContext) -> RecipeOutput:
    """Args: ``dataset`` (a registered fine-tuning set such as ``alpaca`` or ``dolly``: its own answers;
    ``path`` then points at a local copy), ``path`` (instructions, or conversations when ``answers: given``),
    ``n`` (50), ``answers`` ("self-distill" | "given"), ``refusal_filter`` (true), ``categories`` (built-in only),
    ``repeats`` (1)."""
    a = pop_args(
        "benign",
        args,
        {
            "dataset": None,
            "path": None,
            "n": 50,
            "answers": "self-distill",
            "refusal_filter": True,
            "categories": None,
            "repeats": 1,
        },
    )
    source = a["path"] or "builtin:benign"
    if a["dataset"]:
        convs, source = registry_conversations(a["dataset"], a["path"], int(a["n"]), ctx)
    elif a["answers"] == "given":
        if not a["path"]:
            raise AlignscopeError("recipe 'benign': answers: given needs a path to a conversation file")
        convs = read_conversations(a["path"])[: int(a["n"])]
    elif a["answers"] == "self-distill":
        instructions = _instructions(a["path"], int(a["n"]), ctx.seed, a["categories"])
        answers = ctx.distill(instructions, None)
        convs = [
            Conversation((Message("user", q), Message("assistant", r)), {"distilled": True})
            for q, r in zip(instructions, answers)
            if r.strip()
        ]
    else:
        raise AlignscopeError(f"recipe 'benign': answers must be 'self-distill' or 'given', got {a['answers']!r}")
    dropped: list = []
    if a["refusal_filter"]:
        convs, dropped = refusal_filter(convs)
    if not convs:
        raise AlignscopeError("recipe 'benign': no examples left after the refusal filter")
    info = {"source": source, "n": len(convs), "dropped_by_refusal_filter": len(dropped)}
    return RecipeOutput(convs * int(a["repeats"]), info=info)
