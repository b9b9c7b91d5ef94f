import pytest

from alignscope.metrics import rate, wilson_interval


@pytest.mark.parametrize("k, n, lo, hi", [(0, 10, 0.0, 0.2775), (5, 10, 0.2366, 0.7634), (10, 10, 0.7225, 1.0), (92, 100, 0.8500, 0.9589)])
def test_wilson_matches_reference_values(k, n, lo, hi):
    got = wilson_interval(k, n)
    assert got == pytest.approx((lo, hi), abs=1e-4)


def test_rate_excludes_failures_from_the_denominator_and_counts_them():
    r = rate([True, False, None, True])
    assert (r.n, r.n_scored, r.n_failed) == (4, 3, 1)
    assert r.value == pytest.approx(2 / 3)
