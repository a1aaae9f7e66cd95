"""Dask's side of bench/local.ts: the `processes` scheduler on the same workloads.

Dask's processes scheduler starts a new process pool for every compute unless one is configured;
"cold" is that default (pool start included), "warm" reuses one pool (dask.config.set(pool=...))
after an unmeasured run, the median of the runs after it.

    /usr/bin/python3 bench/dask/local.py [workers]

Prints one JSON object: seconds per figure. Needs Debian's python3-distributed (Dask 2022.12).
"""

import json
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import dask
import numpy as np
from dask import delayed
from workloads import delayed_tree

WORKERS = int(sys.argv[1]) if len(sys.argv) > 1 else 2
WARM_RUNS = 3


def random_walk(s0, mu, sigma, days, seed):
    """Seed 000's random walk as the seed writes it (one draw per day, as examples/montecarlo.ts),
    seeded per walk so every run draws the same numbers."""
    rng = np.random.default_rng(seed)
    dt = 1 / 365
    prices = np.zeros(days)
    prices[0] = s0
    for i in range(1, days):
        e = rng.normal(loc=mu * dt, scale=sigma * np.sqrt(dt))
        prices[i] = prices[i - 1] * (1 + e)
    return prices


def average(values):
    return sum(values) / len(values)


def payoff(mean, strike):
    return max(0, mean - strike)


def monte_carlo(n, s0=100, mu=0.02, sigma=0.2, strike=100):
    days = 365 * 4
    payoffs = [
        delayed(payoff)(delayed(np.average)(delayed(random_walk)(s0, mu, sigma, days, i + 1)), strike)
        for i in range(n)
    ]
    return delayed(average)(payoffs)


def timed(work):
    start = time.perf_counter()
    work()
    return time.perf_counter() - start


def cold_and_warm(build, check):
    graph = build()
    cold = timed(lambda: check(graph.compute(scheduler="processes", num_workers=WORKERS)))
    with ProcessPoolExecutor(WORKERS) as pool, dask.config.set(pool=pool):
        check(graph.compute(scheduler="processes", num_workers=WORKERS))
        warm = [
            timed(lambda: check(graph.compute(scheduler="processes", num_workers=WORKERS)))
            for _ in range(WARM_RUNS)
        ]
    return {"cold": cold, "warm": statistics.median(warm)}


def main():
    leaves = 8192

    def check_tree(v):
        assert v == leaves * (leaves + 1) // 2, v

    def check_mc(v):
        assert v > 0, v

    print(json.dumps({
        "version": dask.__version__,
        "tree": cold_and_warm(lambda: delayed_tree(leaves), check_tree),
        "montecarlo": cold_and_warm(lambda: monte_carlo(1000), check_mc),
    }))


if __name__ == "__main__":
    main()
