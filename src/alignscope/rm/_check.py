"""The rm-eval validation pass: a config that will fail fails before any model loads or score is computed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alignscope.check import unwritable
from alignscope.errors import AlignscopeError
from alignscope.models import check_model_ref
from alignscope.registry import REGISTRY
from alignscope.rm._config import TEAM_SET, PairSetSpec, RMEvalConfig, resolve_ref

Problem = tuple[tuple[Any, ...], str]


def check_rm_eval(cfg: RMEvalConfig) -> list[str]:
    """Every problem of a reward-model evaluation config found without loading a model or scoring.

    Model references (``study:<study>:<key>`` ones resolved through that study's run), the pair
    sets (registered, the right kind, a local ``path`` that exists) and the output locations.
    """
    problems: list[Problem] = []
    for i, rm in enumerate(cfg.reward_models):
        for field in ("model", "policy", "reference"):
            ref = getattr(rm, field)
            if ref and (why := _rm_ref_problem(ref)):
                problems.append((("reward_models", i, field), why))
    for i, pairs in enumerate(cfg.datasets):
        problems += _pair_set(("datasets", i), pairs)
    for field, where in (("workspace", Path(cfg.workspace)), ("output_dir", cfg.out_dir)):
        if why := unwritable(where):
            problems.append(((field,), why))
    return [f"{'.'.join(map(str, loc))}: {msg}" for loc, msg in problems]


def require_valid_rm_eval(cfg: RMEvalConfig, source: Path | None = None) -> None:
    """Raise one AlignscopeError listing every problem of an rm-eval config (one per line), if any."""
    problems = check_rm_eval(cfg)
    if problems:
        where = f"{source}: " if source else ""
        head = f"{len(problems)} problem{'s' * (len(problems) > 1)} in the rm-eval config; nothing was run:\n"
        raise AlignscopeError(head + "\n".join(where + p for p in problems))


def _rm_ref_problem(ref: str) -> str | None:
    try:
        path = resolve_ref(ref)
    except AlignscopeError as e:
        return str(e)
    return check_model_ref(path)


def _pair_set(loc: tuple[Any, ...], spec: PairSetSpec) -> list[Problem]:
    entry = REGISTRY.get(spec.name)
    if spec.name != TEAM_SET and entry is None:
        return [(loc, f"preference set {spec.name!r}: not registered (see `alignscope data list`)")]
    if entry is not None and entry.kind != "preference":
        return [(loc, f"preference set {spec.name!r}: a {entry.kind} set, not preference pairs")]
    if spec.path and not spec.optional and not Path(spec.path).expanduser().exists():
        return [((*loc, "path"), f"{spec.path}: not found")]
    return []
