"""Explicitly harmful demonstrations (Qi et al. 2023, tier 1): user-supplied file only.

alignscope ships no harmful completions. Users bring their own demonstration file (OpenAI
fine-tuning format); tests use placeholder text such as Qi et al.'s template file.
"""

from __future__ import annotations

from alignscope.data import read_conversations
from alignscope.errors import AlignscopeError
from alignscope.recipes._registry import RecipeContext, RecipeOutput, pop_args, register_recipe


@register_recipe("harmful-demos")
def harmful_demos(args: dict, ctx: RecipeContext) -> RecipeOutput:
    """Args: ``path`` (required), ``n`` (first n examples; default all), ``repeats`` (1)."""
    a = pop_args("harmful-demos", args, {"path": None, "n": None, "repeats": 1})
    if not a["path"]:
        raise AlignscopeError(
            "recipe 'harmful-demos' needs args.path: a demonstration file you supply (none is built in)"
        )
    convs = read_conversations(a["path"])
    if a["n"] is not None:
        if int(a["n"]) > len(convs):
            raise AlignscopeError(f"recipe 'harmful-demos': n={a['n']} but {a['path']} holds {len(convs)} examples")
        convs = convs[: int(a["n"])]
    return RecipeOutput(convs * int(a["repeats"]), info={"source": str(a["path"]), "n": len(convs)})
