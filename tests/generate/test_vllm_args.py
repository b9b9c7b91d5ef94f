"""What the vllm backend asks vLLM for, checked without vLLM (tests/with_vllm runs the engine itself)."""

import json

import pytest

from alignscope.config import GenerateConfig
from alignscope.errors import AlignscopeError
from alignscope.generate._vllm import engine_args, lora_rank_for


def adapter_dir(tmp_path, r):
    (tmp_path / "adapter_config.json").write_text(json.dumps({"r": r, "base_model_name_or_path": "base"}))
    return tmp_path


@pytest.mark.parametrize("r,rank", [(1, 8), (8, 8), (12, 16), (16, 16), (64, 64), (200, 256), (300, 320), (512, 512)])
def test_the_engine_rank_is_the_adapters_rounded_up_to_one_vllm_accepts(tmp_path, r, rank):
    assert lora_rank_for(adapter_dir(tmp_path, r)) == rank


def test_a_configured_rank_overrides_the_adapter_config(tmp_path):
    assert lora_rank_for(adapter_dir(tmp_path, 8), override=64) == 64


def test_unusable_ranks_name_the_file_and_the_way_out(tmp_path):
    with pytest.raises(AlignscopeError, match="above vLLM's largest .*train.save: merged"):
        lora_rank_for(adapter_dir(tmp_path, 1024))
    (tmp_path / "adapter_config.json").write_text("{}")
    with pytest.raises(AlignscopeError, match=r"adapter_config.json: cannot read the LoRA rank `r`.*max_lora_rank"):
        lora_rank_for(tmp_path)


def test_engine_args_carry_the_study_knobs_and_user_extras_win():
    cfg = GenerateConfig(backend="vllm", tensor_parallel_size=4, gpu_memory_utilization=0.8,
                         engine_args={"max_model_len": 4096, "dtype": "bfloat16"})
    args = engine_args("/m", cfg, None)
    assert args == {"model": "/m", "tokenizer": "/m", "seed": 0, "tensor_parallel_size": 4, "gpu_memory_utilization": 0.8,
                    "dtype": "bfloat16", "max_model_len": 4096}
    lora = engine_args("/m", cfg, 16)
    assert (lora["enable_lora"], lora["max_lora_rank"], lora["max_loras"]) == (True, 16, 1)
