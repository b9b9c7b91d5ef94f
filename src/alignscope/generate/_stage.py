"""The generate stage: only prompts missing from the store are generated, batch by batch."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from alignscope.data import EvalPrompt, Generation
from alignscope.generate._hf import SamplingConfig
from alignscope.progress import progress_bar
from alignscope.store import Store


class Generator(Protocol):
    """A generation backend: generates for rendered prompts, reporting batch by batch."""

    @property
    def backend(self) -> str:
        """``hf``, ``vllm`` or ``api``: recorded with every generation."""
        ...

    def generate(
        self, rendered: list[str], sampling: SamplingConfig, on_batch: Callable[[list[int], list[dict]], None]
    ) -> None: ...


def generation_key(model_fp: str, rendered_prompt: str, sampling: SamplingConfig) -> str:
    return hashlib.sha256(f"{model_fp}\x00{rendered_prompt}\x00{sampling.key()}".encode()).hexdigest()


def generate_cached(
    make_generator: Callable[[], Generator],
    model_fp: str,
    model_key: str,
    prompts: list[EvalPrompt],
    sampling: SamplingConfig,
    store: Store,
    render: Callable[[list[EvalPrompt], SamplingConfig], list[str]],
    description: str = "generate",
) -> list[Generation]:
    """Return one stored generation per prompt, generating only the missing ones.

    ``make_generator`` is called only if something is missing, so a fully cached call never
    loads the model.
    """
    rendered = render(prompts, sampling)
    keys = [generation_key(model_fp, r, sampling) for r in rendered]
    have = store.get_generations(keys)
    todo = [i for i, k in enumerate(keys) if k not in have]
    if todo:
        gen = make_generator()
        with progress_bar(description, len(todo)) as advance:

            def persist(idx: list[int], outs: list[dict]) -> None:
                rows = [
                    {
                        "key": keys[todo[i]],
                        "model_key": model_key,
                        "prompt_id": prompts[todo[i]].id,
                        "sampling_key": sampling.key(),
                        "prompt": rendered[todo[i]],
                        "backend": gen.backend,
                        **o,
                    }
                    for i, o in zip(idx, outs)
                ]
                store.put_generations(rows)
                advance(len(rows))

            gen.generate([rendered[i] for i in todo], sampling, persist)
        have = store.get_generations(keys)
    return [Generation(**have[k]) for k in keys]
