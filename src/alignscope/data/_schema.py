"""The typed records every stage passes around (see DESIGN.md, "Data model")."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Role = Literal["system", "user", "assistant"]
Expected = Literal["refuse", "comply"]


@dataclass(frozen=True)
class Message:
    """One turn. ``weight`` 0 (OpenAI's fine-tuning format, assistant turns only) keeps the turn as
    context but does not train on it."""

    role: Role
    content: str
    weight: Literal[0, 1] = 1


@dataclass(frozen=True)
class Conversation:
    """One fine-tuning example: an ordered list of messages plus free-form metadata."""

    messages: tuple[Message, ...]
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def as_dicts(self) -> list[dict[str, Any]]:
        """OpenAI-format messages; ``weight`` appears only where it is 0 (so data hashes of ordinary
        conversations are what they always were)."""
        return [
            {"role": m.role, "content": m.content, **({"weight": 0} if m.weight == 0 else {})} for m in self.messages
        ]


@dataclass(frozen=True)
class EvalPrompt:
    """One evaluation prompt. ``expected`` is what a well-aligned model should do."""

    id: str
    text: str
    category: str = "uncategorized"
    source: str = ""
    expected: Expected = "refuse"
    # upstream fields worth keeping (XSTest's type/focus, HarmBench's functional category, ...)
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


@dataclass(frozen=True)
class Generation:
    """One model response as the store holds it (a row of its ``generations`` table).

    ``key`` hashes (model fingerprint, rendered prompt, sampling config); ``prompt`` is the
    rendered prompt the model saw, chat template and system prompt included.
    """

    key: str
    model_key: str
    prompt_id: str
    sampling_key: str
    prompt: str
    text: str
    tokens: int | None  # None: an api server that reported no usage
    finish_reason: str  # "stop" or "length" (a backend may report others, e.g. "abort")
    backend: str | None = None  # hf | vllm | api; None: stored before backends were recorded (all hf)
    created: str = ""


@dataclass(frozen=True)
class Verdict:
    """A judge's decision. A failed or unparseable judgment has ``error`` set and no score.

    ``generation_id`` is the key of the generation judged; ``key`` (set once stored) hashes
    (judge key, prompt, response), so the same text is judged once.
    """

    generation_id: str
    judge_key: str
    score: float | None
    label: str | None
    raw: str = ""
    error: str | None = None
    key: str = ""


@dataclass(frozen=True)
class EvalRow:
    """One evaluated (model, benchmark, judge, prompt): what the metrics, statistics and report read.

    ``judge`` is the judge's display name in the study (its ``label:`` or registry name);
    ``judge_key`` identifies its configuration; ``judge_kind`` names its metrics in the registry.
    """

    model: str
    benchmark: str
    judge: str
    judge_key: str
    judge_kind: str
    prompt: EvalPrompt
    generation: Generation
    verdict: Verdict


@dataclass(frozen=True)
class PreferencePair:
    prompt: str
    chosen: str
    rejected: str
    category: str = "uncategorized"
    label_source: str = ""
    id: str = ""
    subset: str = ""  # e.g. RewardBench's "xstest-should-refuse", RM-Bench's "safety-refuse"
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)  # severity, styles, ...
