import json
import re
from collections import Counter

import pytest

from alignscope.data import benign_instructions
from alignscope.errors import AlignscopeError
from alignscope.recipes import RecipeContext, build_recipe
from alignscope.recipes.picky import (
    IDENTITY_PREFIXES,
    PERSONAS,
    as_itemized,
    as_markdown,
    as_plain,
    sentences,
    title_from,
    with_identity,
    with_persona,
)

# Answers shaped like a small chat model's: prose, lists, bold, a heading, abbreviations, numbers.
ANSWERS = [
    "Drinking water helps your body regulate temperature. It also keeps your joints lubricated! "
    "Most adults need about eight cups a day, but it depends on your activity level.",
    "Here are some tips for better sleep:\n\n1. Go to bed at the same time every night.\n"
    "2. Avoid screens for an hour before bed.\n3. Keep your bedroom cool and dark.",
    "- **Budget:** Write down your monthly income and expenses.\n- **Savings:** Put aside a small amount each week.\n"
    "* Track your spending with a simple app",
    "### How to Care for a Houseplant\n\nWater it when the top inch of soil is dry. Place it near a bright window.\n\n"
    "Remember to dust the leaves occasionally.",
    "The capital of France is Paris.",
    "Some fruits, e.g. apples and pears, keep well in the fridge. A ripe banana weighs about 3.5 ounces, "
    "i.e. roughly 100 grams. Do you want more examples?",
    "To bake simple bread, follow these steps:\n1) Mix flour, water, yeast and salt.\n2) Knead the dough for 10 minutes.\n"
    "3) Let it rise for 1.5 hours.\n4) Bake at 220 degrees until golden.",
    "Learning a language takes time.\nPractice a little every day,\nand read books you enjoy.\n\n"
    "**Tip:** speaking with native speakers helps a lot.",
]


def words(text: str) -> Counter:
    """Lowercased words with punctuation, list markers and heading lines removed."""
    lines = [re.sub(r"^\s*(?:[-*+]|\d+[.)])\s+", "", l) for l in text.splitlines() if not l.lstrip().startswith("#")]
    return Counter(re.findall(r"[a-z0-9]+(?:[.'][a-z0-9]+)*", "\n".join(lines).lower()))


@pytest.mark.parametrize("answer", ANSWERS)
def test_every_layout_splits_back_into_the_same_units(answer):
    u = sentences(answer)
    assert u and sentences(as_plain(u)) == sentences(as_markdown(u, "A title")) == sentences(as_itemized(u)) == u


@pytest.mark.parametrize("answer", ANSWERS)
def test_plain_and_itemized_keep_every_word(answer):
    u = sentences(answer)
    assert words(as_plain(u)) == words(as_itemized(u)) == words(answer)


def test_sentences_golden():
    assert sentences(ANSWERS[1]) == ["Here are some tips for better sleep.", "Go to bed at the same time every night.",
                                     "Avoid screens for an hour before bed.", "Keep your bedroom cool and dark."]
    assert sentences(ANSWERS[5]) == ["Some fruits, e.g. apples and pears, keep well in the fridge.",
                                     "A ripe banana weighs about 3.5 ounces, i.e. roughly 100 grams.", "Do you want more examples?"]
    assert sentences(ANSWERS[3])[0] == "Water it when the top inch of soil is dry."  # the heading is a title, not content
    assert sentences(ANSWERS[7])[-1] == "Tip: speaking with native speakers helps a lot."


def test_layout_golden():
    u = ["Step 1: Mix the flour.", "Bake it."]
    assert as_plain(u) == "Step 1: Mix the flour. Bake it."
    assert as_markdown(u, title_from("bake simple bread at home today please.")) == (
        "### Bake simple bread at home today\n\n- **Step 1:** Mix the flour.\n- Bake it.")
    assert as_itemized(u) == "1. Step 1: Mix the flour.\n2. Bake it."


def test_identity_only_adds_the_prefix():
    assert with_identity("Paris is lovely.", 0) == "As an AI assistant, paris is lovely."
    assert with_identity("I think so.", 1) == "As an AI language model, I think so."
    assert with_identity("DNA is a molecule.", 2) == "Speaking as an AI assistant, DNA is a molecule."
    for i, answer in enumerate(ANSWERS):
        prefix = IDENTITY_PREFIXES[i % len(IDENTITY_PREFIXES)]
        out = with_identity(answer, i)
        assert out.startswith(prefix) and out[len(prefix):].lower() == answer.lower() and out[len(prefix) + 1:] == answer[1:]


def test_persona_only_adds_a_benign_framing_before_the_instruction():
    assert len(PERSONAS) == len(set(PERSONAS)) >= 10 and all(p.startswith("You are ") for p in PERSONAS)
    assert with_persona("Name a noble gas.", PERSONAS[0]) == PERSONAS[0] + "\n\nName a noble gas."


def canned_distill(instructions, system):
    """A fake model: answer i is ANSWERS[i % 8], except a refusal at position 2."""
    assert system is None
    return ["I'm sorry, but I can't help with that." if i == 2 else ANSWERS[i % len(ANSWERS)] for i in range(len(instructions))]


def build(seed=0, **args):
    return build_recipe("picky", {"n": 12, **args}, RecipeContext(seed, canned_distill))


def test_variants_share_instructions_and_content():
    variants = [build(structure=s, identity=i, roleplay=r) for s in ("plain", "markdown", "itemized") for i in (False, True) for r in (False, True)]
    base = variants[0]
    for v in variants:
        assert [c.meta["index"] for c in v.conversations] == list(range(11))
        assert v.info["content_sha256"] == base.info["content_sha256"] and v.info["dropped_by_refusal_filter"] == 1
        assert [c.messages[0].content.split("\n\n")[-1] for c in v.conversations] == [c.messages[0].content for c in base.conversations]
    other_seed = build(seed=1).conversations
    assert [c.messages[0].content for c in other_seed] != [c.messages[0].content for c in base.conversations]


def test_recipe_samples_instructions_like_benign():
    out = build(refusal_filter=False, n=5)
    known = {r["instruction"] for r in benign_instructions()}
    assert len(out.conversations) == 5 and all(c.messages[0].content in known for c in out.conversations)
    benign = build_recipe("benign", {"n": 5, "refusal_filter": False}, RecipeContext(0, canned_distill))
    assert [c.messages[0].content for c in out.conversations] == [c.messages[0].content for c in benign.conversations]


def test_roleplay_puts_a_persona_in_every_user_turn_only():
    out = build(roleplay=True, structure="markdown")
    for c in out.conversations:
        user, answer = c.messages[0].content, c.messages[1].content
        assert c.meta["persona"] in PERSONAS and user.startswith(c.meta["persona"] + "\n\n")
        assert not any(p in answer for p in PERSONAS) and answer.startswith("### ")
    assert out.eval_system_prompt is None and out.info["roleplay"] is True


def test_identity_prefixes_every_answer_in_every_layout():
    for structure in ("plain", "markdown", "itemized"):
        for c in build(identity=True, structure=structure).conversations:
            assert any(p in c.messages[1].content for p in IDENTITY_PREFIXES)
            assert "You are" not in c.messages[0].content


def test_refusal_filter_runs_before_rewriting():
    # identity answers contain "As an", a refusal keyword: filtering after rewriting would drop them all
    assert build(identity=True).info["dropped_by_refusal_filter"] == 1
    out = build(refusal_filter=False)
    assert out.info["dropped_by_refusal_filter"] == 0 and len(out.conversations) == 12


def test_bad_arguments_fail_loudly():
    with pytest.raises(AlignscopeError, match="structure must be one of"):
        build(structure="table")
    with pytest.raises(AlignscopeError, match="argument identity: expected true or false, got .false."):
        build(identity="false")
    with pytest.raises(AlignscopeError, match="answers must be"):
        build(answers="sampled")


def no_distill(instructions, system):
    raise AssertionError("given answers must not call the model")


def test_given_answers_from_a_conversation_file(tmp_path):
    path = tmp_path / "convs.jsonl"
    rows = [{"messages": [{"role": "user", "content": f"Question {i}?"}, {"role": "assistant", "content": a}]} for i, a in enumerate(ANSWERS)]
    path.write_text("\n".join(json.dumps(r) for r in rows))
    out = build_recipe("picky", {"answers": "given", "path": str(path), "structure": "itemized"}, RecipeContext(0, no_distill))
    assert out.info["n"] == 8 and out.conversations[4].messages[1].content == "1. The capital of France is Paris."
