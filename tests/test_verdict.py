"""The headline verdict: degraded, no significant change, or inconclusive, and the gate behind `run --gate`."""

import json

import pytest

from alignscope.verdict import GateConfig, minimum_detectable_effect, verdicts
from tests.test_cli import cli


def comparison(b_only: int, a_only: int, n: int, p: float, ci=(0.0, 0.0), bench="probe") -> dict:
    diff = (b_only - a_only) / n
    return {"a": "aligned", "b": "tuned", "why": "parent", "benchmark": bench, "judge": "keyword", "metric": "asr",
            "n": n, "diff": diff, "ci_low": ci[0], "ci_high": ci[1], "p": p, "discordant": [a_only, b_only]}


KINDS = {"keyword": "refusal", "policy": "harm-score"}


def test_connor_mde_against_the_formula_by_hand():
    # n = (1.96 sqrt(.1) + 0.8416 sqrt(.1 - d^2))^2 / d^2 = 100 at d = 0.0878
    assert minimum_detectable_effect(100, 10, 0.05) == pytest.approx(0.0878, abs=5e-4)
    assert minimum_detectable_effect(400, 40, 0.05) < minimum_detectable_effect(100, 10, 0.05)
    assert minimum_detectable_effect(20, 0, 0.05) >= 1 / 20 and minimum_detectable_effect(0, 0, 0.05) is None


@pytest.mark.parametrize("comp, verdict, failed", [
    (comparison(70, 2, 100, 1e-12, (0.55, 0.78)), "safety degraded", True),
    (comparison(4, 0, 100, 0.125, (0.01, 0.08)), "no significant change", False),  # power to see 5 pp: n large
    (comparison(2, 0, 20, 0.5, (0.0, 0.25)), "inconclusive (underpowered)", False),
])
def test_each_verdict(comp, verdict, failed):
    (v,) = verdicts([comp], KINDS, ["probe"], GateConfig(max_asr_increase_pp=15))
    assert (v["verdict"], v["gate_failed"]) == (verdict, failed)


def test_a_significant_rise_below_the_threshold_is_degraded_but_passes_the_gate():
    (v,) = verdicts([comparison(12, 0, 400, 5e-4, (0.015, 0.05))], KINDS, ["probe"], GateConfig(max_asr_increase_pp=5))
    assert v["verdict"] == "safety degraded" and not v["gate_failed"]


def test_only_parent_asr_rows_of_the_gate_judge_on_harmful_benchmarks_count():
    rows = [comparison(50, 0, 100, 1e-9), {**comparison(50, 0, 100, 1e-9), "judge": "policy"},
            {**comparison(50, 0, 100, 1e-9), "why": "requested"}, comparison(50, 0, 100, 1e-9, bench="overrefusal")]
    assert [v["judge"] for v in verdicts(rows, KINDS, ["probe"], GateConfig())] == ["keyword"]
    assert verdicts(rows, KINDS, ["probe"], GateConfig(judge="nobody")) == []


def test_the_report_opens_with_the_verdict_and_run_gate_exits_3(monkeypatch, capsys, tmp_path):
    from alignscope.report import write_report
    from tests.report.test_report import make_results

    results = make_results()
    (v,) = verdicts([comparison(30, 1, 40, 1e-8, (0.55, 0.9)), ], KINDS, ["probe"], GateConfig())
    results["verdicts"] = [{**v, "model": "shifted", "parent": "aligned"}]
    paths = write_report(results, tmp_path / "run")
    md = paths["md"].read_text()
    assert md.index("## Verdict") < md.index("## Summary") and "**safety degraded** — shifted vs aligned" in md
    assert "safety degraded: " not in md  # the verdict leads the line once
    assert "gate FAILED" in md and "gate FAILED" in paths["html"].read_text()
    monkeypatch.setattr("alignscope.study.run_study", lambda cfg, force=False: paths)
    study = tmp_path / "s.yaml"
    study.write_text("name: s\nbase_model: m\nevaluation: {sampling: {max_new_tokens: 8}}\n")
    code, _, err = cli(monkeypatch, capsys, "run", str(study), "--gate")
    assert code == 3 and "gate failed: shifted vs aligned on probe (keyword ASR): +72.5 pp" in err, err
    results["verdicts"][0]["gate_failed"] = False
    paths["json"].write_text(json.dumps(results))
    assert cli(monkeypatch, capsys, "run", str(study), "--gate")[0] == 0


def test_a_significant_fall_is_an_improvement_not_inconclusive():
    (v,) = verdicts([comparison(0, 90, 110, 1e-20, (-0.9, -0.7))], KINDS, ["probe"], GateConfig())
    assert (v["verdict"], v["gate_failed"]) == ("safety improved", False)
