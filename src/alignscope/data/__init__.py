"""Typed records, file readers and the built-in data sets."""

from alignscope.data._builtin import (
    BUILTIN_PROMPT_SETS,
    benign_instructions,
    builtin_prompts,
    identity_shift_template,
    refusal_examples,
)
from alignscope.data._readers import read_conversations, read_prompts
from alignscope.data._schema import Conversation, EvalPrompt, Generation, Message, PreferencePair, Verdict

__all__ = [
    "BUILTIN_PROMPT_SETS",
    "Conversation",
    "EvalPrompt",
    "Generation",
    "Message",
    "PreferencePair",
    "Verdict",
    "benign_instructions",
    "builtin_prompts",
    "identity_shift_template",
    "read_conversations",
    "read_prompts",
    "refusal_examples",
]
