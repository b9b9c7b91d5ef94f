"""A sequence-classifier reward model: a scalar head on a transformer (Skywork, ArmoRM style).

The input is the RM tokenizer's chat template applied to [user prompt, assistant response],
tokenized as is. Inputs longer than ``max_length`` lose their *start* (left truncation): the
response, which is what is being scored, sits at the end. The reward is the single output
logit, or ``logit[1] - logit[0]`` for a two-label head. A quantised checkpoint is refused:
its scores are not the model's scores, and the study compares models, not quantisations.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from alignscope.data import Verdict
from alignscope.errors import AlignscopeError
from alignscope.models import ResolvedModel, chat_template_hash, fingerprint, load_tokenizer, resolve_model
from alignscope.provenance import stable_hash
from alignscope.rm._local import by_length, loaded_revision, plain_text, right_pad, torch_dtype

SHORT_CONTEXT = 2048  # below this, long safety responses start losing their prompt


def checked_config(resolved: ResolvedModel) -> Any:
    """The model's config, after refusing quantisation and heads that are not a scalar reward.

    Raises:
        AlignscopeError: For a quantised checkpoint, or ``num_labels`` other than 1 or 2.
    """
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(resolved.path)
    quant = getattr(config, "quantization_config", None)
    if quant:
        q = quant if isinstance(quant, dict) else quant.to_dict()
        bits = "8-bit" if q.get("load_in_8bit") else "4-bit" if q.get("load_in_4bit") else q.get("bits", "?")
        raise AlignscopeError(
            f"reward model {resolved.ref!r}: its config asks for "
            f"{q.get('quant_method', 'unknown')} quantisation ({bits}); "
            "alignscope never quantises a reward model (scores would not be the model's). "
            "Use an unquantised checkpoint."
        )
    if config.num_labels not in (1, 2):
        raise AlignscopeError(
            f"reward model {resolved.ref!r}: {config.num_labels} output labels; expected 1 (a reward) or 2"
        )
    return config


class SequenceClassifierRM:
    """A local ``AutoModelForSequenceClassification`` reward model.

    Args:
        model: Local model directory or Hub id.
        max_length: Tokens kept per input (the end is kept); memory grows with it.
        dtype: ``float32`` (exact, 2x the memory) or ``bfloat16``/``float16`` (faster on GPU).
        batch_size: Inputs per forward pass; a speed/memory knob that does not change scores.
        cache_dir: Workspace cache (for built-in model references).
    """

    kind = "reward"

    def __init__(
        self,
        model: str,
        max_length: int = 4096,
        dtype: str = "float32",
        batch_size: int = 8,
        cache_dir: str | Path = ".alignscope",
    ) -> None:
        self.resolved = resolve_model(model, cache_dir)
        if self.resolved.kind == "adapter":
            raise AlignscopeError(f"reward model {model!r}: an adapter; merge it into its base first")
        self.config = checked_config(self.resolved)
        self.tok = load_tokenizer(self.resolved)
        torch_dtype(dtype)  # fail on a bad name now, not at the first batch
        if max_length < SHORT_CONTEXT:
            warnings.warn(
                f"reward model {model!r}: max_length={max_length} < {SHORT_CONTEXT}; long inputs lose their "
                "start (see describe()['n_truncated'])",
                UserWarning,
                stacklevel=2,
            )
        self.max_length, self.dtype, self.batch_size = max_length, dtype, batch_size
        self.revision = fingerprint(self.resolved)  # weights sha256; hub:<id> for a Hub id
        self.n_truncated = 0  # inputs cut to max_length by this instance (cached scores are not recounted)
        # batch_size is left out: scores do not depend on it (tested), so sizes share cache rows
        ident = {
            "model": self.revision,
            "template": chat_template_hash(self.tok),
            "max_length": max_length,
            "dtype": dtype,
            "reward": self.reward_rule,
            "truncation": "left",
        }
        self.key = f"rm-seqcls:{stable_hash(ident)[:12]}"
        self._model: Any = None

    @property
    def reward_rule(self) -> str:
        return "logit" if self.config.num_labels == 1 else "logit[1] - logit[0] (two-label head)"

    def describe(self) -> dict:
        """Provenance: what produced these scores."""
        rev = loaded_revision(self._model) if self._model is not None else None
        return {
            "key": self.key,
            "kind": "sequence-classifier",
            "model": self.resolved.ref,
            "revision": rev or self.revision,
            "chat_template_sha256": chat_template_hash(self.tok),
            "max_length": self.max_length,
            "truncation": "left (keeps the response)",
            "dtype": self.dtype,
            "n_truncated": self.n_truncated,
            "reward": self.reward_rule,
            "batch_size": self.batch_size,
        }

    def _load(self) -> Any:
        if self._model is None:
            from transformers import AutoModelForSequenceClassification

            self._model = AutoModelForSequenceClassification.from_pretrained(
                self.resolved.path, dtype=torch_dtype(self.dtype)
            )
            self._model.eval()
            if self._model.config.pad_token_id is None:  # the head pools the last token that is not padding
                self._model.config.pad_token_id = self.tok.pad_token_id
        return self._model

    def encode(self, prompt: str, response: str) -> tuple[list[int], bool]:
        """(token ids, whether they were cut): the chat-templated conversation, left-truncated."""
        conv = [
            {"role": "user", "content": plain_text(self.tok, prompt)},
            {"role": "assistant", "content": plain_text(self.tok, response)},
        ]
        text = self.tok.apply_chat_template(conv, tokenize=False)
        ids = self.tok(text, add_special_tokens=False)["input_ids"]  # the template already holds BOS if any
        return ids[-self.max_length :], len(ids) > self.max_length

    def rewards(self, seqs: list[list[int]]) -> list[float]:
        """One reward per token sequence, one forward pass (right padding, so no position moves)."""
        import torch

        model = self._load()
        ids, mask = right_pad(seqs, model.config.pad_token_id)
        with torch.no_grad():
            logits = model(input_ids=ids, attention_mask=mask).logits.float()  # [b, num_labels]
        reward = logits[:, 0] if logits.shape[1] == 1 else logits[:, 1] - logits[:, 0]
        return reward.tolist()

    def judge_batch(self, items: list[tuple[str, str, str]]) -> list[Verdict]:
        encoded = [self.encode(p, r) for _, p, r in items]
        self.n_truncated += sum(cut for _, cut in encoded)
        scores = by_length([ids for ids, _ in encoded], len, self.batch_size, self.rewards)
        return [
            Verdict(gid, self.key, s, None, raw=f"reward={s:.6g}" + (" (truncated)" if cut else ""))
            for (gid, _, _), s, (_, cut) in zip(items, scores, encoded)
        ]
