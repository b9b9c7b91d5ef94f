"""The validation pass: a study that will fail fails in seconds, before any stage, with every
problem on its own line (file:line: field: problem), and nothing written."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from alignscope.check import check_study
from alignscope.config import load_study
from alignscope.errors import AlignscopeError
from alignscope.study import run_study

ALIGNSCOPE = Path(sys.executable).parent / "alignscope"


def write_study(tmp_path: Path, **changes) -> Path:
    study = {
        "name": "checked", "base_model": "smollm2-135m-instruct", "workspace": str(tmp_path / "ws"),
        "output_dir": str(tmp_path / "out"),
        "finetunes": [{"name": "shift", "recipe": "identity-shift"}],
        "evaluation": {"benchmarks": [{"name": "probe", "limit": 4}], "judges": ["keyword"],
                       "sampling": {"max_new_tokens": 8}},
    }
    for dotted, value in changes.items():
        node = study
        *keys, last = dotted.split("__")
        for k in keys:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[int(last) if isinstance(node, list) else last] = value
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def problems(path: Path) -> list[str]:
    return check_study(load_study(path), path)


def test_a_good_study_has_no_problems(tmp_path):
    assert problems(write_study(tmp_path)) == []


@pytest.mark.parametrize("change, expected", [
    ({"evaluation__judges": ["keyword", "llama-judge-9000"]}, r":\d+: evaluation\.judges\.1: unknown judge 'llama-judge-9000'"),
    ({"evaluation__benchmarks": [{"name": "harmbench-v7"}]}, r"evaluation\.benchmarks\.0: benchmark 'harmbench-v7': not a registered"),
    ({"evaluation__benchmarks": [{"name": "mine", "path": "no/such/prompts.csv"}]}, r"benchmarks\.0\.path: no/such/prompts\.csv: not found"),
    ({"finetunes__0__recipe": "identity-swap"}, r"finetunes\.0\.args: unknown recipe 'identity-swap'"),
    ({"finetunes__0__args": {"repeat": 2}}, r"finetunes\.0\.args: recipe 'identity-shift': unknown argument\(s\) \['repeat'\]"),
    ({"finetunes__0__args": {"repeats": "twice"}}, r"argument repeats: expected an integer, got 'twice'"),
    ({"finetunes__0__parent": "nowhere"}, r"finetunes\.0\.parent: parent 'nowhere' is not defined"),
    ({"finetunes": [{"name": "a", "recipe": "identity-shift", "parent": "b"}, {"name": "b", "recipe": "identity-shift"}]},
     r"finetunes\.0\.parent: parent 'b' is defined after it"),
    ({"evaluation__judges": []}, r"evaluation\.judges: no judges"),
])
def test_each_class_of_bad_study_is_named_with_its_line(tmp_path, change, expected):
    found = problems(write_study(tmp_path, **change))
    assert len(found) == 1 and found[0].startswith(str(tmp_path / "study.yaml")), found
    assert __import__("re").search(expected, found[0]), found


@pytest.mark.parametrize("content, expected", [
    (b"PK\x03\x04 a zip, renamed", "not a GGUF file"),
    (b"GGUF\x03\x00\x00\x00\xff\xff\xff\xff truncated", "GGUF header is unreadable"),
])
def test_a_fake_gguf_base_model_is_caught_without_converting_it(tmp_path, content, expected):
    fake = tmp_path / "model.gguf"
    fake.write_bytes(content)
    (found,) = problems(write_study(tmp_path, base_model=str(fake)))
    assert "base_model" in found and expected in found
    assert not (tmp_path / "ws").exists()


def test_output_under_a_regular_file_is_caught(tmp_path):
    (tmp_path / "blocker").write_text("a file, not a folder")
    (found,) = problems(write_study(tmp_path, output_dir=str(tmp_path / "blocker" / "run")))
    assert "output_dir" in found and "is a file, not a directory" in found


def test_every_problem_is_reported_at_once_and_nothing_is_written(tmp_path):
    path = write_study(tmp_path, evaluation__judges=["keyword", "no-such-judge"], finetunes__0__recipe="nope")
    with pytest.raises(AlignscopeError) as err:
        run_study(load_study(path))
    lines = str(err.value).splitlines()
    assert lines[0] == "2 problems in the study; nothing was run:" and len(lines) == 3
    assert not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()


def test_run_check_and_an_unknown_judge_fail_in_seconds_with_exit_2(tmp_path):
    path = write_study(tmp_path, evaluation__judges=["keyword", "strong-reject"])
    start = time.time()
    bad = subprocess.run([str(ALIGNSCOPE), "run", str(path)], capture_output=True, text=True, env=os.environ)
    elapsed = time.time() - start
    assert bad.returncode == 2 and "unknown judge 'strong-reject'" in bad.stderr and "Traceback" not in bad.stderr
    assert elapsed < 10 and not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()
    good = subprocess.run([str(ALIGNSCOPE), "run", str(write_study(tmp_path)), "--check"], capture_output=True, text=True)
    assert good.returncode == 0 and "no problems found" in good.stdout and not (tmp_path / "ws").exists()


def test_rm_eval_is_validated_before_any_model_loads(tmp_path):
    from alignscope.rm import load_rm_config, run_rm_eval

    path = tmp_path / "rm.yaml"
    path.write_text(yaml.safe_dump({
        "name": "rm-check", "workspace": str(tmp_path / "ws"), "output_dir": str(tmp_path / "out"),
        "reward_models": [{"name": "cls", "type": "seqcls", "model": str(tmp_path / "no-such-rm")}],
        "datasets": [{"name": "team-safety-pairs"}, {"name": "pku-saferlhf", "path": str(tmp_path / "missing.jsonl")}],
    }))
    with pytest.raises(AlignscopeError) as err:
        run_rm_eval(load_rm_config(path))
    lines = str(err.value).splitlines()
    assert lines[0] == "2 problems in the rm-eval config; nothing was run:"
    assert "reward_models.0.model: unknown model reference" in lines[1]
    assert "datasets.1.path:" in lines[2] and "missing.jsonl: not found" in lines[2]
    assert not (tmp_path / "ws").exists() and not (tmp_path / "out").exists()
