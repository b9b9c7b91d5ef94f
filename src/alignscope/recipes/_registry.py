"""Recipe registry: a plain dict filled by a decorator. Adding a recipe is one small file."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignscope.data import Conversation
from alignscope.errors import AlignscopeError

# distill(instructions, system_prompt) -> the model-being-tuned's own answers, same order
Distill = Callable[[list[str], "str | None"], list[str]]


@dataclass
class RecipeContext:
    seed: int
    distill: Distill
    workspace: Path | None = None  # where registry sets fetched with `alignscope data fetch` are cached


@dataclass
class RecipeOutput:
    conversations: list[Conversation]
    eval_system_prompt: str | None = None  # e.g. the identity prompt the tuned model is evaluated with
    info: dict[str, Any] = field(default_factory=dict)  # counts worth reporting (dropped rows, sources)


Recipe = Callable[[dict[str, Any], RecipeContext], RecipeOutput]
RECIPES: dict[str, Recipe] = {}


def register_recipe(name: str) -> Callable[[Recipe], Recipe]:
    def deco(fn: Recipe) -> Recipe:
        RECIPES[name] = fn
        return fn

    return deco


def build_recipe(name: str, args: dict[str, Any], ctx: RecipeContext) -> RecipeOutput:
    if name not in RECIPES:
        raise AlignscopeError(f"unknown recipe {name!r}; available: {', '.join(sorted(RECIPES))}")
    return RECIPES[name](dict(args), ctx)


def pop_args(name: str, args: dict[str, Any], allowed: dict[str, Any]) -> dict[str, Any]:
    """Recipe args with defaults filled in; unknown keys, and values of another type than their
    default's (``n: ten``), are errors, not silently ignored or failing later."""
    unknown = set(args) - set(allowed)
    if unknown:
        raise AlignscopeError(f"recipe {name!r}: unknown argument(s) {sorted(unknown)}; expected {sorted(allowed)}")
    for key, value in args.items():
        if (want := _type_name(allowed[key], value)) is not None:
            raise AlignscopeError(f"recipe {name!r}: argument {key}: expected {want}, got {value!r}")
    return {**allowed, **args}


def _type_name(default: Any, value: Any) -> str | None:
    """What ``value`` should have been, given the argument's default; None when it fits (or anything goes)."""
    if default is None or value is None:
        return None
    if isinstance(default, bool):
        return None if isinstance(value, bool) else "true or false"
    if isinstance(default, int):
        return None if isinstance(value, int) and not isinstance(value, bool) else "an integer"
    if isinstance(default, float):
        return None if isinstance(value, (int, float)) and not isinstance(value, bool) else "a number"
    if isinstance(default, str):
        return None if isinstance(value, str) else "a string"
    if isinstance(default, (list, tuple)):
        return None if isinstance(value, (list, tuple)) else "a list"
    return None
