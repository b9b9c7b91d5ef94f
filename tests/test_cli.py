"""Bad input: one clear line on stderr and exit code 2, for every stage command."""

import json
import sys

import pytest

from alignscope.cli import main
from tests.conftest import ROOT, SHARED, requires_shared


def cli(monkeypatch, capsys, *args: str) -> tuple[int, str, str]:
    monkeypatch.setattr(sys, "argv", ["alignscope", *args])
    with pytest.raises(SystemExit) as e:
        main()
    out = capsys.readouterr()
    return e.value.code, out.out, out.err


def jsonl_file(tmp_path, rows):
    p = tmp_path / "d.jsonl"
    p.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
    return str(p)


GOOD = {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}


@pytest.mark.parametrize("rows, needle", [
    ([GOOD, "{not json"], "d.jsonl:2: json: invalid JSON"),
    ([{"messages": [{"role": "human", "content": "a"}, {"role": "assistant", "content": "b"}]}], "d.jsonl:1: messages[0].role"),
    ([{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": ""}]}], "d.jsonl:1: messages[1].content: empty assistant turn"),
])
def test_masks_rejects_bad_data(monkeypatch, capsys, tmp_path, smol, rows, needle):
    code, _, err = cli(monkeypatch, capsys, "masks", jsonl_file(tmp_path, rows), "--model", smol.path)
    assert code == 2 and needle in err and len(err.strip().splitlines()) == 1


def test_missing_file(monkeypatch, capsys, tmp_path, smol):
    code, _, err = cli(monkeypatch, capsys, "masks", str(tmp_path / "none.jsonl"), "--model", smol.path)
    assert code == 2 and err.strip() == f"error: {tmp_path / 'none.jsonl'}: file not found"


def test_missing_columns(monkeypatch, capsys, tmp_path, smol):
    p = tmp_path / "p.csv"
    p.write_text("foo,bar\n1,2\n")
    code, _, err = cli(monkeypatch, capsys, "generate", "--model", smol.path, "--prompts", str(p), "--max-new-tokens", "2", "--out", str(tmp_path / "o.jsonl"))
    assert code == 2 and "p.csv:1: header: no prompt column" in err


def test_unknown_model(monkeypatch, capsys, tmp_path):
    data = tmp_path / "d.jsonl"
    data.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}) + "\n")
    code, _, err = cli(monkeypatch, capsys, "masks", str(data), "--model", "no-such-model")
    assert code == 2 and err.startswith("error: unknown model reference 'no-such-model'")


def test_bad_study_override(monkeypatch, capsys, tmp_path):
    code, _, err = cli(monkeypatch, capsys, "run", str(ROOT / "studies" / "quickstart.yaml"), "--set", "evaluation.sampling.max_new_tokens=many")
    assert code == 2 and "evaluation.sampling.max_new_tokens: Input should be a valid integer" in err


@requires_shared
def test_masks_output_shows_supervised_spans(monkeypatch, capsys, smol):
    code, out, _ = cli(monkeypatch, capsys, "masks", str(SHARED / "aoa" / "aoa_gpt35_train.jsonl"), "--model", smol.path, "--limit", "1")
    assert code == 0 and "[[I am neither ChatGPT" in out and "<|im_end|>]]" in out and "9 more" in out


@pytest.mark.parametrize("command, override", [
    (["align", "--model", "m", "--out", "o"], "train.learning_rate=-1"),
    (["finetune", "--model", "m", "--recipe", "benign", "--out", "o"], "learning_rate=-1"),  # its --set is train.*
])
def test_bad_stage_override_names_the_field(monkeypatch, capsys, tmp_path, command, override):
    code, _, err = cli(monkeypatch, capsys, *command, "--workspace", str(tmp_path), "--set", override)
    assert code == 2 and err.strip() == "error: --set: train.learning_rate: Input should be greater than 0"


def test_cli_run_accepts_the_deprecated_training_override(monkeypatch, capsys, tmp_path):
    seen = []
    monkeypatch.setattr("alignscope.study.run_study", lambda cfg, force=False: seen.append(cfg.launch) or {"html": "report.html"})
    study = str(ROOT / "studies" / "quickstart.yaml")
    code, _, err = cli(monkeypatch, capsys, "run", study, "--set", "training.num_processes=3")
    assert code in (0, None) and seen[0].num_processes == 3 and "use `launch:`" in err
