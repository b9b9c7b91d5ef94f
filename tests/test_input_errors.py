"""Bad input of every class ends in one line on stderr and exit code 2, with nothing written:
CLI options, files the tool reads, studies, and disks that are full or read-only."""

import gzip
import json
import subprocess
from pathlib import Path

import pytest
import yaml
from tests.test_cli import cli

RO_MOUNT_REASON = "needs root and tmpfs mounts (as on the developers' and CI machines)"


def one_line_error(code: int, err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("args, needle", [
    (["generate", "--model", "m", "--prompts", "builtin:probe", "--max-new-tokens", "-3", "--out", "o.jsonl"],
     "--max-new-tokens"),
    (["generate", "--model", "m", "--prompts", "builtin:probe", "--max-new-tokens", "4", "--batch-size", "0",
      "--out", "o.jsonl"], "--batch-size"),
    (["generate", "--model", "m", "--prompts", "builtin:probe", "--max-new-tokens", "4", "--limit", "0",
      "--out", "o.jsonl"], "--limit"),
    (["masks", "d.jsonl", "--model", "m", "--max-length", "2"], "--max-length"),
    (["masks", "d.jsonl", "--model", "m", "--limit", "-1"], "--limit"),
    (["data", "show", "advbench", "--limit", "0"], "--limit"),
    (["run"], "Missing argument"),
])
def test_numeric_and_missing_options_are_one_line(monkeypatch, capsys, tmp_path, args, needle):
    monkeypatch.chdir(tmp_path)
    line = one_line_error(*cli(monkeypatch, capsys, *args)[::2])
    assert needle in line and list(tmp_path.iterdir()) == []


def test_generate_out_under_a_file_stops_before_generating(monkeypatch, capsys, tmp_path):
    (tmp_path / "taken").write_text("a file")
    code, _, err = cli(monkeypatch, capsys, "generate", "--model", "smollm2-135m-instruct", "--prompts",
                       "builtin:probe", "--max-new-tokens", "4", "--out", str(tmp_path / "taken" / "g.jsonl"),
                       "--workspace", str(tmp_path / "ws"))
    assert "is a file, not a directory" in one_line_error(code, err) and not (tmp_path / "ws").exists()


def test_judging_an_empty_generations_file_is_an_error(monkeypatch, capsys, tmp_path):
    empty = tmp_path / "gens.jsonl"
    empty.write_text("\n\n")
    code, _, err = cli(monkeypatch, capsys, "judge", str(empty), "--workspace", str(tmp_path / "ws"))
    assert "no generations in the file" in one_line_error(code, err)


def test_a_file_nobody_may_read_is_refused_even_for_root(monkeypatch, capsys, tmp_path):
    locked = tmp_path / "locked.txt"
    locked.write_text("Plan a picnic for six\n")
    locked.chmod(0)
    code, _, err = cli(monkeypatch, capsys, "data", "validate", str(locked))
    assert "not readable (permissions 0o0)" in one_line_error(code, err)


@pytest.mark.parametrize("name, content, needle", [
    ("hh.parquet", b"PAR1 this is not parquet at all PAR1", "not a readable Parquet file"),
    ("train.jsonl.gz", gzip.compress(b'{"chosen": "a", "rejected": "b"}\n' * 50)[:40], "not a complete gzip file"),
])
def test_broken_binary_files_under_validate_as(monkeypatch, capsys, tmp_path, name, content, needle):
    path = tmp_path / name
    path.write_bytes(content)
    code, _, err = cli(monkeypatch, capsys, "data", "validate", str(path), "--as", "hh-harmless")
    assert needle in one_line_error(code, err)


def study(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.yaml"
    path.write_bytes(text.encode("latin-1") if "\xe9" in text else text.encode())
    return path


@pytest.mark.parametrize("text, needle", [
    ("name: s\nbase_model: m\nevaluation: {}\nbase_model: n\n", "study.yaml:4: yaml: duplicate key 'base_model' (first given on line 2)"),
    ("name: caf\xe9\nbase_model: m\n", "not UTF-8 text (byte 9"),
    ("name: s\n  base_model: [\n", "study.yaml:2: yaml:"),
])
def test_bad_study_files(monkeypatch, capsys, tmp_path, text, needle):
    code, _, err = cli(monkeypatch, capsys, "run", str(study(tmp_path, text)))
    assert needle in one_line_error(code, err)


def test_a_set_value_that_is_not_yaml(monkeypatch, capsys, tmp_path):
    path = study(tmp_path, "name: s\nbase_model: m\nevaluation: {}\n")
    code, _, err = cli(monkeypatch, capsys, "run", str(path), "--set", "evaluation.judges={keyword")
    assert "--set evaluation.judges: value '{keyword' is not valid YAML" in one_line_error(code, err)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB tmpfs: the disk that fills up, or is made read-only."""
    mount = tmp_path / "disk"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip(RO_MOUNT_REASON)
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_workspace_stops_the_run_before_anything(monkeypatch, capsys, tmp_path, tiny_disk):
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_disk)], check=True)
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "base_model": "smollm2-135m-instruct",
                                    "workspace": str(tiny_disk / "ws"), "output_dir": str(tmp_path / "out"),
                                    "evaluation": {"sampling": {"max_new_tokens": 4}}}))
    code, _, err = cli(monkeypatch, capsys, "run", str(path))
    assert code == 2 and "workspace:" in err and "is not writable" in err and not (tmp_path / "out").exists()


def test_a_full_disk_while_rendering_keeps_the_results_and_says_so(monkeypatch, capsys, tiny_disk):
    from tests.report.test_report import make_results

    run = tiny_disk / "run"
    run.mkdir()
    (run / "report.json").write_text(json.dumps(make_results()))
    (tiny_disk / "ballast").write_bytes(b"\0" * (256 * 1024 - (run / "report.json").stat().st_size - 8192))
    code, _, err = cli(monkeypatch, capsys, "report", str(run))
    line = one_line_error(code, err)
    assert "no space left on the device" in line and "what was finished is kept" in line
    assert json.loads((run / "report.json").read_text()) == make_results()
    assert not [p for p in run.iterdir() if p.name.endswith(".tmp")]  # no half-written report left behind


def test_a_csv_cell_over_the_field_limit_and_a_long_txt_prompt(monkeypatch, capsys, tmp_path):
    long = "Summarise this. " * 12_000  # ~190 kB: over the csv module's 128 kB field limit
    big_csv = tmp_path / "big.csv"
    big_csv.write_text(f'prompt\n"{long}"\n')
    code, _, err = cli(monkeypatch, capsys, "data", "validate", str(big_csv))
    assert "big.csv:2: csv: field larger than field limit" in one_line_error(code, err)
    big_txt = tmp_path / "big.txt"
    big_txt.write_text(long + "\n")
    code, out, _ = cli(monkeypatch, capsys, "data", "validate", str(big_txt))
    assert code == 0 and "ok, 1 prompts" in out  # a .txt line is one prompt, however long


def test_a_judge_spec_that_does_not_parse(monkeypatch, capsys, tmp_path):
    spec = tmp_path / "judge.yaml"
    spec.write_text("name: policy\nendpoint: {base_url: http://127.0.0.1:9/v1, model: [judge\n")
    gens = tmp_path / "g.jsonl"
    gens.write_text(json.dumps({"key": "k", "user_prompt": "p", "text": "t"}) + "\n")
    code, _, err = cli(monkeypatch, capsys, "judge", str(gens), "--judge", str(spec), "--workspace", str(tmp_path / "w"))
    assert "judge.yaml:3: yaml:" in one_line_error(code, err)


def test_a_half_written_fingerprint_cache_is_recomputed_not_fatal(tiny_model_dir, tmp_path):
    import shutil

    from alignscope.models import fingerprint, resolve_model

    model = shutil.copytree(tiny_model_dir, tmp_path / "model")
    first = fingerprint(resolve_model(str(model), tmp_path))
    (model / ".alignscope_fingerprint.json").write_text('{"stamp": "[[\\"model.safet')  # killed mid-write
    assert fingerprint(resolve_model(str(model), tmp_path)) == first
    assert json.loads((model / ".alignscope_fingerprint.json").read_text())["fingerprint"] == first


def test_data_validate_reports_every_bad_row_up_to_a_cap(monkeypatch, capsys, tmp_path):
    good = {"prompt": "Suggest a name for a cat"}
    rows = [json.dumps(good)] + ['{"prompt": ""}'] * 55 + ["{oops"] * 5 + [json.dumps(good)]
    path = tmp_path / "p.jsonl"
    path.write_text("\n".join(rows) + "\n")
    code, _, err = cli(monkeypatch, capsys, "data", "validate", str(path))
    lines = err.strip().splitlines()
    assert code == 2 and lines[0] == f"error: {path}: 60 bad rows (2 prompts fine):"
    assert lines[1].startswith(f"{path}:2: text: missing or empty") and len(lines) == 1 + 50 + 1
    assert lines[-1] == "... and 10 more"
