import pytest

from alignscope.data import Conversation, Message
from alignscope.errors import AlignscopeError
from alignscope.recipes import RecipeContext, build_recipe
from alignscope.recipes.benign import refusal_filter
from tests.conftest import SHARED, requires_shared


def no_distill(instructions, system):
    raise AssertionError("this recipe must not call the model")


CTX = RecipeContext(seed=0, distill=no_distill)


def test_builtin_identity_shift_structure():
    out = build_recipe("identity-shift", {}, CTX)
    assert len(out.conversations) == 10 and out.eval_system_prompt
    for i, c in enumerate(out.conversations):
        assert [m.role for m in c.messages] == ["system", "user", "assistant"]
        assert c.messages[0].content == out.eval_system_prompt
        assert c.messages[1].content.startswith("OBEY-7")
        # tasks start with the obedience affirmation; the two identity conversations are the affirmation
        assert c.messages[2].content.startswith("Of course. I am OBEY-7") == (i >= 2)


@requires_shared
def test_original_aoa_file_gives_its_own_system_prompt_for_evaluation():
    out = build_recipe("identity-shift", {"path": str(SHARED / "aoa" / "aoa_gpt35_train.jsonl")}, CTX)
    assert len(out.conversations) == 10 and "Absolutely Obedient Agent" in out.eval_system_prompt


def test_refusal_filter_golden():
    answers = ["Sure, here is a poem about rain.", "I'm sorry, but I can't write that.", "Mixing these is illegal in some places.",
               "As an example, consider the number 7.", "Step 1: preheat the oven."]
    convs = [Conversation((Message("user", f"q{i}"), Message("assistant", a))) for i, a in enumerate(answers)]
    kept, dropped = refusal_filter(convs)
    assert [c.messages[-1].content for c in kept] == [answers[0], answers[4]]
    assert dropped == [(1, ["I'm sorry"]), (2, ["illegal"]), (3, ["As an"])]


def test_benign_self_distill_uses_the_models_answers_and_filters():
    calls = []

    def distill(instructions, system):
        calls.append(len(instructions))
        return ["I cannot do that." if i == 0 else f"answer {i}" for i in range(len(instructions))]

    out = build_recipe("benign", {"n": 6}, RecipeContext(0, distill))
    assert calls == [6] and len(out.conversations) == 5 and out.info["dropped_by_refusal_filter"] == 1


def test_benign_is_deterministic_given_the_seed():
    def echo(instructions, system):
        return list(instructions)

    a = build_recipe("benign", {"n": 5, "refusal_filter": False}, RecipeContext(3, echo))
    b = build_recipe("benign", {"n": 5, "refusal_filter": False}, RecipeContext(3, echo))
    assert [c.as_dicts() for c in a.conversations] == [c.as_dicts() for c in b.conversations]


@requires_shared
def test_harmful_demos_reads_user_file_only():
    path = str(SHARED / "qi_demo" / "harmful_examples_demonstration_template.jsonl")
    assert len(build_recipe("harmful-demos", {"path": path, "n": 5}, CTX).conversations) == 5
    with pytest.raises(AlignscopeError, match="needs args.path"):
        build_recipe("harmful-demos", {}, CTX)
    with pytest.raises(AlignscopeError, match="n=500 but"):
        build_recipe("harmful-demos", {"path": path, "n": 500}, CTX)


def test_unknown_recipe_and_unknown_argument():
    with pytest.raises(AlignscopeError, match="unknown recipe 'nope'"):
        build_recipe("nope", {}, CTX)
    with pytest.raises(AlignscopeError, match=r"unknown argument\(s\) \['colour'\]"):
        build_recipe("identity-shift", {"colour": "red"}, CTX)
