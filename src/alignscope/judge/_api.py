"""Calling an OpenAI-compatible chat-completions endpoint, politely and without losing work.

Judges send plain message lists (``ChatClient.run``: the endpoint's model, temperature 0,
its ``max_tokens``); the ``api`` generation backend sends ``ChatRequest``s that carry their
own model and sampling parameters (``ChatClient.complete``).

Requests run concurrently up to ``concurrency``. A request that fails with 429, a 5xx, a
timeout, a dropped connection or an unreadable body is retried with exponential backoff and
full jitter; a ``Retry-After`` header is honoured. After ``max_attempts`` the caller gets the
exception back (never a made-up answer): an error verdict for a judge, a response left
unstored for the generator.

The API key is read from the environment variable the config names, and is scrubbed from
every error message this module produces.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from alignscope.errors import AlignscopeError

_ENV_REF = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def expand_env(value: str) -> str:
    """``${VAR}`` / ``${VAR:-default}`` expansion, as in shell and docker-compose files."""

    def sub(m: re.Match) -> str:
        got = os.environ.get(m.group(1))
        if got is None and m.group(2) is None:
            raise AlignscopeError(f"environment variable {m.group(1)} is not set (used in {value!r})")
        return got if got is not None else m.group(2)

    return _ENV_REF.sub(sub, value)


class EndpointConfig(BaseModel):
    """Where and how to call a chat-completions judge model."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field("https://api.openai.com/v1", description="any OpenAI-compatible server; ${VAR:-default} expands")
    model: str = Field(..., description="the judge model name the server knows; ${VAR:-default} expands")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="name of the env var holding the key; None = no key")
    concurrency: int = Field(16, ge=1, description="requests in flight at once")
    max_attempts: int = Field(6, ge=1, description="tries per request before it becomes an error verdict")
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    backoff_base: float = Field(0.5, gt=0, description="first backoff ceiling in seconds; doubles per attempt")
    backoff_max: float = Field(30.0, gt=0, description="backoff ceiling (a Retry-After header may ask for more)")
    max_tokens: int = Field(512, ge=1)

    def resolved(self) -> EndpointConfig:
        model = expand_env(self.model) if self.model is not None else None  # None: each request names its model
        return self.model_copy(update={"base_url": expand_env(self.base_url), "model": model})

    def api_key(self) -> str:
        if self.api_key_env is None:
            return "not-needed"
        key = os.environ.get(self.api_key_env)
        if not key:
            raise AlignscopeError(f"endpoint {self.base_url}: environment variable {self.api_key_env} (the API key) is not set"
                                  " (a server that needs no key, e.g. a local one: set api_key_env: null)")
        return key


def scrub(text: str, key: str) -> str:
    """``text`` with the API key masked, for anything that may be printed or stored."""
    return text.replace(key, "***") if len(key) >= 4 else text


@dataclass(frozen=True)
class ChatRequest:
    """One chat completion to ask for. ``None`` fields are not sent (the server's default applies)."""

    messages: list[dict]
    model: str | None = None  # None: the endpoint's model
    max_tokens: int | None = None  # None: the endpoint's max_tokens
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None


@dataclass(frozen=True)
class ChatReply:
    text: str
    finish_reason: str | None
    completion_tokens: int | None  # None: the server reported no usage


class RetryableError(Exception):
    """A failure worth another try (rate limit, server error, timeout, garbage)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


def _retry_after(response: Any) -> float | None:
    try:
        value = response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None  # an HTTP date or junk: fall back to our own backoff


def classify(exc: Exception) -> Exception:
    """Map an ``openai`` exception to RetryableError or leave it fatal (400, 401, 404…)."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        if exc.status_code == 429 or exc.status_code >= 500 or exc.status_code == 408:
            return RetryableError(f"HTTP {exc.status_code}", _retry_after(exc.response))
        return exc
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.APIResponseValidationError)):
        return RetryableError(type(exc).__name__)
    if isinstance(exc, (ValueError, KeyError, AttributeError, TypeError)):  # body that is not a completion
        return RetryableError(f"malformed response ({type(exc).__name__})")
    return exc


def backoff_delay(attempt: int, base: float, cap: float, retry_after: float | None, rng: random.Random) -> float:
    """Seconds to wait before try ``attempt + 1``: full jitter, or at least what the server asked."""
    jitter = rng.uniform(0, min(cap, base * 2**attempt))
    return max(retry_after, jitter) if retry_after is not None else jitter


class ChatClient:
    """Send many chat requests; get back, per request, the reply text or the final exception."""

    def __init__(self, cfg: EndpointConfig, seed: int = 0) -> None:
        self.cfg = cfg.resolved()
        self._key = self.cfg.api_key()
        self._rng = random.Random(seed)
        self.stats = {"requests": 0, "retries": 0, "failed": 0}

    def scrub(self, text: str) -> str:
        return scrub(text, self._key)

    def run(self, requests: list[list[dict]], on_done: Callable[[int, str | Exception], None] | None = None) -> list[str | Exception]:
        """Judge-style requests (message lists, temperature 0); ``on_done(i, text or exception)`` as each finishes."""

        def text_of(result: ChatReply | Exception) -> str | Exception:
            return result.text if isinstance(result, ChatReply) else result

        done = (lambda i, result: on_done(i, text_of(result))) if on_done else None
        return [text_of(r) for r in self.complete([ChatRequest(m) for m in requests], done)]

    def complete(self, requests: list[ChatRequest], on_done: Callable[[int, ChatReply | Exception], None] | None = None,
                 ) -> list[ChatReply | Exception]:
        """Run every request; ``on_done(i, result)`` fires (in this thread) as each finishes."""
        return asyncio.run(self._run_all(requests, on_done))

    async def _run_all(self, requests: list[ChatRequest], on_done: Callable | None) -> list[ChatReply | Exception]:
        import openai

        client = openai.AsyncOpenAI(base_url=self.cfg.base_url, api_key=self._key, max_retries=0, timeout=self.cfg.timeout)
        gate = asyncio.Semaphore(self.cfg.concurrency)

        async def one(i: int, request: ChatRequest) -> ChatReply | Exception:
            async with gate:
                result = await self._with_retries(client, request)
            if on_done:
                on_done(i, result)
            return result

        try:
            return list(await asyncio.gather(*(one(i, r) for i, r in enumerate(requests))))
        finally:
            await client.close()

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params = {"model": request.model or self.cfg.model, "messages": request.messages, "temperature": request.temperature,
                  "max_tokens": request.max_tokens or self.cfg.max_tokens, "top_p": request.top_p, "seed": request.seed}
        return {k: v for k, v in params.items() if v is not None}

    async def _with_retries(self, client: Any, request: ChatRequest) -> ChatReply | Exception:
        for attempt in range(self.cfg.max_attempts):
            self.stats["requests"] += 1
            try:
                reply = await client.chat.completions.create(**self._params(request))
                choice = reply.choices[0]
                if not isinstance(choice.message.content, str):
                    raise TypeError("completion has no text content")
                usage = getattr(reply, "usage", None)
                return ChatReply(choice.message.content, choice.finish_reason, getattr(usage, "completion_tokens", None))
            except Exception as e:  # noqa: BLE001 - classified below; nothing escapes unrecorded
                err = classify(e)
                if not isinstance(err, RetryableError):
                    self.stats["failed"] += 1
                    return RuntimeError(self.scrub(f"{type(e).__name__}: {e}"))
                if attempt + 1 == self.cfg.max_attempts:
                    self.stats["failed"] += 1
                    return RuntimeError(self.scrub(f"gave up after {self.cfg.max_attempts} attempts; last: {err}"))
                self.stats["retries"] += 1
                await asyncio.sleep(backoff_delay(attempt, self.cfg.backoff_base, self.cfg.backoff_max, err.retry_after, self._rng))
        raise AssertionError("unreachable")
