"""The api generation backend against a real `transformers serve` on 127.0.0.1 (serving a tiny
random model, so every request takes milliseconds), a fault-injecting proxy, and an echo server.

The tiny model has untied embeddings: a tied random one answers nothing but newlines, and two
backends agreeing on "" would prove nothing. Its answers are gibberish, but different per prompt.
"""

import importlib.util
import json
import re
from pathlib import Path

import pytest

from alignscope.config import ApiEndpoint, GenerateConfig, load_study
from alignscope.data import EvalPrompt
from alignscope.errors import AlignscopeError
from alignscope.generate import SamplingConfig, render_messages
from alignscope.generate._api import as_output
from alignscope.http import ChatReply
from alignscope.models import fingerprint, resolve_model
from alignscope.generate import Backend
from alignscope.study import run_study
from alignscope.workspace import ModelEntry, Workspace

from tests.conftest import build_tiny_llama
from tests.judge.servers import echo_server, fault_proxy, transformers_serve

PROMPTS = [EvalPrompt(f"p{i}", t) for i, t in enumerate([
    "Name three colours.", "What is 2+2? Answer briefly.", "Say hello.", "List two fruits.", "Why is the sky blue?",
    "Write one sentence about the sea.", "Count to five.", "What is a cat?", "Give me a word.", "Describe rain.",
    "Who are you?", "Spell 'dog'."])]
GREEDY = SamplingConfig(max_new_tokens=6)


@pytest.fixture(scope="module")
def varied_model_dir(tmp_path_factory, smol_tokenizer) -> Path:
    return build_tiny_llama(tmp_path_factory.mktemp("varied"), smol_tokenizer, tied=False)


@pytest.fixture(scope="module")
def served(varied_model_dir):
    with transformers_serve(varied_model_dir) as url:
        yield url


def api_config(url: str, **endpoint) -> GenerateConfig:
    ep = {"api_key_env": None, "timeout": 20.0, "backoff_base": 0.01, "backoff_max": 0.05, **endpoint}
    return GenerateConfig(backend="api", endpoint=ApiEndpoint(base_url=url, **ep))


def generate_for(model: ModelEntry, prompts: list, sampling: SamplingConfig, ws: Workspace, cfg: GenerateConfig | None = None,
                 description: str = "generate") -> list:
    with Backend(cfg or GenerateConfig(), ws.store) as backend:
        return backend.generate(model, prompts, sampling, 4, description)


def entry(ref: str, root: Path, key: str = "base") -> ModelEntry:
    return ModelEntry(key, key, resolve_model(ref, root))


def test_greedy_api_generations_equal_the_hf_backend(varied_model_dir, served, tmp_path):
    model = entry(str(varied_model_dir), tmp_path)
    hf = generate_for(model, PROMPTS, GREEDY, Workspace(tmp_path / "ws"), None, "hf")
    with fault_proxy(served, fail_rate=0.0) as (url, st):
        ws, cfg = Workspace(tmp_path / "ws"), api_config(url)
        api = generate_for(model, PROMPTS, GREEDY, ws, cfg, "api")
        assert st.counts["requests"] == len(PROMPTS)
        assert generate_for(model, PROMPTS, GREEDY, ws, cfg, "api") == api and st.counts["requests"] == len(PROMPTS)  # cached
    assert len({g.text for g in hf}) > 1 and [g.text for g in api] == [g.text for g in hf]
    assert [(g.tokens, g.finish_reason) for g in api] == [(g.tokens, g.finish_reason) for g in hf]
    assert {g.backend for g in hf} == {"hf"} and {g.backend for g in api} == {"api"}
    # the hf cache key is what it always was; the api one can never be mistaken for it
    assert json.loads(api[0].prompt) == [{"role": "user", "content": PROMPTS[0].text}]
    assert hf[0].key != api[0].key and ws.store.count("generations") == 2 * len(PROMPTS)
    from alignscope.generate import generation_key

    assert hf[0].key == generation_key(fingerprint(model.resolved), hf[0].prompt, GREEDY)


def test_max_tokens_is_sent_and_honoured(varied_model_dir, served, tmp_path):
    model = entry(str(varied_model_dir), tmp_path)
    got = generate_for(model, PROMPTS[:3], SamplingConfig(max_new_tokens=3), Workspace(tmp_path / "ws"), api_config(served), "api")
    assert all(g.finish_reason == "length" and g.tokens == 3 for g in got)  # the server's own default is 1024


def test_failed_requests_are_not_stored_and_a_rerun_asks_only_for_them(varied_model_dir, served, tmp_path):
    model = entry(str(varied_model_dir), tmp_path)
    store_path = tmp_path / "ws"
    with fault_proxy(served, fail_rate=0.5, faults=("500", "garbage"), seed=1) as (url, st):
        with pytest.raises(AlignscopeError) as err:
            generate_for(model, PROMPTS, GREEDY, Workspace(store_path), api_config(url, max_attempts=1), "api")
        failed = len(PROMPTS) - st.counts["forwarded"]
    message = str(err.value)
    assert 0 < failed < len(PROMPTS) and "\n" not in message
    assert re.search(rf"\b{failed} of {len(PROMPTS)} requests failed", message) and f"retries only the {failed} missing" in message
    ws = Workspace(store_path)
    assert ws.store.count("generations") == len(PROMPTS) - failed
    with fault_proxy(served, fail_rate=0.0) as (url, st):
        rows = generate_for(model, PROMPTS, GREEDY, ws, api_config(url), "api")
        assert st.counts["requests"] == failed
    assert [r.prompt_id for r in rows] == [p.id for p in PROMPTS] and ws.store.count("generations") == len(PROMPTS)


def test_retries_absorb_transient_faults(varied_model_dir, served, tmp_path):
    model = entry(str(varied_model_dir), tmp_path)
    with fault_proxy(served, fail_rate=0.3, faults=("429", "500", "garbage"), seed=2) as (url, st):
        rows = generate_for(model, PROMPTS, GREEDY, Workspace(tmp_path / "ws"), api_config(url, max_attempts=8), "api")
        assert st.counts["requests"] > len(PROMPTS)  # some were retried
    assert len(rows) == len(PROMPTS) and all(r.backend == "api" for r in rows)


STUDY = """
name: api-switch
base_model: {model}
workspace: {ws}
evaluation:
  benchmarks: [{{name: mine, path: {prompts}}}]
  judges: [keyword]
  sampling: {{max_new_tokens: 6}}
  generate:
    backend: hf
    endpoint: {{base_url: "{url}", api_key_env: null}}
"""


@pytest.fixture()
def study_file(varied_model_dir, served, tmp_path) -> Path:
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("".join(p.text + "\n" for p in PROMPTS[:5]))
    study = tmp_path / "study.yaml"
    study.write_text(STUDY.format(model=varied_model_dir, ws=tmp_path / "ws", prompts=prompts, url=served))
    return study


def run(study: Path, backend: str) -> dict:
    cfg = load_study(study, [f"evaluation.generate.backend={backend}", f"output_dir={study.parent / backend}"])
    return json.loads(Path(run_study(cfg)["json"]).read_text())


def test_a_study_switches_backend_with_one_line_and_the_report_says_which(study_file, served, varied_model_dir):
    api, hf = run(study_file, "api"), run(study_file, "hf")
    (a,), (h,) = api["models"], hf["models"]
    assert (a["backend"], a["served_name"], a["base_url"]) == ("api", str(varied_model_dir), served)
    assert h["backend"] == "hf" and "served_name" not in h
    assert api["provenance"]["generation"]["base"]["backend"] == "api"
    assert "generation.base.backend" in (study_file.parent / "api" / "report.md").read_text()
    strip = ("ci_low", "ci_high")  # same greedy answers, so the same numbers
    assert [{k: v for k, v in m.items() if k not in strip} for m in api["metrics"]] == \
           [{k: v for k, v in m.items() if k not in strip} for m in hf["metrics"]]


def test_vllm_without_vllm_installed_is_one_clear_line_before_any_work(study_file):
    if importlib.util.find_spec("vllm"):
        pytest.skip("vLLM is installed in this environment; tests/with_vllm covers the backend")
    with pytest.raises(AlignscopeError) as err:
        run(study_file, "vllm")
    msg = str(err.value)
    assert "\n" not in msg and "alignscope[vllm]" in msg and "vllm serve" in msg and "backend: api" in msg
    assert not (study_file.parent / "vllm").exists()  # stopped before the workspace or any stage


def test_an_api_model_generates_through_the_endpoint_by_its_name(tmp_path):
    sampling = SamplingConfig(max_new_tokens=7, temperature=0.5, top_p=0.9, seed=3, system_prompt="You are terse.")
    with echo_server(lambda content: f"  echo: {content} ") as (url, received):
        cfg = GenerateConfig(endpoint=ApiEndpoint(base_url=url, api_key_env=None))  # backend hf: api: models still go to the api
        rows = generate_for(entry("api:ft:gpt-3.5-turbo:acme::x1", tmp_path), PROMPTS[:2], sampling, Workspace(tmp_path), cfg, "api")
        cfg.served_names["renamed"] = "served-as-this"
        generate_for(entry("api:anything", tmp_path, "renamed"), PROMPTS[:1], sampling, Workspace(tmp_path), cfg, "api")
    assert [r.text for r in rows] == [f"echo: {p.text}" for p in PROMPTS[:2]]
    first = next(r for r in received if r["messages"][-1]["content"] == PROMPTS[0].text)  # sent concurrently: any order
    assert {k: first[k] for k in ("model", "max_tokens", "temperature", "top_p", "seed")} == \
           {"model": "ft:gpt-3.5-turbo:acme::x1", "max_tokens": 7, "temperature": 0.5, "top_p": 0.9, "seed": 3}
    assert first["messages"] == json.loads(render_messages(PROMPTS[0].text, "You are terse."))
    assert received[-1]["model"] == "served-as-this"


def test_an_adapter_needs_a_served_name(tmp_path):
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text("{}")
    with pytest.raises(AlignscopeError, match="served_names.*merged"):
        generate_for(entry(str(adapter), tmp_path, "ft"), PROMPTS[:1], GREEDY, Workspace(tmp_path), api_config("http://127.0.0.1:9/v1"), "x")


def test_missing_usage_is_recorded_as_unknown_not_invented():
    assert as_output(ChatReply(" hi ", None, None)) == {"text": "hi", "tokens": None, "finish_reason": "unknown"}
