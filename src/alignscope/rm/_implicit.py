"""Implicit reward models: a causal LM's log-likelihood of the response (Rafailov et al. 2023).

``dpo``:  r = beta * (sum log pi(y | x) - sum log pi_ref(y | x)), the reward a DPO-trained
policy implies against its reference. ``sum``: sum log pi(y | x), reference-free. ``mean``:
that sum divided by the number of response tokens (no length advantage for short answers).

Only response tokens are scored, and they are exactly the tokens supervised fine-tuning
supervises (``train._masking.tokenize_conversation``: the content plus the end-of-turn
token), so the RM reads the same conversation the model was trained and sampled on. The
prompt's tokens must be a prefix of the whole conversation's, or scoring fails loudly: a
template that does not round-trip would silently score the wrong tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from alignscope.data import Conversation, Message, Verdict
from alignscope.errors import AlignscopeError
from alignscope.models import chat_template_hash, fingerprint, load_model, load_tokenizer, resolve_model
from alignscope.provenance import stable_hash
from alignscope.rm._local import by_length, plain_text, right_pad, torch_dtype
from alignscope.train import IGNORE, tokenize_conversation

Variant = Literal["dpo", "sum", "mean"]
CPU_NOTE = (
    "on CPU the natural use is an aligned organism (policy) against its base SmolLM2 "
    "(reference): the organism's own implicit RM"
)


@dataclass(frozen=True)
class Scored:
    """Token ids of one conversation; ``ids[start:]`` are the scored response tokens."""

    ids: list[int]
    start: int


def response_tokens(tokenizer: Any, prompt: str, response: str) -> Scored:
    """The conversation's ids up to the response's end-of-turn, and where the response starts.

    Raises:
        AlignscopeError: If the chat template does not round-trip (the prompt's tokens are
            not a prefix of the whole conversation's) or the turn has no end-of-turn token.
    """
    conv = Conversation((Message("user", prompt), Message("assistant", response)))
    ex = tokenize_conversation(tokenizer, conv)
    scored = [i for i, label in enumerate(ex.labels) if label != IGNORE]  # one contiguous run: content + end-of-turn
    start, end = scored[0], scored[-1] + 1
    whole = tokenizer(tokenizer.apply_chat_template(conv.as_dicts(), tokenize=False), add_special_tokens=False)[
        "input_ids"
    ]
    if whole[:start] != ex.input_ids[:start]:
        raise AlignscopeError(
            "chat template does not round-trip: the prompt's tokens are not a prefix of the "
            "whole conversation's, so the response tokens cannot be located safely"
        )
    return Scored(ex.input_ids[:end], start)


def sum_logprobs(model: Any, batch: list[Scored], pad_id: int) -> list[tuple[float, int]]:
    """(sum of log p of the response tokens given everything before them, their count) per item."""
    import torch

    ids, mask = right_pad([s.ids for s in batch], pad_id)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)  # explicit, so any padding side gives the same positions
    with torch.no_grad():
        logits = model(input_ids=ids, attention_mask=mask, position_ids=positions).logits  # [b, t, vocab]
    # logits at t predict token t + 1
    logp = torch.log_softmax(logits[:, :-1].float(), -1).gather(-1, ids[:, 1:, None]).squeeze(-1)  # [b, t-1]
    target = torch.arange(1, ids.shape[1])[None, :]  # index of the token each logp is for
    start = torch.tensor([s.start for s in batch])[:, None]
    scored = (target >= start) & (mask[:, 1:] == 1)  # response tokens only; prompt and padding excluded
    sums = torch.where(scored, logp, torch.zeros_like(logp)).double().sum(-1)
    return [(float(s), int(n)) for s, n in zip(sums, scored.sum(-1))]


class ImplicitRewardRM:
    """A causal LM (and, for ``dpo``, its reference) used as a reward model.

    Args:
        policy: The (aligned) model: built-in name, local dir, adapter dir or Hub id.
        reference: The reference model for ``dpo`` (e.g. the base); must be None otherwise.
        variant: ``dpo``, ``sum`` or ``mean`` (see module docstring).
        beta: Scale of the ``dpo`` reward (unused by ``sum``/``mean``).
        batch_size: Conversations per forward pass; logits take batch x length x vocab x 4 bytes.
        max_length: Tokens kept per conversation; the prompt's start is cut first.
        dtype: ``float32`` (exact) or ``bfloat16``/``float16``.
        cache_dir: Workspace cache (for built-in model references).
    """

    kind = "reward"

    def __init__(
        self,
        policy: str,
        reference: str | None = None,
        variant: Variant = "dpo",
        beta: float = 1.0,
        batch_size: int = 8,
        max_length: int = 4096,
        dtype: str = "float32",
        cache_dir: str | Path = ".alignscope",
    ) -> None:
        if variant not in ("dpo", "sum", "mean"):
            raise AlignscopeError(f"implicit reward variant {variant!r}: expected dpo, sum or mean")
        if (variant == "dpo") != (reference is not None):
            raise AlignscopeError(
                f"implicit reward {variant!r}: "
                + ("needs a reference model" if variant == "dpo" else "is reference-free; drop `reference`")
            )
        torch_dtype(dtype)
        self.variant, self.beta, self.batch_size, self.max_length, self.dtype = (
            variant,
            beta,
            batch_size,
            max_length,
            dtype,
        )
        self.policy = resolve_model(policy, cache_dir)
        self.reference = resolve_model(reference, cache_dir) if reference else None
        self.tok = load_tokenizer(self.policy)
        self._check_tokenizers()
        self.n_truncated = 0  # conversations whose prompt start was cut by this instance
        self.key = f"rm-implicit:{stable_hash(self._ident())[:12]}"
        self._models: list[Any] = []

    def _check_tokenizers(self) -> None:
        response_tokens(self.tok, "Hello.", "Hi.")  # a template that does not round-trip fails here, loudly
        if self.reference is not None and load_tokenizer(self.reference).get_vocab() != self.tok.get_vocab():
            raise AlignscopeError(
                f"implicit reward: {self.policy.ref!r} and {self.reference.ref!r} have different "
                "vocabularies; log-probabilities of the same tokens cannot be compared"
            )

    def _ident(self) -> dict:
        return {
            "variant": self.variant,
            "beta": self.beta if self.variant == "dpo" else None,
            "policy": fingerprint(self.policy),
            "reference": fingerprint(self.reference) if self.reference else None,
            "template": chat_template_hash(self.tok),
            "max_length": self.max_length,
            "dtype": self.dtype,
        }

    def describe(self) -> dict:
        """Provenance: what produced these scores."""
        ident = self._ident()
        return {
            "key": self.key,
            "kind": "implicit",
            "variant": self.variant,
            "beta": ident["beta"],
            "model": self.policy.ref,
            "revision": ident["policy"],
            "reference": self.reference.ref if self.reference else None,
            "reference_revision": ident["reference"],
            "chat_template_sha256": ident["template"],
            "max_length": self.max_length,
            "dtype": self.dtype,
            "n_truncated": self.n_truncated,
            "scored_tokens": "response content + end-of-turn (the SFT-supervised tokens)",
            "batch_size": self.batch_size,
            "note": CPU_NOTE,
        }

    def _load(self) -> list[Any]:
        if not self._models:
            for ref in [self.policy] + ([self.reference] if self.reference else []):
                model, _ = load_model(ref, dtype=torch_dtype(self.dtype))
                self._models.append(model.eval())
        return self._models

    def encode(self, prompt: str, response: str) -> Scored:
        """The scored conversation, its prompt cut from the left to fit ``max_length``.

        Raises:
            AlignscopeError: If the response alone does not fit (it would be scored in part).
        """
        s = response_tokens(self.tok, plain_text(self.tok, prompt), plain_text(self.tok, response))
        cut = len(s.ids) - self.max_length
        if cut <= 0:
            return s
        if cut >= s.start:  # at least one prompt token must stay to condition the first response token
            raise AlignscopeError(
                f"response has {len(s.ids) - s.start} tokens; max_length={self.max_length} cannot hold it"
            )
        self.n_truncated += 1
        return Scored(s.ids[cut:], s.start - cut)

    def reward(self, logps: list[tuple[float, int]]) -> float:
        """The variant's reward from (sum log p, n tokens) of the policy (and the reference)."""
        (total, n), *ref = logps
        if self.variant == "dpo":
            return self.beta * (total - ref[0][0])
        return total if self.variant == "sum" else total / n

    def _score(self, batch: list[Scored]) -> list[float]:
        per_model = [sum_logprobs(m, batch, self.tok.pad_token_id) for m in self._load()]
        return [self.reward(list(logps)) for logps in zip(*per_model)]

    def judge_batch(self, items: list[tuple[str, str, str]]) -> list[Verdict]:
        encoded: dict[int, Scored] = {}
        errors: dict[int, str] = {}
        for i, (_, p, r) in enumerate(items):
            try:
                encoded[i] = self.encode(p, r)
            except AlignscopeError as e:  # this item fails; the others are still scored
                errors[i] = f"AlignscopeError: {e}"
        keys = list(encoded)
        scores = dict(
            zip(keys, by_length([encoded[k] for k in keys], lambda s: len(s.ids), self.batch_size, self._score))
        )
        return [
            Verdict(gid, self.key, None, None, error=errors[i])
            if i in errors
            else Verdict(gid, self.key, scores[i], None, raw=f"reward={scores[i]:.6g}")
            for i, (gid, _, _) in enumerate(items)
        ]
