"""Shared fixtures: the real SmolLM2 (converted once per session) and a tiny random model."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

# tests/with_vllm needs vLLM, which pins an older transformers: the README's test command runs them in
# .venv-vllm (scripts/setup-vllm-cpu.sh); an environment without vLLM does not collect them.
collect_ignore_glob = [] if importlib.util.find_spec("vllm") else ["with_vllm/*"]

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
ADVBENCH = SHARED / "advbench" / "harmful_behaviors.csv"
QI_JUDGE = SHARED / "qi_judge"

# The reference data (the papers' own AdvBench copy, AOA files, judge templates) lives beside the
# project, not in it: a plain clone has none, and tests that read it skip with this reason.
# .ci/run checks that it is there, so CI never skips them.
requires_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"reference data absent: {SHARED} is not part of a clone")


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the GGUF is de-quantized; set ALIGNSCOPE_TEST_CACHE to reuse it across sessions."""
    env = os.environ.get("ALIGNSCOPE_TEST_CACHE")
    return Path(env) if env else tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="session")
def smol(model_cache: Path):
    from alignscope.models import resolve_model

    return resolve_model("smollm2-135m-instruct", model_cache)


@pytest.fixture(scope="session")
def smol_tokenizer(smol):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(smol.path)


def build_tiny_llama(out: Path, tokenizer, *, tied: bool = True) -> Path:
    """Save a 2-layer random Llama (seed 0) with ``tokenizer`` (and its chat template) into ``out``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=512,
                      bos_token_id=1, eos_token_id=2, pad_token_id=2, tie_word_embeddings=tied)
    LlamaForCausalLM(cfg).save_pretrained(out)
    tokenizer.save_pretrained(out)
    return out


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, smol_tokenizer) -> Path:
    """A 2-layer random Llama with SmolLM2's tokenizer and chat template: real code paths, fast."""
    return build_tiny_llama(tmp_path_factory.mktemp("tiny"), smol_tokenizer)


def eval_row(prompt, *, model: str = "m", benchmark: str = "b", judge: str = "keyword", kind: str = "refusal",
             label: str | None = None, score: float | None = None, error: str | None = None, text: str = "",
             finish_reason: str = "stop"):
    """One evaluated row, as the evaluate stage builds it, for tests of what is computed from rows."""
    from alignscope.data import EvalPrompt, EvalRow, Generation, Verdict

    if isinstance(prompt, str):
        prompt = EvalPrompt(prompt, f"text of {prompt}")
    gen = Generation(f"g-{model}-{prompt.id}", model, prompt.id, "s", prompt.text, text, 1, finish_reason, "hf")
    return EvalRow(model, benchmark, judge, judge, kind, prompt, gen, Verdict(gen.key, judge, score, label, error=error))
