import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from alignscope.errors import AlignscopeError
from alignscope.models import BUILTIN_MODELS, builtin_gguf, fingerprint, load_model, resolve_model


def test_builtin_name_is_cached_as_plain_hf_dir(smol, model_cache):
    assert smol.kind == "hf-dir" and Path(smol.path, "config.json").is_file()
    again = resolve_model("smollm2-135m-instruct", model_cache)  # second call: no re-conversion
    assert again.path == smol.path
    assert "quantization_config" not in Path(smol.path, "config.json").read_text()


def test_gguf_is_located_through_package_metadata():
    assert builtin_gguf("smollm2-135m-instruct").name.endswith(".gguf")
    assert set(BUILTIN_MODELS) == {"smollm2-135m-instruct"}


def test_local_dir_loads_with_chat_template(tiny_model_dir):
    r = resolve_model(str(tiny_model_dir), tiny_model_dir)
    model, tok = load_model(r)
    assert r.kind == "hf-dir" and tok.chat_template and model.config.num_hidden_layers == 2


def test_fingerprint_is_content_based_and_cached(tiny_model_dir, tmp_path):
    a = resolve_model(str(tiny_model_dir), tmp_path)
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy, ignore=shutil.ignore_patterns(".alignscope_fingerprint.json"))
    assert fingerprint(a) == fingerprint(resolve_model(str(copy), tmp_path))
    assert (tiny_model_dir / ".alignscope_fingerprint.json").is_file()


@pytest.mark.parametrize("ref, message", [
    ("not-a-model", "unknown model reference 'not-a-model'"),
    ("missing.gguf", "missing.gguf: GGUF file not found"),
    ("./nope/dir", "unknown model reference"),
])
def test_bad_references_fail_in_one_line(ref, message, tmp_path):
    with pytest.raises(AlignscopeError, match=message):
        resolve_model(ref, tmp_path)


def test_empty_directory_is_explained(tmp_path):
    (tmp_path / "m").mkdir()
    with pytest.raises(AlignscopeError, match="neither config.json"):
        resolve_model(str(tmp_path / "m"), tmp_path)


def hub_cache(root: Path, repo: str, src: Path) -> None:
    """Lay out a model as the Hugging Face Hub cache does, so a Hub id loads offline."""
    base = root / ("models--" + repo.replace("/", "--"))
    snap = base / "snapshots" / ("0" * 40)
    shutil.copytree(src, snap, ignore=shutil.ignore_patterns(".alignscope*"))
    (base / "refs").mkdir(parents=True)
    (base / "refs" / "main").write_text("0" * 40)


def run_cli(args: list[str], env_extra: dict, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, **env_extra}
    return subprocess.run([sys.executable, "-m", "alignscope", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=300)


def test_hub_id_code_path_offline(tiny_model_dir, tmp_path):
    hub_cache(tmp_path / "hub", "acme/tiny-chat", tiny_model_dir)
    env = {"HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(tmp_path / "hub")}
    ok = run_cli(["generate", "--model", "acme/tiny-chat", "--prompts", "builtin:probe", "--limit", "2",
                  "--max-new-tokens", "3", "--out", "g.jsonl"], env, tmp_path)
    assert ok.returncode == 0, ok.stderr
    assert len((tmp_path / "g.jsonl").read_text().splitlines()) == 2
    missing = run_cli(["generate", "--model", "acme/absent", "--prompts", "builtin:probe", "--max-new-tokens", "3", "--out", "g.jsonl"], env, tmp_path)
    assert missing.returncode == 2
    assert missing.stderr.strip().startswith("error: cannot load model 'acme/absent'") and len(missing.stderr.strip().splitlines()) == 1
