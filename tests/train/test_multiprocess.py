"""Multi-process training through `accelerate launch`: 2 CPU processes over gloo train the same model as 1."""

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from alignscope.cli import main
from alignscope.config import load_study
from alignscope.data import Conversation, Message
from alignscope.errors import AlignscopeError
from alignscope.models import resolve_model
from alignscope.recipes import RecipeOutput
from alignscope.train import LaunchConfig, TrainConfig, finetune
from alignscope.train._sft import _my_micro_batches, effective_batch_line, split_batch
from alignscope.train.stages import train_cached
from alignscope.workspace import ModelEntry, Workspace

WORDS = ("apple", "river", "stone", "cloud", "tree", "lamp", "moon")
# 7 examples in batches of 4: the second batch (3) leaves one process a slot short
DATA = [Conversation((Message("user", f"Repeat the word {w}."), Message("assistant", f"{w} {w} {w}"))) for w in WORDS]
TWO = LaunchConfig(num_processes=2)


def losses(out: Path) -> np.ndarray:
    return np.array([json.loads(line)["loss"] for line in (out / "train_log.jsonl").read_text().splitlines()])


def weights(out: Path) -> dict[str, np.ndarray]:
    return load_file(str(next(out.glob("*model.safetensors"))))


@pytest.mark.parametrize("batch, micro, procs, expected", [
    (8, None, 1, (8, 1)), (8, 2, 1, (2, 4)), (8, None, 2, (4, 1)), (8, 2, 2, (2, 2)), (7, 2, 2, (2, 2)), (4, 8, 2, (2, 1)),
])
def test_split_batch(batch, micro, procs, expected):
    assert split_batch(batch, micro, procs) == expected


def test_effective_batch_line_says_how_an_uneven_batch_is_split():
    line = effective_batch_line(7, 2, 2, 2)
    assert line == "effective batch 7 = 2 per device × 2 processes × 2 accumulation (spare slots per batch: 1, each a zero-weight forward)"
    assert effective_batch_line(8, 8, 1, 1) == "effective batch 8 = 8 per device × 1 process × 1 accumulation"


def test_every_example_is_trained_once_across_processes():
    batch = list(range(7))  # stands in for examples
    shards = [_my_micro_batches(batch, rank, 2, 2, 2) for rank in range(2)]
    assert all(len(s) == 2 for s in shards)  # every process runs the same number of forwards
    real = sorted(x for s in shards for chunk, w in s if w for x in chunk)
    assert real == batch


@pytest.mark.parametrize("method", ["lora", "full"])
def test_two_processes_match_one_with_twice_the_accumulation(tiny_model_dir, tmp_path, capsys, method):
    parent = resolve_model(str(tiny_model_dir), tmp_path)
    cfg = TrainConfig(method=method, learning_rate=5e-3, epochs=2, batch_size=4, micro_batch_size=1)
    finetune(parent, DATA, cfg, tmp_path / "one")  # 1 per device x 1 process x 4 accumulation
    out = finetune(parent, DATA, cfg, tmp_path / "two", launch=TWO)  # 1 x 2 processes x 2
    assert "effective batch 4 = 1 per device × 2 processes × 2 accumulation" in capsys.readouterr().err
    assert out.kind == ("adapter" if method == "lora" else "hf-dir")
    # Same maths, different float summation order (per-process partial sums, then gloo's
    # all-reduce): losses differ by ~1e-7 relative, so rtol=1e-4 leaves 1000x headroom.
    one, two = losses(tmp_path / "one"), losses(tmp_path / "two")
    assert len(one) == len(two) == 4
    np.testing.assert_allclose(two, one, rtol=1e-4)
    # Adam divides by sqrt(v), which amplifies the summation-order noise of near-zero gradients:
    # measured 2e-5. Adam is also nearly blind to a gradient's scale, so this is the check that
    # catches a mis-scaled one: dropping the x processes factor gave 2e-3 (the losses still agreed).
    w1, w2 = weights(tmp_path / "one"), weights(tmp_path / "two")
    assert w1.keys() == w2.keys()
    assert max(np.abs(w1[k] - w2[k]).max() for k in w1) < 1e-4
    launch = json.loads((tmp_path / "two" / "provenance.json").read_text())["launch"]
    assert launch == {"num_processes": 2, "accelerate_config": "ddp", "distributed_type": "MULTI_CPU", "device": "cpu",
                      "mixed_precision": "no", "per_device_batch": 1, "accumulation": 2, "effective_batch": 4}


def test_a_failing_child_is_one_clear_error_with_its_output(tiny_model_dir, tmp_path):
    parent = resolve_model(str(tiny_model_dir), tmp_path)
    cfg = TrainConfig(max_length=8)  # truncates every assistant turn: zero supervised tokens
    with pytest.raises(AlignscopeError) as e:
        finetune(parent, DATA, cfg, tmp_path / "out", launch=TWO)
    first, *rest = str(e.value).splitlines()
    assert first.startswith("fine-tuning with 2 processes (ddp) failed (exit 1): zero supervised tokens")
    assert "last lines of its output:" in rest and len(rest) > 3
    assert not list(tmp_path.glob("out*"))  # nothing that looks finished, nothing left aside


@pytest.mark.parametrize("config, needle", [
    ("zero3", "DeepSpeed ZeRO needs DeepSpeed: pip install deepspeed"),
    ("fsdp2", "FSDP needs CUDA GPUs"),
    ("nope", "accelerate config 'nope': expected ddp, fsdp2, zero3 or an Accelerate config file"),
])
def test_configs_that_cannot_run_here_fail_before_launching(tiny_model_dir, tmp_path, config, needle):
    if config == "fsdp2" and torch.cuda.is_available() or config == "zero3" and importlib.util.find_spec("deepspeed"):
        pytest.skip("this machine can run it")
    parent = resolve_model(str(tiny_model_dir), tmp_path)
    launch = LaunchConfig(num_processes=2, accelerate_config=config)
    with pytest.raises(AlignscopeError, match=needle):
        finetune(parent, DATA, TrainConfig(), tmp_path / "out", launch=launch)


def test_cli_finetune_with_two_processes(tiny_model_dir, tmp_path, monkeypatch, capsys):
    out = tmp_path / "adapter"
    monkeypatch.setattr(sys, "argv", ["alignscope", "finetune", "--model", str(tiny_model_dir), "--recipe", "identity-shift",
                                      "--out", str(out), "-w", str(tmp_path / "ws"), "--num-processes", "2",
                                      "--set", "batch_size=4", "--set", "max_length=128"])
    with pytest.raises(SystemExit) as e:
        main()
    err = capsys.readouterr().err
    assert e.value.code in (0, None), err[-3000:]
    assert "effective batch 4 = 2 per device × 2 processes × 1 accumulation" in err
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["launch"]["num_processes"] == 2 and prov["n_examples"] == 10
    assert (out / "adapter_model.safetensors").is_file()


STUDY = """
name: mp
base_model: {model}
workspace: {ws}
launch: {{num_processes: 2}}
evaluation:
  sampling: {{max_new_tokens: 8}}
"""


def test_a_study_with_two_processes_reuses_the_one_process_model(tiny_model_dir, tmp_path, monkeypatch):
    (tmp_path / "s.yaml").write_text(STUDY.format(model=tiny_model_dir, ws=tmp_path / "ws"))
    two = load_study(tmp_path / "s.yaml").launch
    one = load_study(tmp_path / "s.yaml", ["launch.num_processes=1"]).launch
    assert (one.num_processes, two.num_processes) == (1, 2)
    base = ModelEntry("base", "base", resolve_model(str(tiny_model_dir), tmp_path))
    data, cfg = RecipeOutput(DATA[:4]), TrainConfig(batch_size=2, epochs=1)
    first = train_cached("ft", base, data, cfg, Workspace(tmp_path / "ws"), one, {})

    def no_launch(*args, **kwargs):
        raise AssertionError("the launch is not part of the cache key: nothing to train")

    monkeypatch.setattr("alignscope.train._launch.run_launch", no_launch)
    again = train_cached("ft", base, data, cfg, Workspace(tmp_path / "ws"), two, {})
    assert again.path == first.path
    launch = json.loads((Path(first.path) / "provenance.json").read_text())["launch"]
    assert launch["num_processes"] == 1 and launch["distributed_type"] == "NO"


def test_cli_run_launch_options_override_the_study(tiny_model_dir, tmp_path, monkeypatch):
    (tmp_path / "s.yaml").write_text(STUDY.format(model=tiny_model_dir, ws=tmp_path / "ws"))
    seen = []
    monkeypatch.setattr("alignscope.study.run_study", lambda cfg, force=False: seen.append(cfg.launch) or {"html": "report.html"})
    monkeypatch.setattr(sys, "argv", ["alignscope", "run", str(tmp_path / "s.yaml"), "--num-processes", "4", "--accelerate-config", "my dir/x.yaml"])
    with pytest.raises(SystemExit) as e:
        main()
    assert e.value.code in (0, None)
    assert (seen[0].num_processes, seen[0].accelerate_config) == (4, "my dir/x.yaml")
