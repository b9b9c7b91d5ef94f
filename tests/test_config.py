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
