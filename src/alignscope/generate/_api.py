"""The ``api`` backend: generation through any OpenAI-compatible chat-completions server.

A hosted model, a model fine-tuned through a fine-tuning API, or local weights behind
``vllm serve`` or ``transformers serve``. The server applies the chat template, so what a
prompt "renders" to here is the JSON of the message list actually sent; with the served
model name and the sampling config it is exactly what the generation cache key covers.

Every request states ``max_tokens``, temperature, top_p and seed: a server's defaults
(``transformers serve`` allows 1024 new tokens, OpenAI ``inf``) are never relied on.
Requests go through ``alignscope.http.ChatClient`` (concurrency, retries with backoff,
Retry-After, key scrubbing). Successes are handed on in small groups as they finish; a
request that still fails after its retries is not stored, and the run ends with one
error line counting them, so a re-run asks again for exactly those.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Literal

from alignscope.errors import AlignscopeError
from alignscope.generate._hf import SamplingConfig
from alignscope.http import ChatClient, ChatReply, ChatRequest, EndpointConfig, public_url
from alignscope.models import ResolvedModel
from alignscope.progress import console


def served_name(resolved: ResolvedModel, key: str, served_names: dict[str, str]) -> str:
    """The name a server knows model ``key`` by: ``served_names[key]``, else the ``api:`` name, else
    the local directory or Hub id (``vllm serve`` and ``transformers serve`` load a model by path).

    Raises:
        AlignscopeError: for a LoRA adapter with no served name (a server cannot load one by path).
    """
    if key in served_names:
        return served_names[key]
    if resolved.kind == "adapter":
        raise AlignscopeError(
            f"model {key!r} is a LoRA adapter ({resolved.path}): a server cannot load it by path. Serve it with "
            f"`vllm serve BASE --enable-lora --lora-modules NAME={resolved.path}` and set "
            f"evaluation.generate.served_names: {{{key}: NAME}}, or fine-tune with train.save: merged"
        )
    return resolved.path


def render_messages(prompt: str, system_prompt: str | None) -> str:
    """The chat messages for one prompt, as the JSON string the cache key hashes."""
    messages = ([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}
    ]
    return json.dumps(messages, ensure_ascii=False)


def as_output(reply: ChatReply) -> dict:
    # stripped like the hf backend's decode, so the two backends' texts compare equal
    return {
        "text": reply.text.strip(),
        "tokens": reply.completion_tokens,
        "finish_reason": reply.finish_reason or "unknown",
    }


class ApiGenerator:
    """The ``api`` backend: one served model behind an OpenAI-compatible endpoint."""

    backend: Literal["api"] = "api"

    def __init__(self, endpoint: EndpointConfig, name: str, flush_every: int = 8) -> None:
        """Generate with the model ``endpoint`` serves as ``name``.

        Args:
            endpoint: the server, with the judge's concurrency and retry knobs.
            name: the name the server knows the model by (sent as ``model``).
            flush_every: successes handed to ``on_batch`` at a time (a kill loses fewer than this).
        """
        self.client = ChatClient(endpoint)
        self.served_name = name
        self.flush_every = flush_every

    @property
    def stats(self) -> dict[str, int]:
        """Requests sent (retries included), retries, and requests that finally failed."""
        return self.client.stats

    def request(self, rendered: str, sampling: SamplingConfig) -> ChatRequest:
        return ChatRequest(
            json.loads(rendered),
            model=self.served_name,
            max_tokens=sampling.max_new_tokens,
            temperature=sampling.temperature,
            top_p=sampling.top_p,
            seed=sampling.seed,
        )

    def generate(
        self, rendered: list[str], sampling: SamplingConfig, on_batch: Callable[[list[int], list[dict]], None]
    ) -> None:
        """Generate for every rendered prompt (``render_messages`` JSON); ``on_batch(indices, outputs)`` as they finish.

        Raises:
            AlignscopeError: after all requests are done, if any failed for good (the rest are stored).
        """
        done: list[tuple[int, dict]] = []
        failures: list[Exception] = []

        def flush() -> None:
            if done:
                on_batch([i for i, _ in done], [o for _, o in done])
                done.clear()

        def collect(i: int, result: ChatReply | Exception) -> None:
            if isinstance(result, Exception):
                failures.append(result)
                return
            done.append((i, as_output(result)))
            if len(done) >= self.flush_every:
                flush()

        self.client.complete([self.request(r, sampling) for r in rendered], collect)
        flush()
        st = self.stats
        console.print(
            f"api {self.served_name}: {st['requests']} requests, {st['retries']} retries, {st['failed']} failed",
            style="dim",
            markup=False,
            highlight=False,
        )
        if failures:
            raise self.failure(len(failures), len(rendered), failures[-1])

    def failure(self, n_failed: int, n: int, last: Exception) -> AlignscopeError:
        reason = " ".join(str(last).split())[:200]  # one line, whatever the server said
        return AlignscopeError(
            f"api generation ({self.served_name} at {public_url(self.client.cfg.base_url)}): {n_failed} of {n} "
            f"requests failed for good (last: {reason}); the {n - n_failed} that succeeded are stored, and a re-run "
            f"retries only the {n_failed} missing"
        )
