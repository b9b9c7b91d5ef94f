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


def test_validation_error_names_file_line_and_field(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nbase_model: m\nevaluation:\n  sampling:\n    max_new_tokens: lots\n")
    with pytest.raises(AlignscopeError, match=r"s.yaml:5: evaluation.sampling.max_new_tokens: Input should be a valid integer"):
        load_study(p)


def test_missing_max_new_tokens_is_an_error_not_a_default(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nbase_model: m\nevaluation:\n  sampling: {}\n")
    with pytest.raises(AlignscopeError, match=r"evaluation.sampling.max_new_tokens: Field required"):
        load_study(p)


def test_unknown_key_is_rejected(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: s\nbase_model: m\nbogus: 1\nevaluation:\n  sampling: {max_new_tokens: 4}\n")
    with pytest.raises(AlignscopeError, match=r"s.yaml:3: bogus: Extra inputs are not permitted"):
        load_study(p)


def test_yaml_syntax_error(tmp_path):
    p = tmp_path / "s.yaml"
    p.write_text("name: [unclosed\n")
    with pytest.raises(AlignscopeError, match=r"s.yaml:\d+: yaml:"):
        load_study(p)
