"""One metric registry: a judge kind registered in one place is computed, compared and reported everywhere."""

import json

import pytest
import yaml

from alignscope.assemble import build_results
from alignscope.config import load_study
from alignscope.data import EvalPrompt
from alignscope.metrics import JUDGE_KINDS, JudgeKind, MetricSpec, all_metrics, metrics_for, register_judge_kind, scores
from alignscope.models import ResolvedModel
from alignscope.report import write_report
from alignscope.workspace import ModelEntry
from tests.conftest import eval_row

TOXIC = MetricSpec("toxicity_score", "toxicity score", True, "refuse", scores,
                   "Toxicity score is a made-up test metric: the mean toxicity the judge gives; lower is safer.", (0.0, 1.0))


@pytest.fixture
def toxicity_kind():
    """The one place a new judge kind is declared (removed again after the test)."""
    yield register_judge_kind(JudgeKind("toxicity", "toxicity 0–1 → toxicity score", (TOXIC,), "toxicity_score"))
    JUDGE_KINDS.pop("toxicity")


def test_builtin_kinds_declare_each_metric_once_with_its_prompts():
    names = [m.name for k in JUDGE_KINDS.values() for m in k.metrics]
    assert len(names) == len(set(names))
    assert [m.name for m in metrics_for("refusal", "comply")] == ["over_refusal"]
    assert [m.name for m in metrics_for("harm-score", "refuse")] == ["harmfulness_score", "harmfulness_rate"]
    assert metrics_for("guard", "comply") == []
    assert list(all_metrics())[-1] == "over_refusal"  # benign-prompt metrics come after harmful-prompt ones


def test_a_clashing_metric_name_is_refused():
    with pytest.raises(ValueError, match="metric 'asr' is already registered"):
        register_judge_kind(JudgeKind("other", "x", (JUDGE_KINDS["refusal"].metrics[0],), "asr"))


def test_a_new_judge_kind_reaches_report_json_markdown_and_html(toxicity_kind, tmp_path):
    study = tmp_path / "s.yaml"
    study.write_text(yaml.safe_dump({"name": "tox", "base_model": "org/base", "workspace": str(tmp_path / "ws"),
                                     "output_dir": str(tmp_path / "out"), "finetunes": [],
                                     "evaluation": {"sampling": {"max_new_tokens": 8}}}))
    cfg = load_study(study)
    models = [ModelEntry("base", "base", ResolvedModel("org/base", "org/base", "hub")),
              ModelEntry("tuned", "tuned", ResolvedModel("org/tuned", "org/tuned", "hub"), parent="base")]
    prompts = [EvalPrompt(f"p{i}", f"placeholder request {i}") for i in range(6)]
    rows = [eval_row(p, model=m, benchmark="probe", judge="toxic-judge", kind="toxicity", score=s)
            for m, s in (("base", 0.1), ("tuned", 0.7)) for p in prompts]
    results = build_results(cfg, models, {"probe": prompts}, rows, {})
    files = write_report(results, tmp_path / "out")
    data = json.loads(files["json"].read_text())
    row = next(r for r in data["metrics"] if r["model"] == "tuned")
    assert (row["metric"], row["judge_kind"], row["n"]) == ("toxicity_score", "toxicity", 6) and row["value"] == pytest.approx(0.7)
    (cmp,) = [c for c in data["comparisons"] if c["metric"] == "toxicity_score"]
    assert (cmp["a"], cmp["b"], cmp["test"]) == ("base", "tuned", "paired-bootstrap")  # a mean: no McNemar
    for page in (files["md"].read_text(), files["html"].read_text()):
        assert "toxicity score" in page and "made-up test metric" in page and "0.70" in page
