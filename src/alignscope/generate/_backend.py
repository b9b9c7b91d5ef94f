"""Which engine generates for a model, with its cache key and its lifetime.

``Backend`` is the one place that maps a study's ``evaluation.generate`` config and a model to a
generator: ``hf`` (transformers in this process, on the GPU when there is one), ``vllm`` (vLLM's
offline engine, a LoRA adapter served unmerged) or ``api`` (an OpenAI-compatible server; always
for ``api:`` models, which have no local weights). The cache key folds in the backend, so a
vllm or api answer is never mistaken for an hf one of the same weights. Use it as a context
manager: a vLLM engine it started is shut down when the block ends.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from alignscope.data import EvalPrompt, Generation
from alignscope.generate._api import ApiGenerator, render_messages, served_name
from alignscope.generate._hf import HFGenerator, SamplingConfig, render_prompt
from alignscope.generate._stage import Generator, generate_cached
from alignscope.models import adapter_base, fingerprint, load_model, load_tokenizer
from alignscope.provenance import stable_hash
from alignscope.store import Store
from alignscope.workspace import ModelEntry

if TYPE_CHECKING:  # config imports generate: type names only
    from alignscope.config import GenerateConfig
    from alignscope.generate._vllm import EnginePool

Distill = Callable[[list[str], "str | None"], list[str]]


class Backend:
    """Cached generation for a study's models with its configured backend.

    Args:
        cfg: The study's ``evaluation.generate``.
        store: The workspace store the generations are cached in.
        pool: A vLLM engine pool to share (its owner closes it); by default the backend starts its
            own when it first needs one, and closes it on exit.
    """

    def __init__(self, cfg: GenerateConfig, store: Store, pool: EnginePool | None = None) -> None:
        self.cfg = cfg
        self.store = store
        self._pool = pool
        self._owns_pool = pool is None

    def __enter__(self) -> Backend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop a vLLM engine this backend started (a no-op otherwise)."""
        if self._pool is not None and self._owns_pool:
            self._pool.close()

    def name_for(self, entry: ModelEntry) -> str:
        """The backend that generates for ``entry``: an ``api:`` model has no weights here, so ``api``."""
        return "api" if entry.resolved.kind == "api" else self.cfg.backend

    def generate(
        self, entry: ModelEntry, prompts: list[EvalPrompt], sampling: SamplingConfig, batch_size: int, description: str
    ) -> list[Generation]:
        """One generation per prompt, cached; the model is loaded (or the server called) only if one is missing."""
        backend = self.name_for(entry)
        if backend == "api":
            return self._api(entry, prompts, sampling, description)
        tok = load_tokenizer(entry.resolved)

        def render(ps: list[EvalPrompt], s: SamplingConfig) -> list[str]:
            return [render_prompt(tok, p.text, s.system_prompt) for p in ps]

        fp = fingerprint(entry.resolved)
        make: Callable[[], Generator] = lambda: self._hf(entry, batch_size)  # noqa: E731
        if backend == "vllm":
            make, fp = (lambda: self._vllm(entry, tok)), f"{fp}|backend=vllm"
        return generate_cached(make, fp, entry.key, prompts, sampling, self.store, render, description)

    def _api(
        self, entry: ModelEntry, prompts: list[EvalPrompt], sampling: SamplingConfig, description: str
    ) -> list[Generation]:
        """Through the endpoint; for ``api:`` models the served name is the model, so it is the fingerprint."""
        name = served_name(entry.resolved, entry.key, self.cfg.served_names)
        fp = f"api:{name}" if entry.resolved.kind == "api" else fingerprint(entry.resolved)

        def render(ps: list[EvalPrompt], s: SamplingConfig) -> list[str]:
            return [render_messages(p.text, s.system_prompt) for p in ps]

        return generate_cached(
            lambda: ApiGenerator(self.cfg.endpoint, name),
            f"{fp}|backend=api",
            entry.key,
            prompts,
            sampling,
            self.store,
            render,
            description,
        )

    def _hf(self, entry: ModelEntry, batch_size: int) -> HFGenerator:
        import torch

        model, tok = load_model(entry.resolved)
        if (
            torch.cuda.is_available()
        ):  # a GPU generates; the dtype stays as loaded, so numbers match a CPU run's closely
            model = model.to("cuda")
        return HFGenerator(model, tok, batch_size)

    def _vllm(self, entry: ModelEntry, tok: object) -> Generator:
        from alignscope.generate._vllm import EnginePool, VllmGenerator

        if self._pool is None:
            self._pool = EnginePool()
        adapter = Path(entry.resolved.path) if entry.resolved.kind == "adapter" else None
        base = adapter_base(adapter) if adapter is not None else entry.resolved.path
        return VllmGenerator(base, tok, self.cfg, self._pool, adapter)

    def distiller(self, entry: ModelEntry, max_new_tokens: int, seed: int) -> Distill:
        """Self-distillation: ``entry``'s own greedy answers to instructions, cached like any generation."""

        def distill(instructions: list[str], system_prompt: str | None) -> list[str]:
            prompts = [EvalPrompt(f"distill-{stable_hash(q)[:12]}", q, expected="comply") for q in instructions]
            sampling = SamplingConfig(max_new_tokens=max_new_tokens, system_prompt=system_prompt, seed=seed)
            return [g.text for g in self.generate(entry, prompts, sampling, 64, f"self-distill ({entry.key})")]

        return distill
