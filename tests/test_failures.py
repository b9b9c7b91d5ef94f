from alignscope.evaluation import report_failures
from tests.conftest import eval_row


def test_a_run_with_failed_verdicts_says_so_per_judge(capsys):
    bad = "gave up after 6 attempts; last: HTTP 500"
    report_failures([eval_row("p1", judge="policy", kind="harm-score", error=bad),
                     eval_row("p2", judge="policy", kind="harm-score", error=bad),
                     eval_row("p1", label="refusal", score=1.0)])
    err = capsys.readouterr().err
    assert "judge policy: 2 verdicts failed" in err and "keyword" not in err


def test_a_clean_run_prints_nothing(capsys):
    report_failures([eval_row("p1", label="refusal")])
    assert capsys.readouterr().err == ""


def test_truncation_rate_counts_each_response_once_per_model_and_benchmark():
    from alignscope.evaluation import truncation_rows

    rows = [eval_row(f"p{i}", judge=j, label="refusal", finish_reason="length" if i < 3 else "stop")
            for i in range(12) for j in ("keyword", "classifier")]  # two judges: still 12 responses
    rows += [eval_row("q1", model="other", benchmark="b2", label="refusal", finish_reason="length")]
    got = {(r["model"], r["benchmark"]): r for r in truncation_rows(rows)}
    assert (got[("m", "b")]["n"], got[("m", "b")]["value"]) == (12, 0.25)
    assert got[("m", "b")]["ci_low"] < 0.25 < got[("m", "b")]["ci_high"]
    assert got[("other", "b2")]["value"] == 1.0
