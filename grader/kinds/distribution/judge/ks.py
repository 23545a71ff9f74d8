"""The two-sample Kolmogorov–Smirnov test, and the thresholds of the distribution check with their error rates.

D = max over x of |F_a(x) − F_b(x)|, the largest gap between the two empirical CDFs. Under the
null hypothesis (both samples from one continuous distribution) √(nm/(n+m))·D tends to the
Kolmogorov distribution, P(K > λ) = 2 Σ_{k≥1} (−1)^(k−1) exp(−2k²λ²) ≤ 2 exp(−2λ²); for discrete
values (ties, as float32 has) the test is only more conservative. numpy, no scipy.
"""
from __future__ import annotations

import math

import numpy as np

#: The chance that a right implementation fails one case's KS test (its false-fail rate).
KS_ALPHA = 1e-9
#: The chance that a right uniform sample of n values misses the last δ·(high − low) of either end,
#: with δ = ln(2 / BOUNDS_ALPHA) / n: (1 − δ)^n ≤ e^(−δn) = BOUNDS_ALPHA / 2 per end.
BOUNDS_ALPHA = 1e-12


def ks_statistic(a: np.ndarray, b: np.ndarray) -> float:
    """D for two sorted 1-D float64 arrays, exact with ties: the gaps just after and just before each a_i."""
    n, m = len(a), len(b)
    rank = np.arange(1, n + 1, dtype=np.float64)
    right = np.searchsorted(b, a, side="right").astype(np.float64)  # #b ≤ a_i
    left = right.copy()
    tied = np.flatnonzero(right > 0)
    tied = tied[b[right[tied].astype(np.int64) - 1] == a[tied]]
    if tied.size:
        left[tied] = np.searchsorted(b, a[tied], side="left")  # #b < a_i
    above = np.max(rank / n - right / m)
    below = np.max(left / m - (rank - 1) / n)
    return float(max(above, below, 0.0))


def ks_threshold(n: int, m: int, alpha: float = KS_ALPHA) -> float:
    """The largest D a right implementation reaches with probability ≥ 1 − alpha: λ(alpha)·√((n+m)/(nm))."""
    return math.sqrt(-0.5 * math.log(alpha / 2)) * math.sqrt((n + m) / (n * m))


def ks_p_value(d: float, n: int, m: int) -> float:
    """The asymptotic probability of a distance ≥ d between samples of one distribution."""
    lam = d * math.sqrt(n * m / (n + m))
    if lam < 0.2:
        return 1.0
    total = sum((-1) ** (k - 1) * math.exp(-2 * k * k * lam * lam) for k in range(1, 101))
    return float(min(1.0, max(0.0, 2 * total)))


def reach_fraction(n: int, alpha: float = BOUNDS_ALPHA) -> float:
    """δ: a right uniform sample of n values comes within δ·(high − low) of each end but with chance alpha/2."""
    return math.log(2 / alpha) / n
