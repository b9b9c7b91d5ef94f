"""Remote fine-tuning through the OpenAI fine-tuning API: the GPT-3.5 tier of Qi et al. (2023).

A fine-tune whose parent is an ``api:<name>`` model cannot run locally: the provider trains it.
``remote_finetune`` reads top to bottom as the API's own steps:

    validate + write training.jsonl → upload (purpose fine-tune) → create the job → poll → model name

Every step is recorded in ``remote.json`` (atomically) before its request and after it, so a
killed run re-attaches to the job it already paid for instead of starting another one. A job
created by a request whose answer was lost is found again by its training file. A succeeded
job is reused without any request; a failed or cancelled one raises, and the next run starts
a new job. The API key is read from the environment and never written or shown.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel
from rich.markup import escape

from alignscope.data import Conversation
from alignscope.errors import AlignscopeError
from alignscope.http import RequestFailed, RetryPolicy, call_with_retries, expand_env, public_url, scrub
from alignscope.models import API_PREFIX, ResolvedModel
from alignscope.progress import console
from alignscope.provenance import now_iso, stable_hash, write_json_atomic

if TYPE_CHECKING:  # config imports this package: type names only, no import cycle
    from alignscope.config import ApiEndpoint, RemoteTrain
    from alignscope.train._launch import LaunchConfig
    from alignscope.train._sft import TrainConfig

MIN_EXAMPLES = 10  # the fine-tuning API rejects smaller training files
ROLES = ("system", "user", "assistant")
TERMINAL = ("succeeded", "failed", "cancelled")
STATE_FILE = "remote.json"
DATA_FILE = "training.jsonl"
# what a remote job uses from ``train``; any other field changed from its default is ignored
REMOTE_TRAIN_FIELDS = ("epochs", "batch_size", "seed")
# what makes a recorded run the same run
IDENTITY = {"parent", "base_url", "hyperparameters", "suffix", "seed", "data_sha256"}

T = TypeVar("T")


class RemoteJob(BaseModel):
    """The contents of ``remote.json``: enough to re-attach to the job, and its provenance."""

    status: str = "new"  # new | uploading | uploaded | creating | the API's job status
    parent: str
    base_url: str  # without user info: never a credential
    hyperparameters: dict[str, Any]
    suffix: str | None = None
    seed: int
    data_sha256: str
    n_examples: int
    file_id: str | None = None
    job_id: str | None = None
    fine_tuned_model: str | None = None
    trained_tokens: int | None = None
    error: str | None = None
    created: str | None = None
    finished: str | None = None
    previous_jobs: list[dict[str, Any]] = []  # failed or cancelled attempts: {job_id, status, error}


# --------------------------------------------------------------------------- data


def training_rows(conversations: list[Conversation]) -> list[dict]:
    """The training file's rows (``{"messages": [...]}``), checked the way the API checks them.

    Raises:
        AlignscopeError: naming the example (1-based) and field of the first problem, or too few examples.
    """
    if len(conversations) < MIN_EXAMPLES:
        raise AlignscopeError(
            f"remote fine-tuning: the API needs at least {MIN_EXAMPLES} training examples; got {len(conversations)}"
        )
    return [{"messages": _checked_messages(n, c.as_dicts())} for n, c in enumerate(conversations, 1)]


def _checked_messages(n: int, messages: list[dict]) -> list[dict]:
    where = f"training example {n}"
    if not messages:
        raise AlignscopeError(f"{where}: messages: empty")
    for j, m in enumerate(messages):
        if m["role"] not in ROLES:
            raise AlignscopeError(f"{where}: messages[{j}].role: expected one of {', '.join(ROLES)}; got {m['role']!r}")
        if not isinstance(m["content"], str) or not m["content"].strip():
            raise AlignscopeError(f"{where}: messages[{j}].content: missing or empty")
    if not any(m["role"] == "assistant" for m in messages):
        raise AlignscopeError(f"{where}: messages: no assistant message (nothing to learn from)")
    return messages


def hyperparameters(train: TrainConfig, remote: RemoteTrain) -> dict[str, Any]:
    """The API's hyper-parameters: epochs and batch size from ``train``, the multiplier from ``remote``."""
    return {
        "n_epochs": train.epochs,
        "batch_size": train.batch_size,
        "learning_rate_multiplier": remote.learning_rate_multiplier,
    }


def remote_key(
    parent_name: str, conversations: list[Conversation], train: TrainConfig, remote: RemoteTrain, launch: LaunchConfig
) -> str:
    """Cache key of a remote run: parent, data, hyper-parameters, suffix, seed and the server
    (the fine-tuned model exists only there)."""
    return stable_hash(
        {
            "parent": API_PREFIX + parent_name,
            "data": [c.as_dicts() for c in conversations],
            "remote": {**hyperparameters(train, remote), "suffix": remote.suffix, "seed": train.seed},
            "base_url": expand_env(launch.remote.base_url),
        }
    )


# --------------------------------------------------------------------------- the API, with retries


class _Api:
    """The fine-tuning endpoints through the ``openai`` SDK; transient failures retried like every endpoint's."""

    def __init__(self, endpoint: ApiEndpoint, sleep: Callable[[float], None]) -> None:
        import openai

        self.endpoint, self.sleep = endpoint, sleep
        self.base_url = expand_env(endpoint.base_url)
        if endpoint.api_key_env and not os.environ.get(endpoint.api_key_env):
            raise AlignscopeError(
                f"launch.remote: environment variable {endpoint.api_key_env} (the fine-tuning API key) is not set"
            )
        self._key = endpoint.api_key()
        self.client = openai.OpenAI(base_url=self.base_url, api_key=self._key, max_retries=0, timeout=endpoint.timeout)
        self.policy = RetryPolicy.of(endpoint)

    def scrub(self, text: str) -> str:
        return scrub(text, self._key)

    def call(self, what: str, request: Callable[[], T]) -> T:
        """``request()``, retried as ``alignscope.http`` retries (429 / 5xx / timeouts, with backoff).

        Raises:
            AlignscopeError: one line naming ``what``: the API's message, or the give-up and the last failure.
        """
        try:
            return call_with_retries(request, self.policy, self.sleep)
        except RequestFailed as failure:
            detail = str(failure) if failure.gave_up else _api_message(failure.cause)
            raise AlignscopeError(self.scrub(f"{what}: {detail}")) from None


def _api_message(e: Exception) -> str:
    """The API's own error message (``{"error": {"message": ...}}``), with the HTTP status."""
    body, status = getattr(e, "body", None), getattr(e, "status_code", None)
    message = body.get("message") if isinstance(body, dict) else None
    return f"HTTP {status}: {message}" if status and message else f"{type(e).__name__}: {e}"


# --------------------------------------------------------------------------- the steps


def remote_finetune(
    parent_name: str,
    conversations: list[Conversation],
    train: TrainConfig,
    remote: RemoteTrain,
    launch: LaunchConfig,
    state_dir: str | Path,
    *,
    label: str = "remote",
    sleep: Callable[[float], None] = time.sleep,
) -> ResolvedModel:
    """Fine-tune the API model ``parent_name`` remotely; return the fine-tuned model as ``api:<name>``.

    Args:
        parent_name: the model name the API knows (``gpt-3.5-turbo-0613``, or an earlier ``ft:...``).
        conversations: the training examples (at least 10: the API's minimum).
        train: ``epochs``, ``batch_size`` and ``seed`` are sent; the rest applies to local training only.
        remote: the API's learning-rate multiplier and the model-name suffix.
        launch: the endpoint (``launch.remote``), polling intervals and the give-up time.
        state_dir: this run's artifact directory (``remote.json``, ``training.jsonl``), keyed by ``remote_key``.
        label: the model key, for messages.
        sleep: how to wait between polls and retries (tests pass a recorder).

    Raises:
        AlignscopeError: invalid data (nothing is uploaded), a request that failed for good, a
            failed or cancelled job (with the API's message and the job id), or ``timeout_hours``
            passed (the job keeps running; a re-run re-attaches).
    """
    state_dir = Path(state_dir)
    rows = training_rows(conversations)
    state = _start(state_dir, parent_name, rows, train, remote, launch, label)
    if state.status == "succeeded":
        console.print(
            f"[dim]{escape(label)}: cached remote fine-tune {state.fine_tuned_model} (job {state.job_id})[/dim]"
        )
        return _resolved(state)
    api = _Api(launch.remote, sleep)
    if state.file_id is None:
        state = _upload(api, state, rows, state_dir, label)
    if state.job_id is None:
        state = _create_job(api, state, state_dir, label)
    state = _poll(api, state, launch, state_dir, label, sleep)
    if state.status != "succeeded":
        raise AlignscopeError(
            f"{label}: remote fine-tuning job {state.job_id} {state.status}: {state.error or 'no reason given'} "
            f"(details: {state_dir / STATE_FILE}; run again to start a new job)"
        )
    return _resolved(state)


def _start(
    state_dir: Path,
    parent_name: str,
    rows: list[dict],
    train: TrainConfig,
    remote: RemoteTrain,
    launch: LaunchConfig,
    label: str,
) -> RemoteJob:
    """The recorded state of this run, or a fresh one (a failed or cancelled job starts over).

    Raises:
        AlignscopeError: ``state_dir`` records a different run (parent, data, hyper-parameters, server).
    """
    fresh = RemoteJob(
        parent=parent_name,
        base_url=public_url(expand_env(launch.remote.base_url)),
        hyperparameters=hyperparameters(train, remote),
        suffix=remote.suffix,
        seed=train.seed,
        data_sha256=stable_hash([r["messages"] for r in rows]),
        n_examples=len(rows),
    )
    path = state_dir / STATE_FILE
    if not path.is_file():
        _warn_ignored(train, label)
        return fresh
    state = RemoteJob.model_validate_json(path.read_text(encoding="utf-8"))
    if state.model_dump(include=IDENTITY) != fresh.model_dump(include=IDENTITY):
        raise AlignscopeError(
            f"{path}: records a different remote run (parent, data, hyper-parameters or server); use another directory"
        )
    if state.status not in ("failed", "cancelled"):
        if state.job_id and state.status != "succeeded":
            console.print(f"{escape(label)}: re-attaching to remote job {state.job_id} ({state.status})")
        return state
    console.print(
        f"[yellow]{escape(label)}: the previous job {state.job_id} {state.status} ({state.error}); "
        "starting a new job[/yellow]"
    )
    attempt = {"job_id": state.job_id, "status": state.status, "error": state.error}
    return fresh.model_copy(update={"previous_jobs": [*state.previous_jobs, attempt]})


def _warn_ignored(train: TrainConfig, label: str) -> None:
    default = type(train)().model_dump()
    ignored = [k for k, v in train.model_dump().items() if k not in REMOTE_TRAIN_FIELDS and v != default[k]]
    if ignored:
        console.print(
            f"[yellow]{escape(label)}: remote fine-tuning ignores train.{', train.'.join(ignored)} "
            "(the API takes epochs, batch size and remote.learning_rate_multiplier)[/yellow]"
        )


def _save(state_dir: Path, state: RemoteJob, **changes: Any) -> RemoteJob:
    state = state.model_copy(update=changes)
    write_json_atomic(state_dir / STATE_FILE, state.model_dump(mode="json"))
    return state


def _upload(api: _Api, state: RemoteJob, rows: list[dict], state_dir: Path, label: str) -> RemoteJob:
    state = _save(state_dir, state, status="uploading")
    data = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode()
    (state_dir / DATA_FILE).write_bytes(data)  # what was sent, kept for inspection
    console.print(f"{escape(label)}: uploading {len(rows)} examples to {state.base_url}")
    uploaded = api.call(
        "upload training file", lambda: api.client.files.create(file=(DATA_FILE, data), purpose="fine-tune")
    )
    return _save(state_dir, state, status="uploaded", file_id=uploaded.id)


def _create_job(api: _Api, state: RemoteJob, state_dir: Path, label: str) -> RemoteJob:
    """Create the job, unless one on this training file exists already: a run killed (or a request
    timed out) after the server created it but before its id was recorded must not pay twice."""
    state = _save(state_dir, state, status="creating")

    def find_or_create() -> Any:
        import openai

        # newest first; our file was uploaded for this run only, so any job on it is ours
        if existing := [
            j for j in api.client.fine_tuning.jobs.list(limit=100).data if j.training_file == state.file_id
        ]:
            console.print(
                f"{escape(label)}: job {existing[0].id} was already created by an earlier attempt: re-attaching"
            )
            return existing[0]
        assert state.file_id is not None  # uploaded before a job is created
        return api.client.fine_tuning.jobs.create(
            model=state.parent,
            training_file=state.file_id,
            seed=state.seed,
            hyperparameters=state.hyperparameters,  # type: ignore[arg-type]  # a plain dict is what the API takes
            suffix=state.suffix if state.suffix else openai.omit,
        )

    job = api.call("create fine-tuning job", find_or_create)
    hp = state.hyperparameters
    console.print(
        f"[bold]{escape(label)}[/bold]: fine-tuning job {job.id}: {state.parent}, {hp['n_epochs']} epochs, "
        f"batch {hp['batch_size']}, lr multiplier {hp['learning_rate_multiplier']}"
    )
    return _save(state_dir, state, job_id=job.id, status=job.status, created=now_iso())


def poll_waits(first: float, cap: float) -> Iterator[float]:
    """Seconds between status checks: ``first``, then x1.5 each time, never above ``cap``."""
    wait = min(first, cap)
    while True:
        yield wait
        wait = min(wait * 1.5, cap)


def _poll(
    api: _Api, state: RemoteJob, launch: LaunchConfig, state_dir: Path, label: str, sleep: Callable[[float], None]
) -> RemoteJob:
    """Check the job until it ends, recording each change; show its status and new events."""
    deadline = time.monotonic() + launch.timeout_hours * 3600
    waits, seen = poll_waits(launch.poll_interval, launch.poll_max), set[str]()
    job_id = state.job_id
    assert job_id is not None
    while True:
        job = api.call(f"check job {job_id}", lambda: api.client.fine_tuning.jobs.retrieve(job_id))
        _show_events(api, job_id, seen, label)
        if job.status != state.status or job.trained_tokens != state.trained_tokens:
            state = _save(state_dir, state, **_job_fields(job))
            tokens = f", {job.trained_tokens:,} trained tokens" if job.trained_tokens else ""
            console.print(f"{escape(label)}: job {job_id} {job.status}{tokens}")
        if job.status in TERMINAL:
            return state
        wait = next(waits)
        if time.monotonic() + wait > deadline:
            raise AlignscopeError(
                f"{label}: job {job_id} still {job.status} after {launch.timeout_hours:g} h "
                "(launch.timeout_hours); it keeps running on the server: run again to re-attach"
            )
        sleep(wait)


def _job_fields(job: Any) -> dict[str, Any]:
    error = job.error.message if job.error is not None and job.error.message else None
    finished = (
        datetime.fromtimestamp(job.finished_at, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        if job.finished_at
        else None
    )
    return {
        "status": job.status,
        "fine_tuned_model": job.fine_tuned_model,
        "trained_tokens": job.trained_tokens,
        "error": error,
        "finished": finished,
    }


def _show_events(api: _Api, job_id: str, seen: set[str], label: str) -> None:
    """Print the job's new events, oldest first; of the per-step metrics events, only the latest."""
    events = api.call(
        f"list events of job {job_id}", lambda: api.client.fine_tuning.jobs.list_events(job_id, limit=50).data
    )
    new = [e for e in reversed(events) if e.id not in seen]  # the API lists newest first
    seen.update(e.id for e in new)
    metrics = [e for e in new if e.type == "metrics"]
    for e in [e for e in new if e.type != "metrics"] + metrics[-1:]:
        console.print(f"[dim]{escape(label)}: {escape(e.message)}[/dim]")


def _resolved(state: RemoteJob) -> ResolvedModel:
    assert state.fine_tuned_model, "a succeeded job names its model"
    return ResolvedModel(API_PREFIX + state.fine_tuned_model, state.fine_tuned_model, "api")


def remote_provenance(state_dir: str | Path) -> dict[str, Any]:
    """What a report records about a remote fine-tune: job, file, server, hyper-parameters, tokens."""
    state = RemoteJob.model_validate_json((Path(state_dir) / STATE_FILE).read_text(encoding="utf-8"))
    return state.model_dump(
        include={
            "job_id",
            "file_id",
            "base_url",
            "parent",
            "fine_tuned_model",
            "hyperparameters",
            "suffix",
            "seed",
            "data_sha256",
            "n_examples",
            "trained_tokens",
            "created",
            "finished",
        }
    )
