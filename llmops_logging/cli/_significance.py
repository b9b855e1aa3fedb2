"""The statistics of `scores`, in the standard library's math: intervals, pass@k, tests.

- `wilson`: the 95% Wilson score interval of a proportion (no continuity correction), which
  stays inside [0, 1] and is sensible at 0 or n successes, where the normal interval is not.
- `pass_at_k` / `pass_all_k`: the unbiased estimators from n samples with c correct of "at
  least one of k passes" (1 - C(n-c, k)/C(n, k)) and "every one of k passes" (C(c, k)/C(n, k)).
- `fisher_exact`: the two-sided exact test of a 2x2 table (pass/fail counts of two groups):
  the sum of the hypergeometric probabilities of the tables no more likely than the one seen.
- `mean`: the mean of finite values, finite even when their sum is not.
- `welch`: Welch's two-sided t-test of two means (unequal variances), its p from Student's t
  through the regularized incomplete beta function.
- `mann_whitney`: the two-sided Mann-Whitney U test, normal approximation with the tie
  correction and a continuity correction (what `scipy.stats.mannwhitneyu(...,
  method="asymptotic")` computes).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

Z_95 = 1.959963984540054
"""The 97.5th percentile of the standard normal distribution."""
_RELATIVE_TIE = 1 + 1e-7  # tables as likely as the one seen, within float rounding
_SQUARABLE = 1e150
"""Values above this in size are rescaled for Welch's test, whose squares would overflow."""


def wilson(successes: int, n: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of `successes` out of `n`; None when n is 0."""
    if n <= 0:
        return None
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    center = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    return max(0.0, center - half), min(1.0, center + half)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that at least one of k samples drawn without replacement passes."""
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_all_k(n: int, c: int, k: int) -> float:
    """The chance that every one of k samples drawn without replacement passes."""
    return math.comb(c, k) / math.comb(n, k)


def _log_comb(n: int, k: int) -> float:
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def fisher_exact(a: int, b: int, c: int, d: int) -> float:
    """Two-sided p of the table [[a, b], [c, d]] (rows: groups; columns: pass, fail)."""
    row, col, total = a + b, a + c, a + b + c + d
    if total == 0 or row in (0, total) or col in (0, total):
        return 1.0

    def log_p(x: int) -> float:
        return _log_comb(col, x) + _log_comb(total - col, row - x) - _log_comb(total, row)

    seen = log_p(a) + math.log(_RELATIVE_TIE)
    low, high = max(0, row + col - total), min(row, col)
    p = sum(math.exp(lp) for lp in map(log_p, range(low, high + 1)) if lp <= seen)
    return min(1.0, p)


def _beta_fraction(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function, by the modified Lentz method."""
    tiny, eps = 1e-300, 3e-16
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 10_000):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = 1.0 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= c * d
        if abs(c * d - 1.0) < eps:
            break
    return result


def incomplete_beta(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b)."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    front = math.exp(log_front)
    if x < (a + 1) / (a + b + 2):
        return front * _beta_fraction(a, b, x) / a
    return 1.0 - front * _beta_fraction(b, a, 1.0 - x) / b


def mean(values: Sequence[float]) -> float:
    """The mean of finite `values` (a score may be any float, near the largest too): their
    exact sum over their count, or, when that sum overflows, the sum of each over the count."""
    try:
        return math.fsum(values) / len(values)
    except OverflowError:
        return math.fsum(v / len(values) for v in values)


def _mean_var(values: Sequence[float]) -> tuple[float, float]:
    average = mean(values)
    return average, math.fsum((v - average) ** 2 for v in values) / (len(values) - 1)


def welch(first: Sequence[float], second: Sequence[float]) -> tuple[float, float, float] | None:
    """(t, degrees of freedom, two-sided p) of Welch's test; None with fewer than 2 values a
    side or no variance on either. Values too large to square are first divided by the
    largest: t and its degrees of freedom do not depend on the unit."""
    if len(first) < 2 or len(second) < 2:
        return None
    largest = max(abs(v) for v in (*first, *second))
    if largest > _SQUARABLE:
        first, second = [v / largest for v in first], [v / largest for v in second]
    (m1, v1), (m2, v2) = _mean_var(first), _mean_var(second)
    s1, s2 = v1 / len(first), v2 / len(second)
    if s1 + s2 == 0:
        return None
    t = (m1 - m2) / math.sqrt(s1 + s2)
    df = (s1 + s2) ** 2 / (s1**2 / (len(first) - 1) + s2**2 / (len(second) - 1))
    return t, df, min(1.0, incomplete_beta(df / 2, 0.5, df / (df + t * t)))


def mann_whitney(first: Sequence[float], second: Sequence[float]) -> tuple[float, float] | None:
    """(U of `first`, two-sided p) of the Mann-Whitney test; None when a side is empty or all
    values are equal."""
    n1, n2 = len(first), len(second)
    if not n1 or not n2:
        return None
    pooled = sorted([(v, 0) for v in first] + [(v, 1) for v in second])
    rank_sum, ties, i = 0.0, 0.0, 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        rank = (i + j) / 2 + 1  # the mean rank of a run of ties
        rank_sum += rank * sum(1 for _, side in pooled[i : j + 1] if side == 0)
        size = j - i + 1
        ties += size**3 - size
        i = j + 1
    n = n1 + n2
    u1 = rank_sum - n1 * (n1 + 1) / 2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return None
    z = (abs(u1 - n1 * n2 / 2) - 0.5) / math.sqrt(variance)
    return u1, min(1.0, math.erfc(z / math.sqrt(2)))
