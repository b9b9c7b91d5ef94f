"""HTTP plumbing for every OpenAI-compatible endpoint: the judges, the ``api`` generation
backend and remote fine-tuning all call their servers through this module.

The retry policy, written once (``RetryPolicy``) and used by both loops, the sync
``call_with_retries`` (remote fine-tuning) and the async ``ChatClient`` (judges, generation):

- **Retried**: HTTP 429, 408 and any 5xx; a timeout; a dropped connection; a body that is not a
  completion (``classify``). Anything else (400, 401, 404...) fails at once: another try
  would fail the same way.
- **Backoff**: exponential with full jitter: before try ``n + 2`` wait a uniform random time
  in ``[0, min(backoff_max, backoff_base * 2**n)]`` (``backoff_delay``).
- **Retry-After**: a server that asks for a wait in seconds gets at least that wait, even
  above ``backoff_max``.
- **Give up**: after ``max_attempts`` tries the caller gets the failure back (never a made-up
  answer): an error verdict for a judge, a response left unstored for the generator, an
  ``AlignscopeError`` for a fine-tuning step.

``ChatClient`` runs requests concurrently, up to ``concurrency``. Judges send plain message
lists (``ChatClient.run``: the endpoint's model, temperature 0, its ``max_tokens``); the
``api`` generation backend sends ``ChatRequest``s that carry their own model and sampling
parameters (``ChatClient.complete``).

The API key is read from the environment variable the config names, goes only into the
request's auth header, and is scrubbed (``scrub``) from every error message the callers
produce; an endpoint is shown only as its ``public_url``.
"""

from __future__ import annotations

import asyncio
import os
import random
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field

from alignscope.errors import AlignscopeError

__all__ = [
    "ChatClient",
    "ChatReply",
    "ChatRequest",
    "EndpointConfig",
    "RequestFailed",
    "RetryPolicy",
    "RetryableError",
    "acall_with_retries",
    "backoff_delay",
    "call_with_retries",
    "classify",
    "expand_env",
    "public_url",
    "scrub",
]

T = TypeVar("T")
_ENV_REF = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


# --------------------------------------------------------------------------- endpoint config


def expand_env(value: str) -> str:
    """``${VAR}`` / ``${VAR:-default}`` expansion, as in shell and docker-compose files.

    Raises:
        AlignscopeError: ``VAR`` is not set and no default is given.
    """

    def sub(m: re.Match) -> str:
        got = os.environ.get(m.group(1))
        if got is None and m.group(2) is None:
            raise AlignscopeError(f"environment variable {m.group(1)} is not set (used in {value!r})")
        return got if got is not None else m.group(2)

    return _ENV_REF.sub(sub, value)


class EndpointConfig(BaseModel):
    """Where and how to call a chat-completions judge model."""

    model_config = ConfigDict(extra="forbid")

    base_url: str = Field(
        "https://api.openai.com/v1", description="any OpenAI-compatible server; ${VAR:-default} expands"
    )
    model: str = Field(..., description="the judge model name the server knows; ${VAR:-default} expands")
    api_key_env: str | None = Field("OPENAI_API_KEY", description="name of the env var holding the key; None = no key")
    concurrency: int = Field(16, ge=1, description="requests in flight at once")
    max_attempts: int = Field(6, ge=1, description="tries per request before it becomes an error verdict")
    timeout: float = Field(60.0, gt=0, description="seconds per request")
    backoff_base: float = Field(0.5, gt=0, description="first backoff ceiling in seconds; doubles per attempt")
    backoff_max: float = Field(30.0, gt=0, description="backoff ceiling (a Retry-After header may ask for more)")
    max_tokens: int = Field(512, ge=1)

    def resolved(self) -> EndpointConfig:
        """This config with ``${VAR}`` references in ``base_url`` and ``model`` expanded."""
        model = expand_env(self.model) if self.model is not None else None  # None: each request names its model
        return self.model_copy(update={"base_url": expand_env(self.base_url), "model": model})

    def api_key(self) -> str:
        """The key from ``api_key_env`` (``"not-needed"`` when that is None).

        Raises:
            AlignscopeError: the variable is not set.
        """
        if self.api_key_env is None:
            return "not-needed"
        key = os.environ.get(self.api_key_env)
        if not key:
            raise AlignscopeError(
                f"endpoint {self.base_url}: environment variable {self.api_key_env} (the API key) "
                "is not set (a server that needs no key, e.g. a local one: set api_key_env: null)"
            )
        return key


class ApiEndpoint(EndpointConfig):
    """An OpenAI-compatible server that generates (api backend) or fine-tunes (remote training).

    The same retry, backoff and concurrency knobs as a judge endpoint; the model name is per
    model (see ``GenerateConfig.served_names``), so ``model`` is not set here.
    """

    model: str | None = Field(None, description="unused: each model's served name is used")  # type: ignore[assignment]
    timeout: float = Field(120.0, gt=0, description="seconds per request")


def scrub(text: str, key: str) -> str:
    """``text`` with the API key masked, for anything that may be printed or stored."""
    return text.replace(key, "***") if len(key) >= 4 else text


def public_url(url: str) -> str:
    """``url`` without user info, query or fragment: what a report may show of an endpoint."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


# --------------------------------------------------------------------------- the retry policy


class RetryableError(Exception):
    """A failure worth another try (rate limit, server error, timeout, garbage)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RequestFailed(Exception):
    """A request that failed for good: fatal at once, or still failing after the last try.

    Its message is not scrubbed: callers scrub it (and ``cause``) before showing it.
    """

    def __init__(self, cause: Exception, attempts: int, last: RetryableError | None = None) -> None:
        self.cause, self.attempts, self.last = cause, attempts, last
        super().__init__(
            f"gave up after {attempts} attempts; last: {last}"
            if last is not None
            else f"{type(cause).__name__}: {cause}"
        )

    @property
    def gave_up(self) -> bool:
        """True when every try failed with a retryable error; False for a fatal one."""
        return self.last is not None


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


@dataclass
class RetryPolicy:
    """How many tries, and how long to wait between them: the one policy both retry loops follow."""

    max_attempts: int = 6
    base: float = 0.5  # first backoff ceiling, seconds
    cap: float = 30.0  # backoff ceiling (Retry-After may ask for more)
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    @classmethod
    def of(cls, cfg: EndpointConfig, seed: int = 0) -> RetryPolicy:
        """The policy an endpoint config asks for; ``seed`` fixes the jitter."""
        return cls(cfg.max_attempts, cfg.backoff_base, cfg.backoff_max, random.Random(seed))

    def next_delay(self, attempt: int, exc: Exception) -> float:
        """Seconds to wait after try ``attempt`` (0-based) failed with ``exc``.

        Raises:
            RequestFailed: ``exc`` is not worth a retry, or that was the last try.
        """
        err = classify(exc)
        if not isinstance(err, RetryableError):
            raise RequestFailed(exc, attempt + 1)
        if attempt + 1 >= self.max_attempts:
            raise RequestFailed(exc, attempt + 1, err)
        return backoff_delay(attempt, self.base, self.cap, err.retry_after, self.rng)


def call_with_retries(fn: Callable[[], T], policy: RetryPolicy, sleep: Callable[[float], None] = time.sleep) -> T:
    """``fn()``, retried as ``policy`` says.

    Args:
        fn: one try of the request.
        policy: which failures to retry, how often, and how long to wait.
        sleep: how to wait between tries (tests pass a recorder).

    Raises:
        RequestFailed: a fatal failure, or the last try's.
    """
    attempt = 0
    while True:
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - the policy retries it or raises RequestFailed
            sleep(policy.next_delay(attempt, e))
        attempt += 1


async def acall_with_retries(
    fn: Callable[[], Awaitable[T]], policy: RetryPolicy, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
) -> T:
    """``await fn()``, retried as ``policy`` says: the async twin of ``call_with_retries``.

    Raises:
        RequestFailed: a fatal failure, or the last try's.
    """
    attempt = 0
    while True:
        try:
            return await fn()
        except Exception as e:  # noqa: BLE001 - the policy retries it or raises RequestFailed
            await sleep(policy.next_delay(attempt, e))
        attempt += 1


# --------------------------------------------------------------------------- chat completions


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
    """One completion: its text, why it stopped, and the tokens it took."""

    text: str
    finish_reason: str | None
    completion_tokens: int | None  # None: the server reported no usage


def _reply(completion: Any) -> ChatReply:
    """The reply in an SDK completion; a body without text raises (and is retried as malformed)."""
    choice = completion.choices[0]
    if not isinstance(choice.message.content, str):
        raise TypeError("completion has no text content")
    usage = getattr(completion, "usage", None)
    return ChatReply(choice.message.content, choice.finish_reason, getattr(usage, "completion_tokens", None))


class ChatClient:
    """Send many chat requests; get back, per request, the reply text or the final exception."""

    def __init__(self, cfg: EndpointConfig, seed: int = 0) -> None:
        self.cfg = cfg.resolved()
        self._key = self.cfg.api_key()
        self.policy = RetryPolicy.of(self.cfg, seed)
        self.stats = {"requests": 0, "retries": 0, "failed": 0}

    def scrub(self, text: str) -> str:
        """``text`` with this client's API key masked."""
        return scrub(text, self._key)

    def run(
        self, requests: list[list[dict]], on_done: Callable[[int, str | Exception], None] | None = None
    ) -> list[str | Exception]:
        """Judge-style requests (message lists, temperature 0); ``on_done(i, text or exception)`` as each finishes."""

        def text_of(result: ChatReply | Exception) -> str | Exception:
            return result.text if isinstance(result, ChatReply) else result

        done = (lambda i, result: on_done(i, text_of(result))) if on_done else None
        return [text_of(r) for r in self.complete([ChatRequest(m) for m in requests], done)]

    def complete(
        self,
        requests: list[ChatRequest],
        on_done: Callable[[int, ChatReply | Exception], None] | None = None,
    ) -> list[ChatReply | Exception]:
        """Run every request; ``on_done(i, result)`` fires (in this thread) as each finishes."""
        return asyncio.run(self._run_all(requests, on_done))

    async def _run_all(self, requests: list[ChatRequest], on_done: Callable | None) -> list[ChatReply | Exception]:
        import openai

        client = openai.AsyncOpenAI(
            base_url=self.cfg.base_url, api_key=self._key, max_retries=0, timeout=self.cfg.timeout
        )
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
        params = {
            "model": request.model or self.cfg.model,
            "messages": request.messages,
            "temperature": request.temperature,
            "max_tokens": request.max_tokens or self.cfg.max_tokens,
            "top_p": request.top_p,
            "seed": request.seed,
        }
        return {k: v for k, v in params.items() if v is not None}

    async def _with_retries(self, client: Any, request: ChatRequest) -> ChatReply | Exception:
        """The reply, or a scrubbed RuntimeError once the policy gives up: nothing escapes unrecorded."""

        async def once() -> ChatReply:
            self.stats["requests"] += 1
            return _reply(await client.chat.completions.create(**self._params(request)))

        try:
            return await acall_with_retries(once, self.policy, self._backoff)
        except RequestFailed as failure:
            self.stats["failed"] += 1
            return RuntimeError(self.scrub(str(failure)))

    async def _backoff(self, seconds: float) -> None:
        self.stats["retries"] += 1
        await asyncio.sleep(seconds)
