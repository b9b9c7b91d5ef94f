"""The workspace every command caches in: one SQLite store plus trained-model artifacts, and the
models a study evaluates."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignscope.models import ResolvedModel
from alignscope.store import Store


@dataclass
class Workspace:
    """The shared cache: SQLite store (generations, verdicts) plus trained-model artifacts."""

    root: Path

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.store = Store(self.root / "alignscope.sqlite")

    def artifact(self, name: str, key: str) -> Path:
        """Where a trained model named ``name`` with cache key ``key`` lives."""
        return self.root / "artifacts" / f"{name}-{key[:16]}"


@dataclass
class ModelEntry:
    """One model of a study: the base, the aligned model, or a fine-tune (a grid cell too).

    Attributes:
        key: Unique name in the study (``base``, ``aligned``, ``aoa[epochs=6]``).
        label: Display name.
        resolved: Where its weights (or its API name) are.
        parent: The key of the model it was fine-tuned from.
        recipe: The recipe that built its training data.
        eval_system_prompt: A system prompt its evaluation uses (e.g. the AOA identity's).
        info: What the recipe reported (counts, provenance).
        grid: ``{"name", "params", "seed"}`` for a grid cell.
    """

    key: str
    label: str
    resolved: ResolvedModel
    parent: str | None = None
    recipe: str | None = None
    eval_system_prompt: str | None = None
    info: dict[str, Any] = field(default_factory=dict)
    grid: dict[str, Any] | None = None
