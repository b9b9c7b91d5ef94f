"""The judge stage: verdicts cached by (judge, prompt, response); failures are verdicts too.

Judges are built from a ``JudgeSpec`` (a name from ``JUDGES`` plus that judge's settings, or
just the name). ``judge_cached`` judges only what the store lacks, in chunks that are each
written in one transaction, so a kill loses at most one chunk and a re-run of the same judge
on the same responses does no work at all. A judge that raises, a request that finally
fails and a reply that does not parse all become verdicts with ``error`` set and no score.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from alignscope.data import Verdict
from alignscope.errors import AlignscopeError
from alignscope.http import EndpointConfig
from alignscope.judge._keyword import KeywordJudge
from alignscope.progress import console, progress_bar
from alignscope.store import Store


class Judge(Protocol):
    """A judge: ``key`` identifies its configuration (verdicts are cached under it); ``kind`` names
    its metrics in the metric registry (``alignscope.metrics.JUDGE_KINDS``; reward models are
    ``reward``, scored by the reward-model study instead)."""

    @property
    def key(self) -> str: ...

    @property
    def kind(self) -> str: ...

    def judge_batch(self, items: list[tuple[str, str, str]]) -> list[Verdict]: ...


class JudgeSpec(BaseModel):
    """One judge of a study: ``name`` picks it from ``JUDGES``; other fields configure it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    label: str | None = Field(None, description="column name in reports (default: name)")
    optional: bool = Field(False, description="skip with a warning when the endpoint's API key is not set")
    endpoint: EndpointConfig | None = Field(None, description="policy / strongreject: the chat-completions endpoint")
    template: str | None = Field(None, description="a judge prompt file (two %s slots for rubric judges)")
    model: str | None = Field(None, description="guard judges: the local classifier model (path or Hub id)")
    format: Literal["llama-guard-3", "harmbench"] = "llama-guard-3"
    batch_size: int = Field(16, ge=1)

    @property
    def display(self) -> str:
        return self.label or self.name

    def missing_key(self) -> str | None:
        """The unset API-key variable that makes this (optional) judge unusable, if any."""
        ep = self.endpoint
        if ep is not None and ep.api_key_env and not os.environ.get(ep.api_key_env):
            return ep.api_key_env
        return None


def _keyword(spec: JudgeSpec, cache_dir: Path) -> Judge:
    return KeywordJudge()


def _classifier(spec: JudgeSpec, cache_dir: Path) -> Judge:
    from alignscope.judge._classifier import RefusalClassifierJudge

    return RefusalClassifierJudge(cache_dir, batch_size=spec.batch_size)


def _rubric(cls_name: str) -> Callable[[JudgeSpec, Path], Judge]:
    def build(spec: JudgeSpec, cache_dir: Path) -> Judge:
        from alignscope.judge import _policy

        if spec.endpoint is None:
            raise AlignscopeError(f"judge {spec.display!r}: needs `endpoint:` (base_url, model, api_key_env)")
        return getattr(_policy, cls_name)(spec.endpoint, spec.template)

    return build


def _guard(spec: JudgeSpec, cache_dir: Path) -> Judge:
    from alignscope.judge._guard import GuardJudge

    if not spec.model:
        raise AlignscopeError(
            f"judge {spec.display!r}: needs `model:` (e.g. meta-llama/Llama-Guard-3-1B or a local path)"
        )
    return GuardJudge(spec.model, cache_dir, spec.format, spec.template, spec.batch_size)


@dataclass(frozen=True)
class JudgeEntry:
    """A judge users can name: how to build it, its kind (its metrics in ``alignscope.metrics``), and
    one line for ``alignscope judges list``."""

    build: Callable[[JudgeSpec, Path], Judge]
    kind: str
    description: str


JUDGES: dict[str, JudgeEntry] = {
    "keyword": JudgeEntry(_keyword, "refusal", "Qi et al.'s refusal keywords (29 strings): offline, instant"),
    "refusal-classifier": JudgeEntry(
        _classifier, "refusal", "offline refusal classifier: a linear probe on SmolLM2, trained on team text"
    ),
    "policy": JudgeEntry(
        _rubric("PolicyJudge"), "harm-score", "Qi et al.'s 1-5 policy rubric through an OpenAI-compatible endpoint"
    ),
    "strongreject": JudgeEntry(
        _rubric("StrongRejectJudge"), "strongreject", "StrongREJECT rubric (0-1) through an OpenAI-compatible endpoint"
    ),
    "guard": JudgeEntry(_guard, "guard", "Llama Guard 3 or HarmBench classifier on a local model (`model:`)"),
}


def as_spec(spec: str | JudgeSpec | dict) -> JudgeSpec:
    if isinstance(spec, JudgeSpec):
        return spec
    return JudgeSpec(name=spec) if isinstance(spec, str) else JudgeSpec(**spec)


def get_judge(spec: str | JudgeSpec | dict, cache_dir: str | Path = ".alignscope") -> Judge:
    """Build a judge from a name or spec. ``cache_dir`` holds models a judge needs."""
    spec = as_spec(spec)
    if spec.name not in JUDGES:
        raise AlignscopeError(f"unknown judge {spec.name!r}; available: {', '.join(sorted(JUDGES))}")
    return JUDGES[spec.name].build(spec, Path(cache_dir))


def build_judges(
    specs: Sequence[str | JudgeSpec | dict], cache_dir: str | Path, skipped: list[tuple[str, str]] | None = None
) -> dict[str, Judge]:
    """A study's judges by display name; optional ones whose API key is unset are skipped, with a line
    (and, when ``skipped`` is given, an entry ``(display name, reason)`` in it)."""
    judges: dict[str, Judge] = {}
    for spec in map(as_spec, specs):
        if spec.display in judges:
            raise AlignscopeError(f"two judges are both called {spec.display!r}: give one a `label:`")
        if spec.optional and (var := spec.missing_key()):
            console.print(f"[yellow]skipping judge {spec.display}: ${var} is not set (optional)[/yellow]")
            if skipped is not None:
                skipped.append((spec.display, f"${var} (its API key) is not set; the judge is optional"))
            continue
        judges[spec.display] = get_judge(spec, cache_dir)
    return judges


def verdict_key(judge_key: str, prompt: str, response: str) -> str:
    return hashlib.sha256(f"{judge_key}\x00{prompt}\x00{response}".encode()).hexdigest()


def _run_chunk(judge: Judge, chunk: list[tuple[str, str, str]]) -> list[Verdict]:
    try:
        verdicts = judge.judge_batch(chunk)
        if len(verdicts) != len(chunk):
            raise RuntimeError(f"judge returned {len(verdicts)} verdicts for {len(chunk)} items")
        return verdicts
    except Exception as e:  # noqa: BLE001 - any judge failure becomes an error verdict
        return [Verdict(gid, judge.key, None, None, error=f"{type(e).__name__}: {e}") for gid, _, _ in chunk]


PARSE_FAILURE = "unparseable verdict"


def worth_retrying(error: str | None) -> bool:
    """Transport failures are retried on a re-run; a reply that did not parse is final
    (temperature 0: asking again gets the same reply)."""
    return error is not None and error != "" and not error.startswith(PARSE_FAILURE)


def judge_cached(
    judge: Judge, items: list[tuple[str, str, str]], store: Store, chunk_size: int = 64, description: str | None = None
) -> list[Verdict]:
    """Judge (generation key, prompt, response) triples; return one stored verdict per item.

    Only items without a stored verdict, or whose stored verdict is a transport error, are
    judged, so a re-run fills in failures and otherwise makes no calls.
    """
    keys = [verdict_key(judge.key, p, r) for _, p, r in items]
    have = store.get_verdicts(keys)
    todo = [(k, item) for k, item in zip(keys, items) if k not in have or worth_retrying(have[k]["error"])]
    todo = list({k: item for k, item in todo}.items())  # the same (prompt, response) twice is judged once
    if todo:
        with progress_bar(description or f"judge {judge.key}", len(todo)) as advance:
            for start in range(0, len(todo), chunk_size):
                chunk = todo[start : start + chunk_size]
                verdicts = _run_chunk(judge, [item for _, item in chunk])
                store.put_verdicts(
                    [
                        {
                            "key": k,
                            "generation_key": v.generation_id,
                            "judge_key": judge.key,
                            "score": v.score,
                            "label": v.label,
                            "raw": v.raw,
                            "error": v.error,
                        }
                        for (k, _), v in zip(chunk, verdicts)
                    ],
                    replace_errors=True,
                )
                advance(len(chunk), info=f"{sum(v.error is not None for v in verdicts)} failed")
        have = store.get_verdicts(keys)
    return [stored_verdict(have[k]) for k in keys]


def stored_verdict(row: dict) -> Verdict:
    """A verdict as the store holds it (``generation_id`` is the first generation judged with this text)."""
    return Verdict(
        row["generation_key"], row["judge_key"], row["score"], row["label"], row["raw"], row["error"], row["key"]
    )
