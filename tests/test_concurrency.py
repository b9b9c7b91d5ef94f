"""Two `alignscope run`s on one workspace at once: they serialise per artifact, the second reuses the
first's model, and no half-built folder is left behind or taken for a finished one."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from alignscope.locks import building, lock_path, remove_stale_tmp
from tests.conftest import build_tiny_llama

ALIGNSCOPE = Path(sys.executable).parent / "alignscope"


def test_a_stale_tmp_folder_is_removed_under_the_lock(tmp_path):
    artifact = tmp_path / "artifacts" / "ft-0123"
    stale = artifact.with_name(artifact.name + ".tmp99999")
    stale.mkdir(parents=True)
    (stale / "weights.bin").write_bytes(b"half")
    with building(artifact, "ft"):
        assert not stale.exists() and lock_path(artifact).read_text() == str(os.getpid())
    assert remove_stale_tmp(artifact) == []


@pytest.mark.slow
def test_two_runs_started_together_train_once_and_agree(smol_tokenizer, tmp_path):
    model = build_tiny_llama(tmp_path / "tiny", smol_tokenizer)
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({
        "name": "race", "base_model": str(model), "workspace": str(tmp_path / "ws"),
        "finetunes": [{"name": "aoa", "recipe": "identity-shift", "train": {"epochs": 2, "batch_size": 5}}],
        "evaluation": {"benchmarks": [{"name": "probe", "limit": 4}], "judges": ["keyword"],
                       "sampling": {"max_new_tokens": 4}},
    }))
    runs = [subprocess.Popen([str(ALIGNSCOPE), "run", str(study), "--set", f"output_dir={tmp_path / f'out{i}'}"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True) for i in (1, 2)]
    outputs = [r.communicate(timeout=600)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    both = "\n".join(outputs)
    assert both.count("aoa: fine-tuning") == 1, both  # trained once ...
    assert "is building it in this workspace; waiting" in both or "aoa: cached at" in both  # ... and reused
    artifacts = sorted(p.name for p in (tmp_path / "ws" / "artifacts").iterdir() if not p.name.startswith("."))
    assert len(artifacts) == 1 and ".tmp" not in artifacts[0]
    metrics = [json.loads((tmp_path / f"out{i}" / "report.json").read_text())["metrics"] for i in (1, 2)]
    assert metrics[0] == metrics[1]


@pytest.mark.slow
def test_two_processes_dequantize_the_builtin_model_once(tmp_path):
    code = ("import sys; from alignscope.models import resolve_model; "
            "print(resolve_model('smollm2-135m-instruct', sys.argv[1]).path)")
    runs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    outputs = [r.communicate(timeout=600)[0] for r in runs]
    assert [r.returncode for r in runs] == [0, 0], outputs
    models = tmp_path / "models"
    assert [p.name for p in models.iterdir() if not p.name.startswith(".")] == ["smollm2-135m-instruct"]
    assert (models / "smollm2-135m-instruct" / "config.json").is_file()
