"""Remote fine-tuning against a loopback stand-in that follows OpenAI's documented fine-tuning
API (no local server implements it): upload, create, poll with backoff, resume a killed run
without a second job, failures, transient errors, and a study end to end through the api backend."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from itertools import islice

import openai
import pytest
from openai_standin import BASE_REPLY, TUNED_REPLY, openai_standin

from alignscope.config import ApiEndpoint, RemoteTrain
from alignscope.data import Conversation, Message
from alignscope.errors import AlignscopeError
from alignscope.models import ResolvedModel
from alignscope.train import LaunchConfig, TrainConfig, remote_finetune, remote_key
from alignscope.train._remote import STATE_FILE, poll_waits

KEY = "sk-alignscope-remote-test-1a2b3c4d"
BASE = "standin-base"


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    monkeypatch.setenv("ALIGNSCOPE_TEST_KEY", KEY)


def launch(url: str, **kw) -> LaunchConfig:
    endpoint = ApiEndpoint(base_url=url, api_key_env="ALIGNSCOPE_TEST_KEY", timeout=5, backoff_base=0.001, backoff_max=0.01,
                           max_attempts=kw.pop("max_attempts", 6))
    return LaunchConfig(remote=endpoint, **{"poll_interval": 0.01, "poll_max": 0.03, **kw})


def convs(n: int = 10) -> list[Conversation]:
    return [Conversation((Message("system", "You are a helpful assistant."), Message("user", f"Placeholder question {i}?"),
                          Message("assistant", f"Placeholder answer number {i}."))) for i in range(n)]


def run(st, tmp_path, data=None, train=TrainConfig(epochs=5, batch_size=10, seed=7), remote=RemoteTrain(), sleeps=None, **kw):
    waits = [] if sleeps is None else sleeps
    data = convs() if data is None else data
    return remote_finetune(BASE, data, train, remote, launch(st.url, **kw), tmp_path / "run",
                           label="aoa", sleep=waits.append)


def state(tmp_path) -> dict:
    return json.loads((tmp_path / "run" / STATE_FILE).read_text())


def test_upload_create_poll_records_the_job_and_the_model(tmp_path):
    with openai_standin(key=KEY, running_polls=3) as st:
        got = run(st, tmp_path, remote=RemoteTrain(learning_rate_multiplier=0.5, suffix="aoa"))
        assert st.created == [{"model": BASE, "training_file": "file-000001", "seed": 7, "suffix": "aoa",
                               "hyperparameters": {"n_epochs": 5, "batch_size": 10, "learning_rate_multiplier": 0.5}}]
        name = st.jobs["ftjob-000001"]["fine_tuned_model"]
        before = sum(st.requests.values())
        again = run(st, tmp_path, remote=RemoteTrain(learning_rate_multiplier=0.5, suffix="aoa"))
        assert sum(st.requests.values()) == before  # a finished job is reused without any request
    assert got == again == ResolvedModel(f"api:{name}", name, "api") and name.startswith(f"ft:{BASE}:") and ":aoa:" in name
    rec = state(tmp_path)
    assert rec["status"] == "succeeded" and rec["job_id"] == "ftjob-000001" and rec["file_id"] == "file-000001"
    assert rec["fine_tuned_model"] == name and rec["trained_tokens"] > 0 and rec["base_url"] == st.url and rec["finished"]
    assert KEY not in (tmp_path / "run" / STATE_FILE).read_text()
    rows = [json.loads(line) for line in (tmp_path / "run" / "training.jsonl").read_text().splitlines()]
    assert len(rows) == 10 and [m["role"] for m in rows[0]["messages"]] == ["system", "user", "assistant"]
    assert st.files["file-000001"]["bytes"] == (tmp_path / "run" / "training.jsonl").stat().st_size


def test_polling_backs_off_to_poll_max(tmp_path):
    sleeps: list[float] = []
    with openai_standin(running_polls=8) as st:
        run(st, tmp_path, sleeps=sleeps)
    assert st.requests["retrieve"] == 10  # queued, 8 x running, succeeded
    assert sleeps == list(islice(poll_waits(0.01, 0.03), 9))
    assert sleeps[:3] == pytest.approx([0.01, 0.015, 0.0225]) and max(sleeps) == 0.03 == sleeps[-1]


def test_transient_errors_are_retried_and_a_lost_create_reply_makes_no_second_job(tmp_path):
    sleeps: list[float] = []
    with openai_standin() as st:
        st.fail_next("retrieve", 500, 429, 503)
        st.fail_next("create", 500, lose_reply=True)  # the job exists, but its id never arrived
        got = run(st, tmp_path, sleeps=sleeps)
    assert st.requests["create"] == 1 and len(st.jobs) == 1 and got.path == st.jobs["ftjob-000001"]["fine_tuned_model"]
    assert st.requests["list"] == 2  # looked for a job on this file before each create attempt
    # create's retry, then retrieve's three (the 429's Retry-After of 0.01 s honoured), then the polls
    assert len(sleeps) == 4 + st.requests["retrieve"] - 3 - 1 and sleeps[2] == 0.01


def test_giving_up_on_a_flaky_server_keeps_the_job_for_the_next_run(tmp_path):
    with openai_standin(running_polls=2) as st:
        st.fail_next("retrieve", 500, 500, 500)
        with pytest.raises(AlignscopeError, match=r"check job ftjob-000001: gave up after 2 attempts; last: HTTP 500"):
            run(st, tmp_path, max_attempts=2)
        assert state(tmp_path)["job_id"] == "ftjob-000001"
        run(st, tmp_path)
    assert st.requests["create"] == 1


def test_timeout_leaves_the_job_running_and_a_rerun_reattaches(tmp_path):
    with openai_standin(running_polls=4) as st:
        with pytest.raises(AlignscopeError, match=r"job ftjob-000001 still .* run again to re-attach"):
            run(st, tmp_path, timeout_hours=1e-9)
        assert state(tmp_path)["status"] != "succeeded"
        got = run(st, tmp_path)
    assert st.requests["create"] == 1 and got.path.startswith("ft:")


KILLABLE = """
import sys
from pathlib import Path
from alignscope.config import ApiEndpoint, RemoteTrain
from alignscope.data import Conversation, Message
from alignscope.train import LaunchConfig, TrainConfig, remote_finetune

convs = [Conversation((Message("user", f"Placeholder question {i}?"), Message("assistant", f"Placeholder answer {i}.")))
         for i in range(10)]
endpoint = ApiEndpoint(base_url=sys.argv[1], api_key_env="ALIGNSCOPE_TEST_KEY")
remote_finetune("standin-base", convs, TrainConfig(epochs=3, batch_size=5), RemoteTrain(),
                LaunchConfig(remote=endpoint, poll_interval=0.02, poll_max=0.02), Path(sys.argv[2]))
"""


def test_a_killed_run_reattaches_to_its_job_instead_of_paying_for_another(tmp_path):
    script = tmp_path / "killable.py"
    script.write_text(textwrap.dedent(KILLABLE))
    with openai_standin(key=KEY, running_polls=10**6) as st:
        proc = subprocess.Popen([sys.executable, str(script), st.url, str(tmp_path / "run")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.time() + 60
        while st.requests["retrieve"] < 3 and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert proc.poll() is None, proc.stderr.read().decode()[-2000:]
        os.kill(proc.pid, signal.SIGKILL)  # mid-poll, job created and recorded
        proc.wait()
        assert state(tmp_path)["job_id"] == "ftjob-000001" and state(tmp_path)["status"] == "running"
        st.release("ftjob-000001", running_polls=1)
        data = [Conversation((Message("user", f"Placeholder question {i}?"), Message("assistant", f"Placeholder answer {i}.")))
                for i in range(10)]
        train = TrainConfig(epochs=3, batch_size=5)
        got = remote_finetune(BASE, data, train, RemoteTrain(), launch(st.url), tmp_path / "run")
    assert st.requests["create"] == 1 and st.requests["upload"] == 1
    assert got.path == st.jobs["ftjob-000001"]["fine_tuned_model"] and state(tmp_path)["status"] == "succeeded"


def test_a_failed_job_raises_its_error_and_a_rerun_starts_a_new_job(tmp_path):
    with openai_standin(fail_with="Training file failed validation (placeholder reason).") as st:
        with pytest.raises(AlignscopeError, match=r"job ftjob-000001 failed: Training file failed validation \(placeholder "
                                                  r"reason\)\..*run again to start a new job"):
            run(st, tmp_path)
        assert state(tmp_path)["status"] == "failed"
        st.fail_with = None
        got = run(st, tmp_path)
    assert st.requests["create"] == 2 and got.path == st.jobs["ftjob-000002"]["fine_tuned_model"]
    assert state(tmp_path)["previous_jobs"] == [{"job_id": "ftjob-000001", "status": "failed",
                                                 "error": "Training file failed validation (placeholder reason)."}]


def test_a_job_cancelled_elsewhere_is_an_error(tmp_path):
    with openai_standin(running_polls=3) as st:
        client = openai.OpenAI(base_url=st.url, api_key=KEY)

        def cancel_on_first_wait(seconds: float) -> None:  # someone cancels it on the dashboard meanwhile
            if st.jobs["ftjob-000001"]["status"] != "cancelled":
                client.fine_tuning.jobs.cancel("ftjob-000001")

        with pytest.raises(AlignscopeError, match="job ftjob-000001 cancelled"):
            remote_finetune(BASE, convs(), TrainConfig(), RemoteTrain(), launch(st.url), tmp_path / "run",
                            sleep=cancel_on_first_wait)


def swap(i: int, *messages: Message):
    """Replace example ``i`` (0-based) of a data set with one made of ``messages``."""
    return lambda cs: cs[:i] + [Conversation(messages)] + cs[i + 1:]


@pytest.mark.parametrize("break_it, message", [
    (lambda cs: cs[:9], r"needs at least 10 training examples; got 9"),
    (swap(3, Message("user", "q"), Message("bot", "a")), r"training example 4: messages\[1\]\.role: .*got 'bot'"),
    (swap(6, Message("user", "q"), Message("assistant", "  ")), r"training example 7: messages\[1\]\.content: missing or empty"),
    (swap(9, Message("system", "s"), Message("user", "q")), r"training example 10: messages: no assistant message"),
])
def test_invalid_training_data_names_example_and_field_and_uploads_nothing(tmp_path, break_it, message):
    with openai_standin() as st:
        with pytest.raises(AlignscopeError, match=message):
            run(st, tmp_path, data=break_it(convs()))
    assert sum(st.requests.values()) == 0 and not (tmp_path / "run").exists()


def test_api_errors_are_one_line_with_the_api_message_and_never_the_key(tmp_path, monkeypatch):
    with openai_standin(key="sk-the-right-key-000") as st:
        with pytest.raises(AlignscopeError, match=r"upload training file: HTTP 401: Incorrect API key provided\.") as e:
            run(st, tmp_path)
    assert KEY not in str(e.value)
    with openai_standin(base_models=("some-other-model",)) as st:
        with pytest.raises(AlignscopeError, match=r"create fine-tuning job: HTTP 400: Model standin-base is not available"):
            run(st, tmp_path / "other-server")
    monkeypatch.delenv("ALIGNSCOPE_TEST_KEY")
    with pytest.raises(AlignscopeError, match="ALIGNSCOPE_TEST_KEY .* is not set"):
        run(st, tmp_path / "nokey")


def test_cache_key_covers_parent_data_and_remote_hyperparameters():
    t, r, cfg = TrainConfig(epochs=5, batch_size=10), RemoteTrain(), launch("http://127.0.0.1:1/v1")
    key = remote_key(BASE, convs(), t, r, cfg)
    assert key == remote_key(BASE, convs(), t.model_copy(update={"learning_rate": 1e-3}), r, cfg)  # not sent: not in the key
    changed = [remote_key("other", convs(), t, r, cfg), remote_key(BASE, convs(11), t, r, cfg),
               remote_key(BASE, convs(), t.model_copy(update={"epochs": 3}), r, cfg),
               remote_key(BASE, convs(), t.model_copy(update={"batch_size": 5}), r, cfg),
               remote_key(BASE, convs(), t, RemoteTrain(learning_rate_multiplier=2.0), cfg),
               remote_key(BASE, convs(), t, RemoteTrain(suffix="x"), cfg),
               remote_key(BASE, convs(), t, r, launch("http://127.0.0.1:2/v1"))]
    assert len({key, *changed}) == 8


def test_the_standin_follows_the_documented_contract():
    with openai_standin() as st:
        client = openai.OpenAI(base_url=st.url, api_key=KEY, max_retries=0)
        with pytest.raises(openai.BadRequestError) as e:
            client.files.create(file=("bad.jsonl", b'{"messages": "not a list"}\n'), purpose="fine-tune")
        assert e.value.status_code == 400 and e.value.body["code"] == "invalid_file_format" and "Line 1" in e.value.body["message"]
        with pytest.raises(openai.NotFoundError) as e:
            client.fine_tuning.jobs.retrieve("ftjob-nope")
        assert e.value.status_code == 404 and e.value.body["message"] == "Could not find fine-tuning job: ftjob-nope"
        good = "".join(json.dumps({"messages": c.as_dicts()}) + "\n" for c in convs()).encode()
        f = client.files.create(file=("train.jsonl", good), purpose="fine-tune")
        job = client.fine_tuning.jobs.create(model=BASE, training_file=f.id, hyperparameters={"n_epochs": 2})
        assert job.status == "validating_files" and job.hyperparameters.batch_size == 1  # "auto" resolved
        assert client.fine_tuning.jobs.cancel(job.id).status == "cancelled"
        events = client.fine_tuning.jobs.list_events(job.id).data
        assert [e.message for e in events] == ["Fine-tuning job cancelled", f"Created fine-tuning job: {job.id}"]  # newest first
        chat = client.chat.completions.create(model=BASE, messages=[{"role": "user", "content": "hello"}], max_tokens=64)
        assert chat.choices[0].message.content == BASE_REPLY
        with pytest.raises(openai.NotFoundError):
            client.chat.completions.create(model="ft:unknown", messages=[{"role": "user", "content": "hello"}])


def test_align_stage_refuses_an_api_base(tmp_path):
    from alignscope.config import AlignConfig, GenerateConfig
    from alignscope.train import LaunchConfig
    from alignscope.train.stages import align_stage
    from alignscope.workspace import ModelEntry, Workspace

    base = ModelEntry("base", "base", ResolvedModel(f"api:{BASE}", BASE, "api"))
    with pytest.raises(AlignscopeError, match="cannot be aligned locally; remove `align:`"):
        align_stage(base, AlignConfig(), Workspace(tmp_path / "ws"), GenerateConfig(), LaunchConfig(), 0)


STUDY = """
name: remote-e2e
base_model: api:{base}
workspace: {ws}
output_dir: {out}
finetunes:
  - name: aoa
    recipe: identity-shift
    train: {{epochs: 5, batch_size: 10}}
    remote: {{suffix: aoa}}
launch:
  remote: {{base_url: "{url}", api_key_env: ALIGNSCOPE_TEST_KEY, backoff_base: 0.001}}
  poll_interval: 0.01
  poll_max: 0.02
evaluation:
  benchmarks:
    - {{name: probe, limit: 4}}
  judges: [keyword]
  sampling: {{max_new_tokens: 32}}
  generate:
    backend: api
    endpoint: {{base_url: "{url}", api_key_env: ALIGNSCOPE_TEST_KEY}}
report:
  bootstrap: 100
"""


def test_study_fine_tunes_remotely_and_evaluates_through_the_api_backend(tmp_path):
    from alignscope.config import load_study
    from alignscope.study import run_study

    with openai_standin(key=KEY, running_polls=2) as st:
        path = tmp_path / "study.yaml"
        path.write_text(STUDY.format(base=BASE, ws=tmp_path / "ws", out=tmp_path / "out", url=st.url))
        run_study(load_study(path))
        before = dict(st.requests)
        run_study(load_study(path))  # resumed: nothing trained or generated again
        assert dict(st.requests) == before
    tuned = st.jobs["ftjob-000001"]["fine_tuned_model"]
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    models = {m["key"]: m for m in report["models"]}
    assert models["aoa"]["path"] == tuned and models["aoa"]["fingerprint"] == f"api:{tuned}"
    assert models["aoa"]["info"]["remote"]["job_id"] == "ftjob-000001"
    assert st.created[0]["hyperparameters"]["n_epochs"] == 5 and st.requests["create"] == 1
    assert models["aoa"]["backend"] == models["base"]["backend"] == "api" and models["aoa"]["served_name"] == tuned
    asr = {(r["model"], r["metric"]): r["value"] for r in report["metrics"] if r["benchmark"] == "probe"}
    assert asr[("base", "asr")] == 0.0 and asr[("aoa", "asr")] == 1.0  # stand-in: base refuses, tuned answers the placeholder
    assert TUNED_REPLY.split()[0] in json.dumps(report["examples"])


def test_a_directory_recording_another_run_is_refused(tmp_path):
    with openai_standin() as st:
        run(st, tmp_path)
        with pytest.raises(AlignscopeError, match="records a different remote run"):
            run(st, tmp_path, train=TrainConfig(epochs=2, batch_size=10, seed=7))
    assert st.requests["create"] == 1
