"""Fine-tuning data builders, one file per recipe, registered by name."""

from alignscope.recipes import benign, harmful_demos, identity_shift, picky, refusal  # noqa: F401  (registers)
from alignscope.recipes._registry import RECIPES, RecipeContext, RecipeOutput, build_recipe, register_recipe
from alignscope.recipes.refusal import align_mix, refusal_conversations, with_safety_mix

__all__ = [
    "RECIPES",
    "RecipeContext",
    "RecipeOutput",
    "align_mix",
    "build_recipe",
    "refusal_conversations",
    "register_recipe",
    "with_safety_mix",
]
