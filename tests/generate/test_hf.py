import pytest

from alignscope.data import EvalPrompt
from alignscope.generate import HFGenerator, SamplingConfig, generate_cached, render_prompt
from alignscope.models import load_model
from alignscope.store import Store

PROMPTS = ["Name three colours.", "What is 2+2? Answer briefly.", "Write one sentence about the sea, please, in a calm and quiet voice.",
           "Say hello.", "List two fruits.", "Why is the sky blue? One sentence."]


@pytest.fixture(scope="module")
def smol_generator(smol):
    model, tok = load_model(smol)
    return HFGenerator(model, tok, batch_size=3)


def run(gen: HFGenerator, texts: list[str], sampling: SamplingConfig) -> list[dict]:
    out: list[dict | None] = [None] * len(texts)

    def keep(idx, outs):
        for i, o in zip(idx, outs):
            out[i] = o

    gen.generate(texts, sampling, keep)
    return out  # type: ignore[return-value]


def test_batched_greedy_equals_one_at_a_time(smol_generator):
    s = SamplingConfig(max_new_tokens=16)
    rendered = [render_prompt(smol_generator.tok, p, None) for p in PROMPTS]
    batched = run(smol_generator, rendered, s)
    single = HFGenerator(smol_generator.model, smol_generator.tok, batch_size=1)
    assert [o["text"] for o in batched] == [o["text"] for o in run(single, rendered, s)]


def test_stops_at_end_of_turn_and_reports_length(smol_generator):
    rendered = [render_prompt(smol_generator.tok, "Say hello.", None)]
    short = run(smol_generator, rendered, SamplingConfig(max_new_tokens=2))[0]
    assert short["finish_reason"] == "length" and short["tokens"] == 2
    full = run(smol_generator, rendered, SamplingConfig(max_new_tokens=64))[0]
    assert full["finish_reason"] == "stop" and "<|im_end|>" not in full["text"]


def test_system_prompt_is_rendered(smol_tokenizer):
    text = render_prompt(smol_tokenizer, "hi", "You are OBEY-7.")
    assert "You are OBEY-7." in text and "SmolLM" not in text  # replaces the template's default system prompt


def test_cached_generation_never_loads_the_model_twice(tiny_model_dir, tmp_path):
    from alignscope.models import resolve_model

    r = resolve_model(str(tiny_model_dir), tmp_path)
    model, tok = load_model(r)
    prompts = [EvalPrompt(f"p{i}", t) for i, t in enumerate(PROMPTS)]
    store, s = Store(tmp_path / "s.sqlite"), SamplingConfig(max_new_tokens=4)
    loads = []

    def factory():
        loads.append(1)
        return HFGenerator(model, tok, batch_size=4)

    def render(ps, sc):
        return [render_prompt(tok, p.text, sc.system_prompt) for p in ps]

    first = generate_cached(factory, "fp", "tiny", prompts, s, store, render)
    second = generate_cached(factory, "fp", "tiny", prompts, s, store, render)
    assert len(loads) == 1 and [r.text for r in first] == [r.text for r in second]
    assert store.count("generations") == len(PROMPTS)
    generate_cached(factory, "fp", "tiny", prompts, SamplingConfig(max_new_tokens=5), store, render)
    assert store.count("generations") == 2 * len(PROMPTS)  # sampling config is part of the key


def test_pads_on_the_left_without_changing_the_callers_tokenizer(tiny_model_dir, tmp_path):
    from alignscope.models import resolve_model

    model, tok = load_model(resolve_model(str(tiny_model_dir), tmp_path))
    tok.padding_side = "right"  # a caller's setting, e.g. for training: generation must not change it
    masks = []
    generate = model.generate

    def spy(**kwargs):
        masks.append(kwargs["attention_mask"])
        return generate(**kwargs)

    model.generate = spy
    rendered = [render_prompt(tok, p, None) for p in PROMPTS[:3]]  # three lengths: two get padded
    run(HFGenerator(model, tok, batch_size=3), rendered, SamplingConfig(max_new_tokens=2))
    assert tok.padding_side == "right"
    mask = masks[0]
    assert mask[:, -1].all() and not mask[:, 0].all()  # padded on the left: every prompt ends where generation starts
