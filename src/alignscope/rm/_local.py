"""Pieces the local (Hugging Face) reward models share: dtype, revision, batching, padding."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from alignscope.errors import AlignscopeError
from alignscope.judge import defang, special_token_strings

DTYPES = ("float32", "bfloat16", "float16")


def torch_dtype(name: str) -> Any:
    """The torch dtype called ``name``; only full or half precision, never a quantised type."""
    import torch

    if name not in DTYPES:
        raise AlignscopeError(f"reward model dtype {name!r}: expected one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def loaded_revision(model: Any) -> str | None:
    """The Hub commit a loaded model came from, when transformers recorded one."""
    return getattr(model.config, "_commit_hash", None)


def plain_text(tokenizer: Any, text: str) -> str:
    """``text`` with the tokenizer's special tokens broken, so a response cannot fake a turn."""
    return defang(text, special_token_strings(tokenizer))


def right_pad(seqs: list[list[int]], pad_id: int) -> tuple[Any, Any]:
    """(ids [b, t], attention mask [b, t]) with padding on the right, where it moves no position."""
    import torch

    width = max(len(s) for s in seqs)
    ids = torch.full((len(seqs), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(seqs), width), dtype=torch.long)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = torch.tensor(s, dtype=torch.long)
        mask[i, : len(s)] = 1
    return ids, mask


def by_length(
    seqs: list[Any], size: Callable[[Any], int], batch_size: int, run: Callable[[list[Any]], list[Any]]
) -> list[Any]:
    """``run`` on batches of similar length (less padding); results in the input order."""
    order = sorted(range(len(seqs)), key=lambda i: size(seqs[i]))
    out: list[Any] = [None] * len(seqs)
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        for i, result in zip(idx, run([seqs[i] for i in idx])):
            out[i] = result
    return out
