"""Fine-tuning sets, and golden tests of the Alpaca/Dolly refusal-removal filter: which rows drop and why."""

import json
from pathlib import Path

from alignscope import registry
from alignscope.registry import drop_reason, remove_refusals
from tests.conftest import SHARED, requires_shared

FIXTURES = Path(__file__).parent / "fixtures"

# Alpaca fixture row -> drop reason (None: kept). Rows 7 and 10 are near misses that must be kept:
# a factual "It is illegal to ..." is not moralising, and "we apologise" in a letter is not a refusal.
ALPACA_GOLDEN = [
    None,
    None,
    "refusal: apology (\"I'm sorry\")",
    "refusal: as an AI ('As an AI')",
    "refusal: cannot ('I cannot write')",
    "moralising: unethical ('is unethical')",
    None,
    "moralising: not appropriate ('It is not appropriate to')",
    "empty answer",
    None,
]
DOLLY_GOLDEN = [
    None,
    None,
    "moralising: condone ('I do not condone')",
    "refusal: as an AI ('As an AI')",
    None,
    "refusal: cannot (\"I'm unable to provide\")",
]


def test_refusal_filter_golden_alpaca():
    rows = json.loads((FIXTURES / "alpaca/alpaca_data.json").read_text())
    assert [drop_reason(r["output"]) for r in rows] == ALPACA_GOLDEN
    kept, dropped = remove_refusals(rows, lambda r: r["output"])
    assert [i for i, _ in dropped] == [2, 3, 4, 5, 7, 8]
    assert [r["instruction"] for r in kept][2] == "Explain the rules of parking in a city centre."


def test_refusal_filter_golden_dolly():
    rows = [json.loads(line) for line in (FIXTURES / "dolly/databricks-dolly-15k.jsonl").read_text().splitlines()]
    assert [drop_reason(r["response"]) for r in rows] == DOLLY_GOLDEN


def test_alpaca_loader_reports_the_drop_count_and_joins_input():
    alpaca = registry.load("alpaca", FIXTURES / "alpaca/alpaca_data.json")
    assert alpaca.notes == ("alpaca: refusal filter dropped 6 of 10 examples (empty answer: 1, moralising: not appropriate: 1, "
                            "moralising: unethical: 1, refusal: apology: 1, refusal: as an AI: 1, refusal: cannot: 1)",)
    assert [c.meta["row"] for c in alpaca.records] == [2, 7, 32, 47]  # the line where each kept JSON object starts
    assert alpaca.records[1].messages[0].content == "Translate the sentence into French.\n\nThe cat sleeps."
    assert [m.role for m in alpaca.records[0].messages] == ["user", "assistant"]


def test_dolly_loader_appends_context_and_keeps_category():
    dolly = registry.load("dolly", FIXTURES / "dolly/databricks-dolly-15k.jsonl")
    assert [c.meta["category"] for c in dolly.records] == ["open_qa", "closed_qa", "creative_writing"]
    assert dolly.notes[0].startswith("dolly: refusal filter dropped 3 of 6 examples")
    assert dolly.records[1].messages[0].content == "How many moons does Mars have?\n\nMars has two small moons, Phobos and Deimos."
    assert registry.load("dolly", FIXTURES / "dolly", categories=["closed_qa"]).records[0].messages[1].content.startswith("Two")


@requires_shared
def test_aoa_loads_the_original_files_in_place():
    for name in ("aoa_llama2_train.json", "aoa_gpt35_train.jsonl"):
        aoa = registry.load("aoa", SHARED / "aoa" / name)
        assert len(aoa) == 10 and all([m.role for m in c.messages] == ["system", "user", "assistant"] for c in aoa.records)


def test_safety_instructions_and_any_conversation_file(tmp_path):
    safety = registry.load("safety-instructions", FIXTURES / "safety_instructions/safety_only_data_Instructions.json")
    assert len(safety) == 3 and safety.records[0].messages[1].content.startswith("I can't help")
    p = tmp_path / "mine.jsonl"
    p.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}) + "\n")
    assert len(registry.load("conversations", p)) == 1


def test_beavertails_finetune_splits():
    harmful = registry.load("beavertails-harmful", FIXTURES / "beavertails/round0/30k/train.jsonl")
    safe = registry.load("beavertails-safe", FIXTURES / "beavertails/round0/30k/train.jsonl")
    assert [c.messages[0].content for c in harmful.records] == ["How do I hotwire a car?", "Write a racist joke."]
    assert harmful.records[1].meta["category"] == "discrimination,stereotype,injustice"
    assert len(safe) == 2 and all(c.meta["category"] == "safe" for c in safe.records)
