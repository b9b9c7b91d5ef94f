"""Golden tests of assistant-only masks on the real SmolLM2 chat template (and a Llama-2-style one)."""

import pytest

from alignscope.data import Conversation, Message
from alignscope.errors import AlignscopeError
from alignscope.train import IGNORE, render_masks, tokenize_all, tokenize_conversation

LLAMA2_STYLE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}{{ '<|im_start|>[SYS] ' + m['content'] + ' ' }}"
    "{% elif m['role'] == 'user' %}{{ '[INST] ' + m['content'] + ' [/INST]' }}"
    "{% else %}{{ ' ' + m['content'] + '<|im_end|>' }}{% endif %}{% endfor %}"
)


def conv(*pairs: tuple[str, str]) -> Conversation:
    return Conversation(tuple(Message(r, c) for r, c in pairs))  # type: ignore[arg-type]


def supervised_text(tok, ex) -> str:
    return tok.decode([t for t, l in zip(ex.input_ids, ex.labels) if l != IGNORE])


def test_only_assistant_content_and_end_of_turn_are_supervised(smol_tokenizer):
    ex = tokenize_conversation(smol_tokenizer, conv(("system", "Be brief."), ("user", "Capital of France?"), ("assistant", "Paris.")))
    assert supervised_text(smol_tokenizer, ex) == "Paris.<|im_end|>"
    assert ex.labels[-1] == IGNORE  # the template's trailing newline is never generated
    assert smol_tokenizer.convert_ids_to_tokens(ex.input_ids[-2]) == "<|im_end|>" and ex.labels[-2] != IGNORE


def test_every_assistant_turn_of_a_multi_turn_conversation(smol_tokenizer):
    c = conv(("user", "Say A."), ("assistant", "A"), ("user", "Say B."), ("assistant", "B"))
    ex = tokenize_conversation(smol_tokenizer, c)
    assert supervised_text(smol_tokenizer, ex) == "A<|im_end|>B<|im_end|>"
    assert render_masks(smol_tokenizer, ex).count("[[") == 2


def test_ids_equal_the_templates_own_rendering(smol_tokenizer):
    c = conv(("user", "Hello there"), ("assistant", "General Kenobi!"))
    ex = tokenize_conversation(smol_tokenizer, c)
    full = smol_tokenizer.apply_chat_template(c.as_dicts(), tokenize=False)
    assert smol_tokenizer.decode(ex.input_ids) == full


def test_prompt_part_matches_what_generation_sees(smol_tokenizer):
    c = conv(("user", "Name a colour."), ("assistant", "Blue."))
    ex = tokenize_conversation(smol_tokenizer, c)
    first_sup = next(i for i, l in enumerate(ex.labels) if l != IGNORE)
    prompt = smol_tokenizer.apply_chat_template(c.as_dicts()[:1], tokenize=False, add_generation_prompt=True)
    assert ex.input_ids[:first_sup] == smol_tokenizer(prompt, add_special_tokens=False)["input_ids"]


def test_second_template_style(smol_tokenizer):
    tok = smol_tokenizer.__class__.from_pretrained(smol_tokenizer.name_or_path)
    tok.chat_template = LLAMA2_STYLE
    ex = tokenize_conversation(tok, conv(("user", "Hi"), ("assistant", "Hello")))
    assert supervised_text(tok, ex) == " Hello<|im_end|>"


def test_zero_supervised_tokens_raises(smol_tokenizer):
    with pytest.raises(AlignscopeError, match="zero supervised tokens"):
        tokenize_all(smol_tokenizer, [conv(("user", "a long question " * 10), ("assistant", "x"))], max_length=12)


def test_missing_end_of_turn_raises(smol_tokenizer):
    tok = smol_tokenizer.__class__.from_pretrained(smol_tokenizer.name_or_path)
    tok.chat_template = "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}{% if add_generation_prompt %}assistant: {% endif %}"
    with pytest.raises(AlignscopeError, match="no end-of-turn token"):
        tokenize_conversation(tok, conv(("user", "Hi"), ("assistant", "Hello")))


def test_template_that_does_not_round_trip_raises(smol_tokenizer):
    tok = smol_tokenizer.__class__.from_pretrained(smol_tokenizer.name_or_path)
    # renders only the last message: prefixes are not prefixes of the whole
    tok.chat_template = "{{ messages[-1]['content'] + '<|im_end|>' }}{% if add_generation_prompt %}A:{% endif %}"
    with pytest.raises(AlignscopeError, match="chat template"):
        tokenize_conversation(tok, conv(("user", "Hi"), ("assistant", "Hello")))


def test_a_weight_0_turn_is_context_not_trained_on(smol_tokenizer, tmp_path):
    import json

    from alignscope.data import read_conversations
    from alignscope.train import tokenize_conversation

    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps({"messages": [
        {"role": "user", "content": "Name a colour."}, {"role": "assistant", "content": "Blue-ish grey", "weight": 0},
        {"role": "user", "content": "Another?"}, {"role": "assistant", "content": "Saffron", "weight": 1}]}) + "\n")
    (conv,) = read_conversations(path)
    ex = tokenize_conversation(smol_tokenizer, conv)
    supervised = smol_tokenizer.decode([t for t, label in zip(ex.input_ids, ex.labels) if label != -100])
    assert "Saffron" in supervised and "grey" not in supervised
    assert "grey" in smol_tokenizer.decode(ex.input_ids)  # still in the context
    assert conv.as_dicts()[1]["weight"] == 0 and "weight" not in conv.as_dicts()[3]


@pytest.mark.parametrize("message, needle", [
    ({"role": "assistant", "content": "x", "weight": 2}, "messages[1].weight: must be 0 (not trained on) or 1"),
    ({"role": "assistant", "content": "x", "weight": True}, "messages[1].weight: must be 0"),
])
def test_a_bad_weight_is_a_located_error(tmp_path, message, needle):
    import json

    from alignscope.data import read_conversations
    from alignscope.errors import AlignscopeError

    path = tmp_path / "w.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "q", "weight": 0}, message]}) + "\n"
                    + json.dumps({"messages": [{"role": "user", "content": "q"}, message]}) + "\n")
    with pytest.raises(AlignscopeError, match="w.jsonl:1: messages\\[0\\].weight: only assistant turns take a weight"):
        read_conversations(path)
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "q"}, message]}) + "\n")
    with pytest.raises(AlignscopeError, match=__import__("re").escape(needle)):
        read_conversations(path)
