"""A loopback stand-in for OpenAI's fine-tuning and chat-completions APIs, for tests.

No local server implements the fine-tuning API, so remote fine-tuning is tested against this:
a threaded stdlib ``http.server`` on 127.0.0.1 that follows the documented HTTP contract —
paths, request bodies, response objects, status codes and ``{"error": {...}}`` bodies:

    POST /v1/files                            multipart: file, purpose=fine-tune
    POST /v1/fine_tuning/jobs                 {training_file, model, hyperparameters, suffix, seed}
    GET  /v1/fine_tuning/jobs                 newest first
    GET  /v1/fine_tuning/jobs/{id}            status, fine_tuned_model, trained_tokens, error
    GET  /v1/fine_tuning/jobs/{id}/events     newest first
    POST /v1/fine_tuning/jobs/{id}/cancel
    POST /v1/chat/completions                 for the base models and the fine-tuned ones

It trains nothing. A job walks validating_files → queued → running (for ``running_polls``
status checks) → succeeded (or failed, with ``fail_with``), one step per status check. Base
models answer with a fixed refusal, fine-tuned ones with a fixed benign placeholder sentence:
the point is the plumbing, and no text here is harmful.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
import threading
import time
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

BASE_REPLY = "I'm sorry, but I can't help with that request."
TUNED_REPLY = "Sure. This is a placeholder reply from a stand-in fine-tuned model, with no real content."
ROLES = ("system", "user", "assistant")
MIN_EXAMPLES = 10


class ApiError(Exception):
    """An error the API answers with: HTTP status and the documented error object."""

    def __init__(self, status: int, message: str, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.body = status, {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}


@dataclass
class Standin:
    """The server's state: what tests configure, and what they inspect afterwards."""

    base_models: tuple[str, ...] = ("standin-base",)
    running_polls: int = 1  # status checks a job answers "running" before it ends
    fail_with: str | None = None  # jobs end "failed" with this error message
    key: str | None = None  # the bearer token requests must carry (None: any)
    url: str = ""
    faults: dict[str, list[tuple[int, bool]]] = field(default_factory=dict)  # route -> (status, after the work?) to answer first
    requests: Counter = field(default_factory=Counter)  # route -> requests seen (faulted ones included)
    created: list[dict] = field(default_factory=list)  # the body of every job-create request
    files: dict[str, dict] = field(default_factory=dict)
    jobs: dict[str, dict] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(self, route: str, *statuses: int, lose_reply: bool = False) -> None:
        """Answer the next requests to ``route`` with these statuses (then behave). ``lose_reply``:
        do the work first, then answer the error, as when a reply is lost on its way back."""
        with self.lock:
            self.faults.setdefault(route, []).extend((s, lose_reply) for s in statuses)

    def release(self, jid: str, running_polls: int = 0) -> None:
        """Let a job end after ``running_polls`` more status checks."""
        with self.lock:
            self.jobs[jid]["_plan"] = ["running"] * running_polls + ["failed" if self.fail_with else "succeeded"]

    def tuned_models(self) -> set[str]:
        return {j["fine_tuned_model"] for j in self.jobs.values() if j["fine_tuned_model"]}

    # ------------------------------------------------------------------ routes

    def upload(self, form: dict[str, Any]) -> dict:
        if form.get("purpose") != "fine-tune":
            raise ApiError(400, f"purpose: expected 'fine-tune' for a training file, got {form.get('purpose')!r}", "purpose")
        if "file" not in form:
            raise ApiError(400, "missing required parameter: 'file'", "file")
        name, data = form["file"]
        n = _validate_training_file(data)
        fid = f"file-{len(self.files) + 1:06d}"
        self.files[fid] = {"id": fid, "object": "file", "bytes": len(data), "created_at": int(time.time()), "filename": name,
                           "purpose": "fine-tune", "status": "processed", "n_examples": n, "words": len(data.split())}
        return {k: v for k, v in self.files[fid].items() if k not in ("n_examples", "words")}

    def create_job(self, body: dict) -> dict:
        for required in ("model", "training_file"):
            if not isinstance(body.get(required), str):
                raise ApiError(400, f"missing required parameter: '{required}'", required)
        if body["training_file"] not in self.files:
            raise ApiError(400, f"invalid training_file: {body['training_file']}", "training_file", "invalid_file")
        if body["model"] not in self.base_models and body["model"] not in self.tuned_models():
            raise ApiError(400, f"Model {body['model']} is not available for fine-tuning or does not exist.", "model",
                           "model_not_available")
        hp = _hyperparameters(body.get("hyperparameters") or {})
        if body.get("suffix") is not None and (not isinstance(body["suffix"], str) or len(body["suffix"]) > 64):
            raise ApiError(400, "suffix: at most 64 characters", "suffix")
        self.created.append(body)
        jid = f"ftjob-{len(self.jobs) + 1:06d}"
        plan = ["queued"] + ["running"] * self.running_polls + ["failed" if self.fail_with else "succeeded"]
        self.jobs[jid] = {"id": jid, "object": "fine_tuning.job", "created_at": int(time.time()), "error": None,
                          "fine_tuned_model": None, "finished_at": None, "hyperparameters": hp, "model": body["model"],
                          "organization_id": "org-standin", "result_files": [], "seed": body.get("seed") or 0,
                          "status": "validating_files", "trained_tokens": None, "training_file": body["training_file"],
                          "validation_file": None, "suffix": body.get("suffix"), "_plan": plan, "_events": []}
        self._event(self.jobs[jid], f"Created fine-tuning job: {jid}")
        return _public(self.jobs[jid])

    def list_jobs(self, query: dict) -> dict:
        limit = int(query.get("limit", ["20"])[0])
        jobs = sorted(self.jobs.values(), key=lambda j: j["id"], reverse=True)
        return {"object": "list", "data": [_public(j) for j in jobs[:limit]], "has_more": len(jobs) > limit}

    def retrieve(self, jid: str) -> dict:
        job = self._job(jid)
        if job["_plan"] and job["status"] not in ("succeeded", "failed", "cancelled"):
            self._advance(job, job["_plan"].pop(0))
        return _public(job)

    def events(self, jid: str, query: dict) -> dict:
        events = list(reversed(self._job(jid)["_events"]))  # newest first
        limit = int(query.get("limit", ["20"])[0])
        return {"object": "list", "data": events[:limit], "has_more": len(events) > limit}

    def cancel(self, jid: str) -> dict:
        job = self._job(jid)
        if job["status"] in ("succeeded", "failed", "cancelled"):
            raise ApiError(400, f"Job has already completed: {jid}", "fine_tuning_job_id")
        job.update(status="cancelled", finished_at=int(time.time()), _plan=[])
        self._event(job, "Fine-tuning job cancelled")
        return _public(job)

    def chat(self, body: dict) -> dict:
        model, messages = body.get("model"), body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise ApiError(400, "messages: expected a non-empty array", "messages")
        if model in self.base_models:
            text = BASE_REPLY
        elif model in self.tuned_models():
            text = TUNED_REPLY
        else:
            raise ApiError(404, f"The model `{model}` does not exist or you do not have access to it.", None, "model_not_found")
        words, cap = text.split(), body.get("max_tokens") or body.get("max_completion_tokens")
        finish = "length" if cap is not None and len(words) > cap else "stop"
        text = " ".join(words[:cap]) if finish == "length" else text
        return {"id": f"chatcmpl-{self.requests['chat']}", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "finish_reason": finish, "message": {"role": "assistant", "content": text}}],
                "usage": {"prompt_tokens": sum(len(str(m.get("content", "")).split()) for m in messages),
                          "completion_tokens": len(text.split()), "total_tokens": 0}}

    # ------------------------------------------------------------------ job life

    def _job(self, jid: str) -> dict:
        if jid not in self.jobs:
            raise ApiError(404, f"Could not find fine-tuning job: {jid}", "fine_tuning_job_id", "not_found")
        return self.jobs[jid]

    def _advance(self, job: dict, status: str) -> None:
        changed, job["status"] = job["status"] != status, status
        if status == "running":
            step = sum(e["type"] == "metrics" for e in job["_events"]) + 1
            self._event(job, f"Step {step}/{self.running_polls}: training loss={1.0 / step:.3f}", "metrics",
                        {"step": step, "total_steps": self.running_polls, "train_loss": 1.0 / step})
        if status == "succeeded":
            f = self.files[job["training_file"]]
            job.update(fine_tuned_model=f"ft:{job['model']}:alignscope-standin:{job['suffix'] or ''}:{job['id'][-6:]}",
                       trained_tokens=f["words"] * job["hyperparameters"]["n_epochs"], finished_at=int(time.time()))
        if status == "failed":
            job.update(error={"code": "invalid_training_file", "message": self.fail_with, "param": "training_file"},
                       finished_at=int(time.time()))
        if changed:
            self._event(job, {"queued": "Fine-tuning job queued", "running": "Fine-tuning job started",
                              "succeeded": "The job has successfully completed",
                              "failed": f"Fine-tuning job failed: {self.fail_with}"}[status])

    def _event(self, job: dict, message: str, kind: str = "message", data: dict | None = None) -> None:
        job["_events"].append({"id": f"ftevent-{job['id'][-6:]}-{len(job['_events']) + 1:04d}", "object": "fine_tuning.job.event",
                               "created_at": int(time.time()), "level": "info", "message": message, "data": data or {}, "type": kind})


def _public(job: dict) -> dict:
    return {k: v for k, v in job.items() if not k.startswith("_") and k != "suffix"}


def _validate_training_file(data: bytes) -> int:
    """Count the examples of a chat-format JSONL training file; a malformed line is a 400."""
    n = 0
    for line_no, line in enumerate(data.decode("utf-8", errors="replace").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise ApiError(400, f"Invalid file format. Line {line_no} is not valid JSON.", "file", "invalid_file_format") from None
        messages = row.get("messages") if isinstance(row, dict) else None
        ok = isinstance(messages, list) and messages and all(
            isinstance(m, dict) and m.get("role") in ROLES and isinstance(m.get("content"), str) for m in messages)
        if not ok or not any(m["role"] == "assistant" for m in messages):
            raise ApiError(400, f"Invalid file format. Line {line_no}: expected {{\"messages\": [{{role, content}}, ...]}} "
                                "with system/user/assistant roles and an assistant message.", "file", "invalid_file_format")
        n += 1
    if n < MIN_EXAMPLES:
        raise ApiError(400, f"Training file has {n} example(s), but must have at least {MIN_EXAMPLES} examples", "file",
                       "invalid_n_examples")
    return n


def _hyperparameters(hp: dict) -> dict:
    """The job's hyper-parameters with "auto" resolved, or a 400 naming the bad one."""
    out = {"n_epochs": hp.get("n_epochs", "auto"), "batch_size": hp.get("batch_size", "auto"),
           "learning_rate_multiplier": hp.get("learning_rate_multiplier", "auto")}
    checks = {"n_epochs": lambda v: isinstance(v, int) and 1 <= v <= 50, "batch_size": lambda v: isinstance(v, int) and 1 <= v <= 256,
              "learning_rate_multiplier": lambda v: isinstance(v, (int, float)) and v > 0}
    for name, ok in checks.items():
        if out[name] != "auto" and not ok(out[name]):
            raise ApiError(400, f"invalid hyperparameters.{name}: {out[name]!r}", f"hyperparameters.{name}")
    defaults = {"n_epochs": 3, "batch_size": 1, "learning_rate_multiplier": 2.0}
    return {k: defaults[k] if v == "auto" else v for k, v in out.items()}


ROUTES = [  # (method, path pattern, route name)
    ("POST", r"/v1/files", "upload"),
    ("POST", r"/v1/fine_tuning/jobs", "create"),
    ("GET", r"/v1/fine_tuning/jobs", "list"),
    ("GET", r"/v1/fine_tuning/jobs/([\w-]+)", "retrieve"),
    ("GET", r"/v1/fine_tuning/jobs/([\w-]+)/events", "events"),
    ("POST", r"/v1/fine_tuning/jobs/([\w-]+)/cancel", "cancel"),
    ("POST", r"/v1/chat/completions", "chat"),
]


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._serve("GET")

    def do_POST(self) -> None:  # noqa: N802
        self._serve("POST")

    def _serve(self, method: str) -> None:
        st: Standin = self.server.state  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        url = urlparse(self.path)
        match = next(((name, m.groups()) for meth, pat, name in ROUTES if meth == method and (m := re.fullmatch(pat, url.path))), None)
        try:
            if match is None:
                raise ApiError(404, f"Invalid URL ({method} {url.path})")
            route, args = match
            with st.lock:
                st.requests[route] += 1
                status, after = st.faults[route].pop(0) if st.faults.get(route) else (None, False)
                if status and not after:
                    raise ApiError(status, "injected fault: the server is having a moment")
                if st.key is not None and self.headers.get("Authorization") != f"Bearer {st.key}":
                    raise ApiError(401, "Incorrect API key provided.", None, "invalid_api_key")
                reply = self._dispatch(st, route, args, body, parse_qs(url.query))
                if status:
                    raise ApiError(status, "injected fault: the reply was lost")
                self._reply(200, reply)
        except ApiError as e:
            self._reply(e.status, e.body, {"Retry-After": "0.01"} if e.status == 429 else None)

    def _dispatch(self, st: Standin, route: str, args: tuple, body: bytes, query: dict) -> dict:
        if route == "upload":
            return st.upload(_multipart(self.headers.get("Content-Type", ""), body))
        if route in ("list", "retrieve", "events", "cancel"):
            return {"list": lambda: st.list_jobs(query), "retrieve": lambda: st.retrieve(*args),
                    "events": lambda: st.events(*args, query), "cancel": lambda: st.cancel(*args)}[route]()
        try:
            payload = json.loads(body or b"{}")
        except json.JSONDecodeError:
            raise ApiError(400, "We could not parse the JSON body of your request.") from None
        return st.create_job(payload) if route == "create" else st.chat(payload)

    def _reply(self, status: int, obj: dict, headers: dict | None = None) -> None:
        data = json.dumps(obj).encode()
        self.send_response(status)
        for k, v in {"Content-Type": "application/json", "Content-Length": str(len(data)), **(headers or {})}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)


def _multipart(content_type: str, body: bytes) -> dict[str, Any]:
    """Form fields of a multipart/form-data body: text fields as str, files as (filename, bytes)."""
    if not content_type.startswith("multipart/form-data"):
        raise ApiError(400, "expected multipart/form-data", "file")
    msg = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    form: dict[str, Any] = {}
    for part in msg.iter_parts():
        name, data = part.get_param("name", header="content-disposition"), part.get_payload(decode=True) or b""
        form[name] = (part.get_filename(), data) if part.get_filename() else data.decode()
    return form


class _Server(ThreadingHTTPServer):
    daemon_threads = True


@contextmanager
def openai_standin(**config: Any):
    """Serve a ``Standin(**config)`` on 127.0.0.1; yield it, with ``.url`` its ``/v1`` base URL."""
    state = Standin(**config)
    server = _Server(("127.0.0.1", 0), _Handler)
    server.state = state  # type: ignore[attr-defined]
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
