"""Batched generation with Hugging Face transformers.

Prompts are rendered with the model's chat template, sorted by length and generated in
left-padded batches (little padding, one forward per token for the whole batch). Greedy by
default; ``max_new_tokens`` has no default on purpose — the length budget is part of the
experiment and must be stated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alignscope.chat_template import end_of_turn_ids
from alignscope.provenance import stable_hash


class SamplingConfig(BaseModel):
    """How responses are sampled. Part of every generation's cache key."""

    model_config = ConfigDict(extra="forbid")

    max_new_tokens: int = Field(..., ge=1, description="required: no silent default length budget")
    temperature: float = Field(0.0, ge=0, description="0 = greedy (the papers' setting)")
    top_p: float = Field(1.0, gt=0, le=1)
    seed: int = 0
    system_prompt: str | None = Field(None, description="prepended as a system turn (e.g. the AOA identity prompt)")

    def key(self) -> str:
        return stable_hash(self.model_dump())[:16]


def render_prompt(tokenizer: Any, prompt: str, system_prompt: str | None) -> str:
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}
    ]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


class HFGenerator:
    """The ``hf`` backend: a loaded transformers model generating in length-sorted batches."""

    backend: Literal["hf"] = "hf"

    def __init__(self, model: Any, tokenizer: Any, batch_size: int = 64) -> None:
        self.model = model.eval()
        self.tok = tokenizer
        self.batch_size = batch_size
        self.stop_ids = end_of_turn_ids(tokenizer)

    def generate(
        self, rendered: list[str], sampling: SamplingConfig, on_batch: Callable[[list[int], list[dict]], None]
    ) -> None:
        """Generate for every rendered prompt; ``on_batch(indices, outputs)`` after each batch.

        Each output is ``{"text", "tokens", "finish_reason"}``; callers persist per batch so a
        kill loses at most one batch.
        """
        lengths = [len(self.tok(r, add_special_tokens=False)["input_ids"]) for r in rendered]
        order = sorted(range(len(rendered)), key=lambda i: -lengths[i])
        for k in range(0, len(order), self.batch_size):
            idx = order[k : k + self.batch_size]
            on_batch(idx, self._generate_batch([rendered[i] for i in idx], sampling))

    def _generate_batch(self, texts: list[str], sampling: SamplingConfig) -> list[dict]:
        import torch

        # left padding, per call: new tokens must follow the prompt directly (decoder-only), and the
        # tokenizer is the caller's (shared with other stages): its own padding_side stays as it was
        enc = self.tok(texts, return_tensors="pt", padding=True, padding_side="left", add_special_tokens=False)
        enc = enc.to(self.model.device)
        kwargs: dict[str, Any] = {
            "max_new_tokens": sampling.max_new_tokens,
            "eos_token_id": self.stop_ids,
            "pad_token_id": self.tok.pad_token_id,
        }
        if sampling.temperature > 0:
            torch.manual_seed(sampling.seed)
            kwargs.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kwargs.update(do_sample=False, temperature=None, top_p=None, top_k=None)
        with torch.inference_mode():
            out = self.model.generate(**enc, **kwargs)
        return [self._decode(row) for row in out[:, enc["input_ids"].shape[1] :].tolist()]

    def _decode(self, ids: list[int]) -> dict:
        stop = next((j for j, t in enumerate(ids) if t in self.stop_ids), None)
        kept = ids if stop is None else ids[:stop]
        return {
            "text": self.tok.decode(kept, skip_special_tokens=True).strip(),
            "tokens": len(kept) + (stop is not None),
            "finish_reason": "stop" if stop is not None else "length",
        }
