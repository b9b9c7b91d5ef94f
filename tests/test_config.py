from pathlib import Path

import pytest

from alignscope.config import apply_override, load_study
from alignscope.errors import AlignscopeError

ROOT = Path(__file__).resolve().parents[1]


def test_quickstart_study_loads():
    cfg = load_study(ROOT / "studies" / "quickstart.yaml")
    assert cfg.name == "quickstart" and [f.name for f in cfg.finetunes] == ["identity-shift", "benign"]
    assert cfg.evaluation.sampling.max_new_tokens > 0


def test_dotted_overrides_reach_nested_lists():
    cfg = load_study(ROOT / "studies" / "quickstart.yaml", ["finetunes.0.train.epochs=2", "evaluation.sampling.max_new_tokens=7"])
    assert cfg.finetunes[0].train.epochs == 2 and cfg.evaluation.sampling.max_new_tokens == 7


def test_override_errors():
    with pytest.raises(AlignscopeError, match="KEY=VALUE"):
        apply_override({}, "novalue")
    with pytest.raises(AlignscopeError, match="no such list index"):
        apply_override({"a": [1]}, "a.3=2")


@pytest.mark.parametrize("text, message", [
    ("name: s\nbase_model: m\nevaluation:\n  sampling:\n    max_new_tokens: lots\n",
     r"s.yaml:5: evaluation.sampling.max_new_tokens: Input should be a valid integer"),
    # no silent default length budget
    ("name: s\nbase_model: m\nevaluation:\n  sampling: {}\n", r"evaluation.sampling.max_new_tokens: Field required"),
    ("name: s\nbase_model: m\nbogus: 1\nevaluation:\n  sampling: {max_new_tokens: 4}\n", r"s.yaml:3: bogus: Extra inputs are not permitted"),
    ("name: [unclosed\n", r"s.yaml:\d+: yaml:"),
])
def test_bad_study_files_name_file_line_and_field(tmp_path, text, message):
    p = tmp_path / "s.yaml"
    p.write_text(text)
    with pytest.raises(AlignscopeError, match=message):
        load_study(p)


LAUNCH_STUDY = "name: s\nbase_model: m\n{launch}evaluation:\n  sampling: {{max_new_tokens: 4}}\n"


def test_launch_settings_load_from_launch(tmp_path, capsys):
    p = tmp_path / "s.yaml"
    p.write_text(LAUNCH_STUDY.format(launch="launch: {num_processes: 2, accelerate_config: fsdp2}\n"))
    cfg = load_study(p)
    assert (cfg.launch.num_processes, cfg.launch.accelerate_config) == (2, "fsdp2")
    assert "deprecated" not in capsys.readouterr().err


@pytest.mark.parametrize("launch, overrides", [
    ("training: {num_processes: 2}\n", []),
    ("", ["training.num_processes=2"]),  # --set goes through the same mapping
])
def test_deprecated_training_key_still_works_with_one_warning(tmp_path, capsys, launch, overrides):
    p = tmp_path / "s.yaml"
    p.write_text(LAUNCH_STUDY.format(launch=launch))
    assert load_study(p, overrides).launch.num_processes == 2
    warned = [line for line in capsys.readouterr().err.splitlines() if "deprecated" in line]
    assert warned == ["warning: the study key `training:` is deprecated: use `launch:` (same fields)"]


def test_deprecated_training_key_errors_are_located_at_it(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(LAUNCH_STUDY.format(launch="training:\n  num_processes: 0\n"))
    with pytest.raises(AlignscopeError, match=r"s.yaml:4: training.num_processes: Input should be greater than or equal"):
        load_study(p)


def test_training_and_launch_together_is_a_located_error(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text(LAUNCH_STUDY.format(launch="launch: {num_processes: 2}\ntraining: {num_processes: 3}\n"))
    with pytest.raises(AlignscopeError, match=r"s.yaml:4: training: deprecated, and `launch:` is given too: use `launch:` only$"):
        load_study(p)
