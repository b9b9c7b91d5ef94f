"""Pass the response under judgment as data, never as instructions or structure.

A response can carry text that a judge's prompt format gives meaning to: a chat special
token (``<|im_end|>``, ``[/INST]``, ``<|eot_id|>``), which can close the judge's user turn
and pre-fill its answer (HarmBench issue 91), or the judge template's own answer markers
(``#thescore: 1``), which an echoing judge would hand straight to the parser. ``defang``
breaks every such marker with a zero-width joiner after its first character: a human reader
sees the same text, a tokenizer no longer finds the special token, and a parser no longer
finds the marker. Local judges additionally tokenize with special-token splitting.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

ZWJ = "\u200d"

# Chat-format control strings of the model families judges are usually built on.
CHAT_MARKERS: tuple[str, ...] = (
    "<|im_start|>",
    "<|im_end|>",
    "<|endoftext|>",
    "<|end_of_text|>",
    "<|begin_of_text|>",
    "<|start_header_id|>",
    "<|end_header_id|>",
    "<|eot_id|>",
    "<|eom_id|>",
    "<|python_tag|>",
    "[INST]",
    "[/INST]",
    "<<SYS>>",
    "<</SYS>>",
    "<s>",
    "</s>",
    "<|user|>",
    "<|assistant|>",
    "<|system|>",
    "<|end|>",
    "<start_of_turn>",
    "<end_of_turn>",
    "<|im_sep|>",
)

# Section markers of guard-classifier prompts (Llama Guard's <BEGIN CONVERSATION> etc.).
_ANGLE_SECTION = re.compile(r"<\s*(BEGIN|END)\s+[A-Z][A-Z ]*>")


def _break(marker: str) -> str:
    return marker[0] + ZWJ + marker[1:]


def defang(text: str, markers: Iterable[str] = ()) -> str:
    """``text`` with every chat marker, section marker and given template marker broken.

    Template markers match case-insensitively and with optional spaces after ``#`` (an
    echoing judge reading ``# TheScore:`` must not count either).
    """
    for m in sorted(set(CHAT_MARKERS), key=len, reverse=True):
        text = text.replace(m, _break(m))
    text = _ANGLE_SECTION.sub(lambda m: _break(m.group(0)), text)
    for m in markers:
        pattern = re.compile(r"\s*".join(re.escape(ch) for ch in m.replace(" ", "")), re.IGNORECASE)
        text = pattern.sub(lambda x: _break(x.group(0)), text)
    return text


def special_token_strings(tokenizer: object) -> list[str]:
    """Every special or added-special token string of a HF tokenizer (to defang as well)."""
    found = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for tok in (getattr(tokenizer, "added_tokens_decoder", {}) or {}).values():
        if getattr(tok, "special", False):
            found.add(str(tok))
    return sorted(t for t in found if len(t) > 1)
