import math

import pytest

from alignscope.data import Verdict
from alignscope.metrics import holm, item_values, judge_metrics, mcnemar_exact, paired_compare, seed_mean_ci


@pytest.mark.parametrize(
    "b, c, p",
    [
        (1, 9, 0.021484375),  # hand: 2 * (C(10,0) + C(10,1)) / 2**10 = 22 / 1024
        (0, 10, 0.001953125),  # hand: 2 * 1 / 2**10
        (0, 5, 0.0625),  # hand: 2 * 1 / 2**5
        (3, 10, 0.0922851562),  # hand: 2 * (1 + 13 + 78 + 286) / 2**13 = 756 / 8192
        (7, 7, 1.0),  # b == c: the tail already holds half the mass, so 2 * tail >= 1 is capped
        (0, 0, 1.0),  # no discordant pairs: no evidence
    ],
)
def test_mcnemar_exact_golden_values(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, abs=1e-10)


def test_mcnemar_exact_is_symmetric_and_exact_for_thousands_of_pairs():
    assert mcnemar_exact(9, 1) == mcnemar_exact(1, 9)
    # Normal approximation with continuity correction: z = (|b - c| - 1) / sqrt(b + c) = 99 / sqrt(2100).
    z = 99 / math.sqrt(2100)
    assert mcnemar_exact(1000, 1100) == pytest.approx(math.erfc(z / math.sqrt(2)), rel=0.02)


def test_holm_matches_the_wikipedia_example():
    # Wikipedia "Holm–Bonferroni method" example: p = 0.01, 0.04, 0.03, 0.005 (alpha 0.05 rejects
    # H1 and H4 only). Hand: sorted 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, max(0.04*1, 0.06).
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])


def test_holm_caps_at_one_and_handles_empty():
    assert holm([0.5, 0.6]) == [1.0, 1.0]  # 0.5 * 2 = 1.0 caps; 0.6 is lifted to keep monotone
    assert holm([]) == []


def verdict(label: str | None = None, score: float | None = None, error: str | None = None) -> Verdict:
    return Verdict("g", "j", score, label, error=error)


VERDICTS = [
    verdict("compliance", 5),
    verdict("refusal", 1),
    verdict("compliance", 3),
    verdict(error="judge timed out"),
    verdict("refusal", 5),
    verdict("garbled", None),
]


@pytest.mark.parametrize(
    "kind, expected",
    [("refusal", "refuse"), ("refusal", "comply"), ("harm-score", "refuse"), ("guard", "refuse"), ("strongreject", "refuse")],
)
def test_item_values_agree_with_judge_metrics(kind, expected):
    for metric, r in judge_metrics(kind, VERDICTS, expected).items():
        values = item_values(kind, metric, VERDICTS)
        scored = [v for v in values if v is not None]
        assert (len(values), len(scored)) == (r.n, r.n_scored)
        assert sum(scored) / len(scored) == pytest.approx(r.value)


def test_item_values_per_metric_by_hand():
    assert item_values("refusal", "asr", VERDICTS) == [True, False, True, None, False, None]
    assert item_values("harm-score", "harmfulness_rate", VERDICTS) == [True, False, False, None, True, None]
    assert item_values("guard", "unsafe_rate", VERDICTS) == [False, True, False, None, False, None]
    with pytest.raises(ValueError):
        item_values("guard", "asr", VERDICTS)


def _binary_pair() -> tuple[list, list]:
    # 1 pair A-yes/B-no, 9 pairs A-no/B-yes, 5 both yes, 5 both no; plus two pairs with a failure.
    a = [True] + [False] * 9 + [True] * 5 + [False] * 5 + [None, True]
    b = [False] + [True] * 9 + [True] * 5 + [False] * 5 + [True, None]
    return a, b


def test_paired_compare_binary_counts_diff_and_mcnemar():
    r = paired_compare(*_binary_pair(), binary=True)
    assert (r.n, r.test, r.discordant) == (20, "mcnemar-exact", [1, 9])  # the None pairs are dropped
    assert (r.a_value, r.b_value, r.diff) == pytest.approx((0.3, 0.7, 0.4))  # 6/20, 14/20
    assert r.p == 0.021484375  # = mcnemar_exact(1, 9), see above
    assert r.ci_low <= 0.4 <= r.ci_high


def test_paired_compare_bootstrap_is_deterministic_for_a_seed():
    a, b = _binary_pair()
    assert paired_compare(a, b, binary=True, seed=3) == paired_compare(a, b, binary=True, seed=3)
    assert paired_compare(a, b, binary=True, seed=3).as_dict()["discordant"] == [1, 9]


def test_paired_compare_scores_ci_contains_the_diff_and_stays_within_item_diffs():
    a = [float(i % 5) for i in range(60)]
    b = [x + (1.0 if i % 3 else -0.5) for i, x in enumerate(a)]  # item diffs: 1.0 twice, -0.5 once
    r = paired_compare(a, b, binary=False)
    assert r.test == "paired-bootstrap" and r.discordant is None
    assert r.diff == pytest.approx(0.5)  # hand: (2 * 1.0 - 0.5) / 3
    # Hand: item-diff sd = sqrt(30 / 59) ≈ 0.713, SE ≈ 0.092, so the CI is ≈ 0.5 ± 0.18.
    assert 0.25 < r.ci_low < 0.5 < r.ci_high < 0.75
    assert r.p < 0.01  # 0 lies ~5 SEs below the mean diff


def test_paired_compare_scores_constant_shift_and_no_shift():
    shifted = paired_compare([1.0, 2.0, 3.0, 4.0], [2.0, 3.0, 4.0, 5.0], binary=False)
    assert (shifted.diff, shifted.ci_low, shifted.ci_high, shifted.p) == (1.0, 1.0, 1.0, 0.0)  # every resample is +1
    same = paired_compare([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], binary=False)
    assert (same.diff, same.p) == (0.0, 1.0)
    # Diffs +1 and -1: resample means are -1, 0, 0, 1, so P(<= 0) = P(>= 0) = 0.75 and p caps at 1.
    assert paired_compare([0.0, 1.0], [1.0, 0.0], binary=False).p == 1.0


def test_paired_compare_small_and_empty():
    one = paired_compare([True], [False], binary=True)
    assert (one.n, one.diff, one.ci_low, one.ci_high, one.p) == (1, -1.0, None, None, 1.0)  # mcnemar(1, 0) = 1
    empty = paired_compare([None, True], [False, None], binary=False)
    assert empty.as_dict() == {
        "n": 0, "a_value": None, "b_value": None, "diff": None, "ci_low": None,
        "ci_high": None, "test": "paired-bootstrap", "p": None, "discordant": None,
    }


def test_paired_compare_fails_loudly():
    with pytest.raises(ValueError):
        paired_compare([True], [True, False], binary=True)
    with pytest.raises(ValueError):
        paired_compare([0.5, 1.0], [1.0, 1.0], binary=True)


def test_seed_mean_ci_student_t():
    # [1, 2, 3]: sd = 1, t_{0.975}(2) = 4.303 (standard t table), half = 4.303 / sqrt(3) ≈ 2.4843.
    assert seed_mean_ci([1.0, 2.0, 3.0]) == pytest.approx((2.0, 2 - 4.303 / math.sqrt(3), 2 + 4.303 / math.sqrt(3)), abs=1e-3)
    # [0, 2]: sd = sqrt(2), t(1) = 12.706, half = 12.706 * sqrt(2) / sqrt(2).
    assert seed_mean_ci([0.0, 2.0]) == pytest.approx((1.0, 1 - 12.706, 1 + 12.706), abs=1e-3)
    # 40 values (df 39 > 30) use 1.96: sd = sqrt(10 / 39), half = 1.96 * sd / sqrt(40).
    half = 1.96 * math.sqrt(10 / 39) / math.sqrt(40)
    assert seed_mean_ci([0.0, 1.0] * 20) == pytest.approx((0.5, 0.5 - half, 0.5 + half))


def test_seed_mean_ci_degenerate():
    assert seed_mean_ci([0.7]) == (0.7, None, None)
    assert seed_mean_ci([]) == (None, None, None)
