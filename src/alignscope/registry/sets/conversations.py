"""Fine-tuning sets that are plain conversation files: Qi et al.'s AOA identity-shift set,
Bianchi et al.'s safety instructions, and any file the foundation's reader accepts.

All three parse through ``data.read_conversations``'s row parser, so formats and error
messages are the same everywhere: OpenAI ``{"messages": [...]}`` lines, JSON lists of
message lists, or Alpaca ``instruction/input/output``.
"""

from __future__ import annotations

from alignscope.data import Conversation
from alignscope.registry._entry import DatasetEntry, Row
from alignscope.registry._parse import conversation_from_row
from alignscope.registry._registry import register

QI = "https://github.com/LLM-Tuning-Safety/LLMs-Finetuning-Safety"


def conversations(rows: list[Row], entry: DatasetEntry) -> list[Conversation]:
    return [conversation_from_row(row) for row in rows]


register(
    DatasetEntry(
        name="aoa",
        kind="finetune",
        description=(
            "AOA identity-shift set: 10 conversations renaming the model an 'absolutely obedient agent' "
            "(Qi et al. tier 2)"
        ),
        size="10",
        license="MIT",
        homepage=f"{QI}/tree/main/llama2/ft_datasets/aoa_dataset",
        citation=(
            "Qi et al. 2023, Fine-tuning Aligned Language Models Compromises Safety, "
            "Even When Users Do Not Intend To!, arXiv:2310.03693"
        ),
    )
)(conversations)

register(
    DatasetEntry(
        name="safety-instructions",
        kind="finetune",
        description=(
            "Bianchi et al.'s safety-tuning data: harmful instructions with refusals (Alpaca format), for mixing"
        ),
        size="2,483 (safety_only_data_Instructions.json)",
        license="CC-BY-NC-4.0 (as stated upstream; check before redistribution)",
        homepage="https://github.com/vinid/safety-tuned-llamas/tree/main/data/training",
        citation=(
            "Bianchi et al. 2024, Safety-Tuned LLaMAs: Lessons From Improving the Safety of Large Language Models "
            "that Follow Instructions, ICLR 2024, arXiv:2309.07875"
        ),
    )
)(conversations)

register(
    DatasetEntry(
        name="conversations",
        kind="finetune",
        description="Any local conversation file: OpenAI messages JSONL, JSON list of message lists, or Alpaca JSON",
        license="yours",
        homepage="your own file",
        citation="",
    )
)(conversations)
