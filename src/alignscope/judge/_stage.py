"""The judge stage: verdicts cached by (judge, prompt, response); failures are verdicts too."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Protocol

from alignscope.data import Verdict
from alignscope.errors import AlignscopeError
from alignscope.judge._keyword import KeywordJudge
from alignscope.store import Store


class Judge(Protocol):
    key: str

    def judge_one(self, generation_id: str, prompt: str, response: str) -> Verdict: ...


JUDGES: dict[str, Callable[[], Judge]] = {"keyword": KeywordJudge}


def get_judge(name: str) -> Judge:
    if name not in JUDGES:
        raise AlignscopeError(f"unknown judge {name!r}; available: {', '.join(sorted(JUDGES))}")
    return JUDGES[name]()


def verdict_key(judge_key: str, prompt: str, response: str) -> str:
    return hashlib.sha256(f"{judge_key}\x00{prompt}\x00{response}".encode()).hexdigest()


def judge_cached(judge: Judge, items: list[tuple[str, str, str]], store: Store) -> list[dict]:
    """Judge (generation key, prompt, response) triples; return one verdict row per item.

    A judge that raises produces a verdict with ``error`` set and no score, never a silent
    "safe" or "unsafe".
    """
    keys = [verdict_key(judge.key, p, r) for _, p, r in items]
    have = store.get_verdicts(keys)
    new = []
    for key, (gen_key, prompt, response) in zip(keys, items):
        if key in have:
            continue
        try:
            v = judge.judge_one(gen_key, prompt, response)
        except Exception as e:  # noqa: BLE001 - any judge failure becomes an error verdict
            v = Verdict(gen_key, judge.key, None, None, error=f"{type(e).__name__}: {e}")
        new.append({"key": key, "generation_key": gen_key, "judge_key": judge.key, "score": v.score,
                    "label": v.label, "raw": v.raw, "error": v.error})
    if new:
        store.put_verdicts(new)
        have = store.get_verdicts(keys)
    return [have[k] for k in keys]
