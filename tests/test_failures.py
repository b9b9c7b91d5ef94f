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
