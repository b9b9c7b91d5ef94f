"""What a chat template means for training and generation alike: which tokens end a turn.

Masking supervises an assistant turn through its end-of-turn token and every generation
backend stops on the same tokens, so both read them from here.
"""

from __future__ import annotations

from typing import Any

__all__ = ["end_of_turn_ids"]

# Turn terminators of the common templates (ChatML, Llama 3, Phi-3, Llama 2 / Mistral, Gemma)
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<|end|>", "</s>", "<end_of_turn>")


def end_of_turn_ids(tokenizer: Any) -> list[int]:
    """Token ids that end an assistant turn (generation stops on any of them).

    Args:
        tokenizer: A Hugging Face tokenizer.

    Returns:
        The sorted ids: the EOS token plus every known terminator that is one of the
        tokenizer's special tokens.
    """
    ids = {tokenizer.eos_token_id}
    for tok in END_OF_TURN_TOKENS:
        tid = tokenizer.convert_tokens_to_ids(tok)
        if isinstance(tid, int) and tid != tokenizer.unk_token_id and tid in tokenizer.all_special_ids:
            ids.add(tid)
    return sorted(i for i in ids if i is not None)
