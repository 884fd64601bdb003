#!/usr/bin/python3
"""check_stats.py — batchbench's statistics against NumPy and SciPy.

Why this file exists: every claim batchbench makes about times (the
percentiles, the median's 95% CI, "b is 3% slower than a, CI [..], p = ..")
comes from src/bench/stats.c and src/bench/ratio.c. This script recomputes
the same numbers independently with NumPy/SciPy for fixed-seed samples
(tiny, tied, lognormal, shifted, thinned) and compares them with what the
C code prints through tests/tools/stats_dump.

Usage: check_stats.py PATH/TO/stats_dump
Prints one line per case and closes with "N passed, M failed"; the exit
status is 1 on any failure, including when SciPy is missing (apt-get install
python3-scipy: scripts/install-deps.sh does it).
"""
import json
import math
import subprocess
import sys

REL_TOL = 1e-9   # values: relative
P_ABS_TOL = 1e-9  # p-values: absolute
MAX_N = 2000     # BB_RATIO_MAX_N in src/bench/ratio.h

try:
    import numpy as np
    from scipy import stats as sps
except ImportError as e:  # a missing reference is a failure, not a skip
    print(f"FAIL: NumPy/SciPy not importable ({e}); install python3-numpy python3-scipy")
    print("0 passed, 1 failed")
    sys.exit(1)


def ci_rank(n):
    """Largest j with P(B <= j-1) <= 0.025, B ~ Binomial(n, 1/2); 0: none."""
    cdf = sps.binom.cdf(np.arange(n // 2), n, 0.5)
    return int(np.sum(cdf <= 0.025))


def expected_stats(a):
    s = np.sort(a)
    n = len(s)
    j = ci_rank(n)
    p5, p50, p90, p95, p99 = np.percentile(s, [5, 50, 90, 95, 99])
    return {"n": n, "median": np.median(s), "p5": p5, "p50": p50, "p90": p90, "p95": p95, "p99": p99,
            "ci_lo": s[j - 1] if j else s[0], "ci_hi": s[n - j] if j else s[-1]}


def thin(x):
    """The evenly spaced order statistics ratio.h keeps above MAX_N."""
    s = np.sort(x)
    n = len(s)
    if n <= MAX_N:
        return s
    i = np.arange(MAX_N, dtype=np.int64)
    return s[(i * (n - 1) + (MAX_N - 1) // 2) // (MAX_N - 1)]


def expected_ratio(a, b):
    ta, tb = thin(a), thin(b)
    na, nb = len(ta), len(tb)
    d = np.subtract.outer(np.log(tb), np.log(ta)).ravel()
    n = d.size
    k = math.floor(n / 2 - sps.norm.ppf(0.975) * math.sqrt(n * (na + nb + 1) / 12))
    ds = np.sort(d)
    lo, hi = (ds[0], ds[-1]) if k < 1 else (ds[k - 1], ds[n - k])
    mw = sps.mannwhitneyu(tb, ta, alternative="two-sided", method="asymptotic", use_continuity=True)
    return {"n_a": len(a), "n_b": len(b), "ratio": math.exp(np.median(d)), "ci_lo": math.exp(lo),
            "ci_hi": math.exp(hi), "u": float(mw.statistic), "p_value": float(mw.pvalue),
            "ratio_of_medians": np.median(b) / np.median(a)}


def expected_supports(n):
    # n (1 - p) >= 1 in exact integer arithmetic: n (100 - pct) >= 100
    return {f"p{pct}": int(n * (100 - pct) >= 100) for pct in (90, 95, 99)}


def run_tool(tool, a, b):
    text = " ".join(repr(float(x)) for x in a) + "\n" + " ".join(repr(float(x)) for x in b) + "\n"
    out = subprocess.run([tool], input=text, capture_output=True, text=True, timeout=120)
    if out.returncode != 0:
        raise RuntimeError(f"stats_dump exited {out.returncode}: {out.stderr.strip()}")
    return json.loads(out.stdout)


def compare(group, got, want):
    """Mismatch descriptions (empty when everything agrees)."""
    bad = []
    for key, w in want.items():
        g = got[group].get(key)
        if g is None:
            bad.append(f"{group}.{key} missing")
            continue
        tol = P_ABS_TOL if key == "p_value" else REL_TOL * max(abs(float(w)), 1e-300)
        if abs(float(g) - float(w)) > tol:
            bad.append(f"{group}.{key}: got {g!r}, want {float(w)!r}")
    return bad


def cases():
    """(name, a, b): fixed seeds, so every run checks the same numbers."""
    rng = np.random.default_rng(20261127)

    def logn(n, scale=0.01, sigma=0.05):
        return scale * rng.lognormal(0.0, sigma, n)

    a10 = np.round(logn(10), 4)  # a 0.1 ms timer grid: ties within and across
    same = logn(25)
    yield "1x1", np.array([0.010]), np.array([0.012])
    yield "3x5", logn(3), logn(5)
    yield "10x10 ties", a10, np.round(logn(10), 4)
    yield "10x37", logn(10), logn(37)
    yield "60x60 b +3%", logn(60), 1.03 * logn(60)
    yield "200x150 lognormal", logn(200, sigma=0.3), logn(150, sigma=0.3)
    yield "1x20", np.array([0.0101]), logn(20)
    yield "25x25 identical", same, same.copy()
    yield "5x7 all equal", np.full(5, 0.02), np.full(7, 0.02)
    yield "300x300 3 values", rng.choice([0.010, 0.011, 0.012], 300), rng.choice([0.010, 0.011, 0.012], 300)
    yield "2500x2100 thinned, b +1%", logn(2500), 1.01 * logn(2100)


def check_case(tool, name, a, b):
    got = run_tool(tool, a, b)
    bad = compare("stats", got, expected_stats(a))
    bad += compare("ratio", got, expected_ratio(a, b))
    bad += compare("supports", got, expected_supports(len(a)))
    return bad


def check_bad_input(tool):
    """A value <= 0 must be refused (exit 1), not turned into a number."""
    out = subprocess.run([tool], input="0.01 0.02\n0.01 0\n", capture_output=True, text=True, timeout=60)
    return [] if out.returncode == 1 else [f"exit status {out.returncode}, want 1"]


def main():
    if len(sys.argv) != 2:
        print("usage: check_stats.py PATH/TO/stats_dump", file=sys.stderr)
        return 2
    tool = sys.argv[1]
    checks = [(name, lambda name=name, a=a, b=b: check_case(tool, name, a, b)) for name, a, b in cases()]
    checks.append(("bad input refused", lambda: check_bad_input(tool)))
    passed = failed = 0
    for name, fn in checks:
        try:
            bad = fn()
        except (RuntimeError, ValueError, KeyError, OSError, subprocess.TimeoutExpired) as e:
            bad = [str(e)]
        if bad:
            failed += 1
            print(f"FAIL {name}: " + "; ".join(bad))
        else:
            passed += 1
            print(f"ok   {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
