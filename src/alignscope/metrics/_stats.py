"""Statistics with honest uncertainty: every rate carries n, n_scored, n_failed and a Wilson CI;
paired tests (McNemar, paired bootstrap), Holm correction and seed t-intervals."""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """95% Wilson score interval for k successes in n trials (good at 0%, 100% and small n)."""
    if n == 0:
        raise ValueError("wilson_interval needs n > 0")
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


@dataclass(frozen=True)
class Rate:
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int
    n_scored: int
    n_failed: int

    def as_dict(self) -> dict:
        return asdict(self)


def rate(flags: list[bool | None]) -> Rate:
    """Share of True among scored items; None marks a failed judgment (excluded, counted)."""
    scored = [f for f in flags if f is not None]
    failed = len(flags) - len(scored)
    if not scored:
        return Rate(None, None, None, len(flags), 0, failed)
    k = sum(scored)
    lo, hi = wilson_interval(k, len(scored))
    return Rate(k / len(scored), lo, hi, len(flags), len(scored), failed)


def mean_ci(values: list[float | None], z: float = 1.959964) -> Rate:
    """Mean of the scored values with a normal-approximation 95% CI; None marks a failure."""
    scored = [v for v in values if v is not None]
    failed = len(values) - len(scored)
    if not scored:
        return Rate(None, None, None, len(values), 0, failed)
    n = len(scored)
    mean = sum(scored) / n
    if n == 1:
        return Rate(mean, None, None, len(values), 1, failed)
    sd = math.sqrt(sum((v - mean) ** 2 for v in scored) / (n - 1))
    half = z * sd / math.sqrt(n)
    return Rate(mean, mean - half, mean + half, len(values), n, failed)


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value: a binomial test of the discordant counts at p = 0.5.

    Exact integer arithmetic keeps it correct for thousands of discordant pairs, where the
    float binomial pmf would underflow.

    Args:
        b: Pairs where the first model is positive and the second negative.
        c: Pairs where the first model is negative and the second positive.

    Returns:
        ``min(1, 2 * P(X <= min(b, c)))`` for ``X ~ Bin(b + c, 0.5)``; 1.0 when ``b + c == 0``.
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must be >= 0, got {b}, {c}")
    n, k = b + c, min(b, c)
    tail, term = 0, 1  # term walks C(n, i) exactly: C(n, i + 1) = C(n, i) * (n - i) / (i + 1)
    for i in range(k + 1):
        tail += term
        term = term * (n - i) // (i + 1)
    return min(1.0, 2 * tail / 2**n)  # int / int is correctly rounded, even for huge ints


def holm(pvalues: list[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values, in the input's order.

    Args:
        pvalues: Raw p-values, each in [0, 1].

    Returns:
        Adjusted p-values: step-down ``(m - rank) * p``, made monotone and capped at 1.
    """
    if any(not 0.0 <= p <= 1.0 for p in pvalues):  # also rejects NaN
        raise ValueError(f"p-values must lie in [0, 1], got {pvalues}")
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(sorted(range(m), key=lambda j: pvalues[j])):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))  # never below a smaller p's
        adjusted[i] = running
    return adjusted


@dataclass(frozen=True)
class PairedResult:
    """Model B against model A on the same items; ``diff`` is B minus A."""

    n: int
    a_value: float | None
    b_value: float | None
    diff: float | None
    ci_low: float | None
    ci_high: float | None
    test: str
    p: float | None
    discordant: list[int] | None

    def as_dict(self) -> dict:
        return asdict(self)


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolation quantile (numpy's default) of already sorted values."""
    pos = q * (len(sorted_values) - 1)
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (pos - lo) * (sorted_values[hi] - sorted_values[lo])


def _bootstrap_diffs(diffs: list[float], n_boot: int, seed: int) -> list[float]:
    """Sorted means of ``n_boot`` resamples (with replacement) of the per-item differences."""
    rng = random.Random(seed)
    n = len(diffs)
    # Resampling the precomputed differences is resampling item indices, at one sum per draw.
    return sorted(sum(rng.choices(diffs, k=n)) / n for _ in range(n_boot))


def paired_compare(
    a: list[bool | float | None],
    b: list[bool | float | None],
    *,
    binary: bool,
    n_boot: int = 2000,
    seed: int = 0,
) -> PairedResult:
    """Compare two models item by item on the items both scored.

    Args:
        a: Per-item values of model A (e.g. from ``item_values``); None marks a failure.
        b: Per-item values of model B, aligned with ``a``.
        binary: True for rate metrics (exact McNemar test), False for scores (bootstrap test).
        n_boot: Bootstrap resamples for the CI (and for the p-value of scores).
        seed: Seed of the bootstrap's ``random.Random``; fixes the CI and p exactly.

    Returns:
        A ``PairedResult``; the CI (and a bootstrap p) is None when fewer than two pairs.

    Raises:
        ValueError: If ``a`` and ``b`` differ in length, or binary values are not 0/1.
    """
    if len(a) != len(b):
        raise ValueError(f"paired lists differ in length: {len(a)} vs {len(b)}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be >= 1, got {n_boot}")
    pairs = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
    test = "mcnemar-exact" if binary else "paired-bootstrap"
    if binary and any(v not in (0, 1) for pair in pairs for v in pair):
        raise ValueError("binary=True needs 0/1 (bool) values; got a score")
    n = len(pairs)
    if n == 0:
        return PairedResult(0, None, None, None, None, None, test, None, None)
    a_value = sum(float(x) for x, _ in pairs) / n
    b_value = sum(float(y) for _, y in pairs) / n
    diffs = [float(y) - float(x) for x, y in pairs]
    boots = _bootstrap_diffs(diffs, n_boot, seed) if n >= 2 else None
    ci_low, ci_high = (_quantile(boots, 0.025), _quantile(boots, 0.975)) if boots else (None, None)
    if binary:
        discordant = [sum(1 for x, y in pairs if x and not y), sum(1 for x, y in pairs if y and not x)]
        p: float | None = mcnemar_exact(*discordant)
    else:
        discordant = None
        p = _bootstrap_p(diffs, boots)
    return PairedResult(n, a_value, b_value, b_value - a_value, ci_low, ci_high, test, p, discordant)


def _bootstrap_p(diffs: list[float], boots: list[float] | None) -> float | None:
    """Two-sided bootstrap p-value of a zero mean difference; None without a bootstrap."""
    if all(d == 0 for d in diffs):
        return 1.0  # identical scores: no evidence of a difference, whatever n is
    if boots is None:
        return None  # one pair: every resample equals it, so the share would mean nothing
    below = sum(1 for d in boots if d <= 0) / len(boots)
    above = sum(1 for d in boots if d >= 0) / len(boots)
    return min(1.0, 2 * min(below, above))


# Student-t 97.5% quantiles for 1..30 degrees of freedom (standard tables); beyond, the normal.
_T975 = (
    12.7062,
    4.3027,
    3.1824,
    2.7764,
    2.5706,
    2.4469,
    2.3646,
    2.3060,
    2.2622,
    2.2281,
    2.2010,
    2.1788,
    2.1604,
    2.1448,
    2.1314,
    2.1199,
    2.1098,
    2.1009,
    2.0930,
    2.0860,
    2.0796,
    2.0739,
    2.0687,
    2.0639,
    2.0595,
    2.0555,
    2.0518,
    2.0484,
    2.0452,
    2.0423,
)


def seed_mean_ci(values: list[float]) -> tuple[float | None, float | None, float | None]:
    """Mean over training/eval seeds with a 95% Student-t interval.

    With a handful of seeds the normal interval is far too narrow; the t quantile widens it.

    Args:
        values: One metric value per seed.

    Returns:
        ``(mean, low, high)``; ``(mean, None, None)`` for one seed, all None for none.
    """
    n = len(values)
    if n == 0:
        return None, None, None
    mean = sum(values) / n
    if n == 1:
        return mean, None, None
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    t = _T975[n - 2] if n - 1 <= len(_T975) else 1.96
    half = t * sd / math.sqrt(n)
    return mean, mean - half, mean + half
