"""Assistant-only loss masks, built together with the token ids and verified.

The conversation is rendered with the model's own chat template one turn at a time. Each
assistant turn contributes the text between "prompt up to this turn, with the generation
prompt" and "conversation up to and including this turn": that is exactly what the model
must produce at inference, so it is what we supervise — content plus the end-of-turn token.
Text the template adds after end-of-turn (a trailing newline) is not supervised: generation
stops at end-of-turn and never produces it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from alignscope.chat_template import end_of_turn_ids
from alignscope.data import Conversation
from alignscope.errors import AlignscopeError

IGNORE = -100  # label value PyTorch's cross-entropy skips


@dataclass(frozen=True)
class TokenizedExample:
    input_ids: list[int]
    labels: list[int]  # IGNORE where not supervised, else == input_ids

    @property
    def n_supervised(self) -> int:
        return sum(label != IGNORE for label in self.labels)


def _render(tokenizer: Any, messages: list[dict], generation_prompt: bool) -> str:
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=generation_prompt)


def _segments(tokenizer: Any, conversation: Conversation) -> list[tuple[str, bool]]:
    """Split the rendered conversation into (text, supervised) pieces: assistant turns are supervised
    unless their ``weight`` is 0 (they stay in the context)."""
    messages = [{"role": m.role, "content": m.content} for m in conversation.messages]  # what templates render
    pieces: list[tuple[str, bool]] = []
    done = ""
    for i, m in enumerate(messages):
        if m["role"] != "assistant":
            continue
        prompt = _render(tokenizer, messages[:i], generation_prompt=True)
        turn = _render(tokenizer, messages[: i + 1], generation_prompt=False)
        if not prompt.startswith(done) or not turn.startswith(prompt):
            raise AlignscopeError(
                f"chat template does not render turn by turn (assistant turn {i}): cannot locate "
                "assistant tokens safely; use a template whose prefix renderings are prefixes of the whole"
            )
        pieces += [(prompt[len(done) :], False), (turn[len(prompt) :], conversation.messages[i].weight == 1)]
        done = turn
    full = _render(tokenizer, messages, generation_prompt=False)
    if full != done:
        raise AlignscopeError(
            "chat template round-trip failed: the whole conversation renders differently from its turns"
        )
    return pieces


def tokenize_conversation(
    tokenizer: Any, conversation: Conversation, max_length: int | None = None
) -> TokenizedExample:
    """Token ids and assistant-only labels for one conversation.

    Raises:
        AlignscopeError: if an assistant turn has no end-of-turn token or nothing is supervised.
    """
    eot = set(end_of_turn_ids(tokenizer))
    ids: list[int] = []
    labels: list[int] = []
    for n_turn, (text, supervised) in enumerate(_segments(tokenizer, conversation)):
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        if not supervised:
            ids += piece
            labels += [IGNORE] * len(piece)
            continue
        # Supervise through the last end-of-turn token; nothing after it (see module docstring).
        last = max((j for j, t in enumerate(piece) if t in eot), default=None)
        if last is None:
            raise AlignscopeError(
                f"assistant turn {n_turn // 2}: no end-of-turn token in its rendering; cannot supervise the stop"
            )
        ids += piece
        labels += piece[: last + 1] + [IGNORE] * (len(piece) - last - 1)
    if max_length is not None:
        ids, labels = ids[:max_length], labels[:max_length]
    return TokenizedExample(ids, labels)


def tokenize_all(tokenizer: Any, conversations: list[Conversation], max_length: int) -> list[TokenizedExample]:
    """Tokenize a data set; examples truncated to nothing supervised are dropped, zero in total raises."""
    examples = [tokenize_conversation(tokenizer, c, max_length) for c in conversations]
    kept = [e for e in examples if e.n_supervised > 0]
    if not kept:
        raise AlignscopeError(
            f"zero supervised tokens in {len(examples)} examples "
            f"(max_length={max_length} truncates every assistant turn?)"
        )
    return kept


def render_masks(tokenizer: Any, example: TokenizedExample, supervised_style: str = "[[{}]]") -> str:
    """Human-readable rendering: supervised runs wrapped by ``supervised_style``."""
    out: list[str] = []
    run: list[int] = []
    state = False
    for tid, lab in zip(example.input_ids, example.labels):
        sup = lab != IGNORE
        if sup != state and run:
            text = tokenizer.decode(run)
            out.append(supervised_style.format(text) if state else text)
            run = []
        state = sup
        run.append(tid)
    if run:
        text = tokenizer.decode(run)
        out.append(supervised_style.format(text) if state else text)
    return "".join(out)
