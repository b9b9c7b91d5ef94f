"""Fine-tuning: verified assistant-only masking, a plain LoRA / full SFT loop, and how it is launched."""

from alignscope.train._launch import LaunchConfig
from alignscope.train._masking import (
    IGNORE,
    TokenizedExample,
    render_masks,
    tokenize_all,
    tokenize_conversation,
)
from alignscope.train._remote import remote_finetune, remote_key, remote_provenance
from alignscope.train._sft import TrainConfig, finetune

__all__ = [
    "IGNORE",
    "LaunchConfig",
    "TokenizedExample",
    "TrainConfig",
    "finetune",
    "remote_finetune",
    "remote_key",
    "remote_provenance",
    "render_masks",
    "tokenize_all",
    "tokenize_conversation",
]
