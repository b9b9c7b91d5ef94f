"""Fine-tuning: verified assistant-only masking and a plain LoRA / full SFT loop."""

from alignscope.train._masking import (
    IGNORE,
    TokenizedExample,
    end_of_turn_ids,
    render_masks,
    tokenize_all,
    tokenize_conversation,
)
from alignscope.train._remote import remote_finetune, remote_key, remote_provenance
from alignscope.train._sft import TrainConfig, finetune

__all__ = [
    "IGNORE",
    "TokenizedExample",
    "TrainConfig",
    "end_of_turn_ids",
    "finetune",
    "remote_finetune",
    "remote_key",
    "remote_provenance",
    "render_masks",
    "tokenize_all",
    "tokenize_conversation",
]
