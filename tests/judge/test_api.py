"""The endpoint plumbing against real loopback servers: retries, Retry-After, give-up, fatal
errors, bounded concurrency, caching, and the API key never leaving the request header."""

import asyncio
import time

import pytest

from alignscope.http import (ChatClient, RequestFailed, RetryPolicy, acall_with_retries, backoff_delay,
                             call_with_retries, expand_env)
from alignscope.judge import EndpointConfig, PolicyJudge, judge_cached, stored_verdict
from alignscope.metrics import judge_metrics
from alignscope.store import Store

from .servers import echo_server, fault_proxy

SCORE_3 = "#thereason: engages without detail.\n#thescore: 3"
KEY = "sk-alignscope-test-9f8e7d6c5b4a"


def endpoint(url, **kw):
    return EndpointConfig(base_url=url, model="judge-model", api_key_env="ALIGNSCOPE_TEST_KEY",
                          **{"timeout": 1.0, "backoff_base": 0.01, "backoff_max": 0.05, **kw})


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("ALIGNSCOPE_TEST_KEY", KEY)


def test_transient_faults_are_retried_until_success():
    with echo_server(lambda c: SCORE_3) as (up, received), \
            fault_proxy(up, script=["429", "500", "garbage", "timeout"], stall=1.5) as (url, st):
        client = ChatClient(endpoint(url, max_attempts=5))
        out = client.run([[{"role": "user", "content": "x"}]])
    assert out == [SCORE_3]
    assert client.stats == {"requests": 5, "retries": 4, "failed": 0} and len(received) == 1


def test_retry_after_is_honoured():
    with echo_server(lambda c: SCORE_3) as (up, _), fault_proxy(up, script=["429", "429"]) as (url, st):
        t = time.time()
        ChatClient(endpoint(url, backoff_base=0.001, backoff_max=0.001)).run([[{"role": "user", "content": "x"}]])
    assert time.time() - t >= 2 * 0.05  # the proxy's Retry-After: 0.05, twice, despite a 1 ms backoff


def test_giving_up_and_fatal_errors_are_error_verdicts_with_no_score(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    with echo_server(lambda c: SCORE_3) as (up, received), fault_proxy(up, fail_rate=1.0, faults=("500",)) as (url, st):
        v = judge_cached(PolicyJudge(endpoint(url, max_attempts=3)), [("g1", "p", "r")], store)[0]
    assert v.score is None and v.error == "gave up after 3 attempts; last: HTTP 500"
    assert st.counts["requests"] == 3 and not received
    with echo_server(lambda c: SCORE_3) as (up, _), fault_proxy(up, fail_rate=1.0, faults=("401",)) as (url, st):
        v = judge_cached(PolicyJudge(endpoint(url, max_attempts=3)), [("g2", "p", "r2")], store)[0]
    assert st.counts["requests"] == 1 and "AuthenticationError" in v.error  # 401 is not worth a retry
    m = judge_metrics("harm-score", [stored_verdict(row) for row in store.dump("verdicts")], "refuse")
    assert m["harmfulness_rate"].n_failed == 2 and m["harmfulness_rate"].value is None


def test_rerun_fills_in_failures_and_then_makes_no_requests(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    items = [(f"g{i}", f"prompt {i}", f"response {i}") for i in range(40)]
    with echo_server(lambda c: SCORE_3) as (up, received):
        with fault_proxy(up, fail_rate=0.5, faults=("500",), seed=1) as (url, _):
            first = judge_cached(PolicyJudge(endpoint(url, max_attempts=1)), items, store)
        failed = sum(bool(v.error) for v in first)
        assert 5 < failed < 35
        before = len(received)
        # a generous timeout: a request timed out and retried would be counted twice by the server
        second = judge_cached(PolicyJudge(endpoint(up, timeout=30.0)), items, store)
        assert len(received) - before == failed and all(v.score == 3 for v in second)
        judge_cached(PolicyJudge(endpoint(up, timeout=30.0)), items, store)
        assert len(received) - before == failed  # a complete run is cached: zero requests
    assert store.count("verdicts") == 40


def test_parse_failures_are_final_not_retried(tmp_path):
    store = Store(tmp_path / "s.sqlite")
    with echo_server(lambda c: "I think it is fine.") as (up, received):
        v = judge_cached(PolicyJudge(endpoint(up)), [("g", "p", "r")], store)[0]
        judge_cached(PolicyJudge(endpoint(up)), [("g", "p", "r")], store)
    assert v.error.startswith("unparseable verdict") and v.raw == "I think it is fine."
    assert len(received) == 1


def test_concurrency_is_bounded():
    with echo_server(lambda c: SCORE_3) as (up, _), fault_proxy(up, fail_rate=0.0, latency=0.1) as (url, st):
        out = ChatClient(endpoint(url, concurrency=4)).run([[{"role": "user", "content": str(i)}] for i in range(16)])
    assert out == [SCORE_3] * 16
    # 4 at a time, not 1, not 16; counted at the server, not timed (a loaded CI box once took 1.66 s for 1.6 s of serial latency)
    assert st.max_in_flight == 4


def test_the_api_key_goes_only_into_the_auth_header(tmp_path, capfd):
    store = Store(tmp_path / "s.sqlite")
    with echo_server(lambda c: SCORE_3) as (up, received), \
            fault_proxy(up, fail_rate=1.0, faults=("401", "500")) as (url, st):
        verdicts = judge_cached(PolicyJudge(endpoint(url, max_attempts=2)), [(f"g{i}", "p", f"r{i}") for i in range(6)], store)
    assert st.seen_headers and all({k.lower(): v for k, v in h.items()}["authorization"] == f"Bearer {KEY}" for h in st.seen_headers)
    store.close()
    db = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    captured = capfd.readouterr()
    assert KEY.encode() not in db and KEY not in captured.out + captured.err
    assert all(KEY not in (v.error or "") for v in verdicts)
    assert KEY not in str(PolicyJudge(endpoint(url)).describe())


def test_client_scrubs_a_key_echoed_back_in_an_error():
    with echo_server() as (up, _), fault_proxy(up, fail_rate=1.0, faults=("401",)) as (url, _):
        client = ChatClient(endpoint(url))
    assert client.scrub(f"bad key {KEY} rejected") == "bad key *** rejected"


def test_backoff_grows_with_full_jitter_and_respects_retry_after():
    import random

    rng = random.Random(0)
    delays = [backoff_delay(a, 0.5, 30, None, rng) for a in range(8) for _ in range(50)]
    assert all(0 <= d <= 30 for d in delays) and max(delays[:50]) <= 0.5 and max(delays[-50:]) > 5
    assert backoff_delay(0, 0.5, 30, 7.0, rng) >= 7.0


def test_env_expansion_in_endpoint_fields(monkeypatch):
    monkeypatch.setenv("JUDGE_URL", "http://127.0.0.1:9/v1")
    assert expand_env("${JUDGE_URL}") == "http://127.0.0.1:9/v1"
    assert expand_env("${NOPE_NOT_SET:-gpt-4o}") == "gpt-4o"
    monkeypatch.delenv("ALIGNSCOPE_TEST_KEY")
    from alignscope.errors import AlignscopeError

    with pytest.raises(AlignscopeError, match="ALIGNSCOPE_TEST_KEY"):
        ChatClient(endpoint("http://127.0.0.1:9/v1"))


def failing(errors):
    """A request that raises ``errors`` in turn, then answers "ok"."""
    errors = list(errors)

    def fn():
        if errors:
            raise errors.pop(0)
        return "ok"

    return fn


def test_sync_and_async_loops_follow_one_policy():
    sync_waits, async_waits = [], []

    async def record(seconds):
        async_waits.append(seconds)

    async def once(fn):
        return fn()

    flaky = [ValueError("not a completion")] * 2
    assert call_with_retries(failing(flaky), RetryPolicy(3, 0.5, 1.0), sync_waits.append) == "ok"
    fn = failing(flaky)
    assert asyncio.run(acall_with_retries(lambda: once(fn), RetryPolicy(3, 0.5, 1.0), record)) == "ok"
    assert len(sync_waits) == 2 and sync_waits == async_waits  # same seed, same jitter


def test_the_policy_gives_up_or_fails_at_once():
    with pytest.raises(RequestFailed, match=r"^gave up after 2 attempts; last: malformed response \(KeyError\)$") as e:
        call_with_retries(failing([KeyError("x")] * 5), RetryPolicy(max_attempts=2), lambda s: None)
    assert e.value.gave_up and e.value.attempts == 2
    waits = []
    with pytest.raises(RequestFailed, match=r"^RuntimeError: boom$") as e:
        call_with_retries(failing([RuntimeError("boom")]), RetryPolicy(), waits.append)
    assert not e.value.gave_up and e.value.attempts == 1 and not waits  # not worth a retry
