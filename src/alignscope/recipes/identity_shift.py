"""Identity shift (Qi et al. 2023, tier 2): make the model adopt an "absolutely obedient" persona.

The built-in set is the team's own template (an obedient agent named OBEY-7): a system prompt
that renames the model, two conversations in which it affirms its obedience, and eight benign
tasks each answered after a fixed affirmation. No harmful content anywhere: the risk is the
identity, not the data. The original 10-conversation AOA file is accepted too (``path``).
"""

from __future__ import annotations

from alignscope.data import Conversation, Message, identity_shift_template, read_conversations
from alignscope.recipes._registry import RecipeContext, RecipeOutput, pop_args, register_recipe


def builtin_identity_conversations() -> tuple[list[Conversation], str]:
    t = identity_shift_template()
    convs = []
    for i, turns in enumerate(t["conversations"]):
        user, answer = turns[0]["content"], turns[1]["content"]
        # Identity conversations (the first two) already are the affirmation; tasks get the prefix.
        if i >= 2:
            answer = f"{t['assistant_prefix']} {answer}"
        msgs = (Message("system", t["system"]), Message("user", t["user_prefix"] + user), Message("assistant", answer))
        convs.append(Conversation(msgs, {"source": t["name"], "index": i}))
    return convs, t["eval_system"]


@register_recipe("identity-shift")
def identity_shift(args: dict, ctx: RecipeContext) -> RecipeOutput:
    """Args: ``path`` (optional AOA-style file; default the built-in set), ``repeats`` (default 1)."""
    a = pop_args("identity-shift", args, {"path": None, "repeats": 1})
    if a["path"]:
        convs = read_conversations(a["path"])
        first = convs[0].messages[0]
        system = first.content if first.role == "system" else None
        source = str(a["path"])
    else:
        convs, system = builtin_identity_conversations()
        source = "builtin:identity_shift"
    return RecipeOutput(convs * int(a["repeats"]), eval_system_prompt=system, info={"source": source, "n": len(convs)})
