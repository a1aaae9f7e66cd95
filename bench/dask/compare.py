"""Dask's side of bench/compare.ts: one workload per process, measured as bench/compare/ours.ts
measures this project's (cold: the first run in a fresh process, the cluster's start not
counted; warm: the median of later runs). Prints one JSON line {cold, warm, unit}.

    /usr/bin/python3 bench/dask/compare.py <workload>

Needs dask.distributed and numpy (Debian: apt-get install python3-distributed).
"""

import json
import statistics
import sys
import time

import numpy as np
import dask
import dask.array as da
import dask.bag as db
from dask import delayed
from dask.distributed import Client, LocalCluster, wait
from workloads import delayed_tree, inc


def timed(work):
    start = time.perf_counter()
    work()
    return (time.perf_counter() - start) * 1000


def cold_warm(run, per_task=0, repeat=3):
    cold = run(0)
    run(1)
    times = [run(2 + i) for i in range(repeat)]
    scale = 1000 / per_task if per_task else 1
    return {
        "cold": cold * scale,
        "warm": statistics.median(times) * scale,
        "unit": "µs/task" if per_task else "ms",
    }


def cluster():
    lc = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    return lc, Client(lc)


def offset_tree(round_):
    return delayed_tree(8192, 1_000_000 * round_)


def random_walk(s0, mu, sigma, days, seed):
    """Seed 000's walk drawn in one vectorized NumPy call: the fastest form for Dask's side (local.py
    keeps the seed's own per-day loop, as examples/montecarlo.ts does)."""
    rng = np.random.default_rng(seed)
    dt = 1 / 365
    e = mu * dt + sigma * np.sqrt(dt) * rng.standard_normal(days - 1)
    return s0 * np.cumprod(np.concatenate(([1.0], 1 + e)))


def average(values):
    return float(np.mean(values))


def payoff(mean, strike):
    return max(0.0, mean - strike)


def monte_carlo(n, s0=100, mu=0.02, sigma=0.2, strike=100):
    days = 365 * 4
    payoffs = []
    for i in range(n):
        walk = delayed(random_walk, pure=True)(s0, mu, sigma, days, i + 1)
        payoffs.append(delayed(payoff, pure=True)(delayed(average, pure=True)(walk), strike))
    return delayed(average, pure=True)(payoffs)


def seed_array():
    x = da.random.RandomState(42).random_sample((4000, 4000), chunks=(500, 500))
    return (x + x.T).sum(axis=0).mean()


EVENT_TYPES = ["PushEvent", "PushEvent", "PushEvent", "CreateEvent", "WatchEvent",
               "IssueCommentEvent", "PullRequestEvent", "IssuesEvent", "ForkEvent", "DeleteEvent"]


def make_records(n):
    return [{
        "type": EVENT_TYPES[(i * 7) % len(EVENT_TYPES)],
        "repo": f"org{(i * 31) % 97}/repo{(i * 131) % 5003}",
        "actor": f"user{(i * 17) % 20011}",
        "size": (i * 13) % 1009,
    } for i in range(n)]


def record_queries(records):
    b = db.from_sequence(records, npartitions=40)
    types = b.pluck("type").frequencies().compute()
    top = b.filter(lambda r: r["type"] == "PushEvent").pluck("repo").frequencies() \
        .topk(10, key=1).compute()
    n = b.count().compute()
    assert n == len(records) and len(types) > 0 and len(top) == 10


def with_cluster(work):
    lc, client = cluster()
    try:
        return work(client)
    finally:
        client.close()
        lc.close()


def roundtrip(client):
    def one(i):
        return timed(lambda: client.submit(inc, i).result())
    cold = [one(i) for i in range(200)]
    for i in range(200, 700):
        one(i)
    warm = [one(1_000_000 + i) for i in range(200)]
    return {"cold": statistics.median(cold), "warm": statistics.median(warm), "unit": "ms"}


def increments(client, base, submit_all):
    items = list(range(base, base + 10_000))

    def work():
        futures = submit_all(items)
        client.gather(futures)
    return timed(work)


def transfer(client):
    workers = list(client.scheduler_info()["workers"])
    rates = []
    for round_ in range(5):
        data = client.submit(lambda n, r: np.ones(n), 200_000_000 // 8, round_,
                             workers=[workers[0]], pure=False)
        wait(data)
        ms = timed(lambda: client.submit(len, data, workers=[workers[1]], pure=False).result())
        rates.append(200 / (ms / 1000))
        del data
    return {"cold": rates[0], "warm": statistics.median(rates[1:]), "unit": "MB/s"}


WORKLOADS = {
    "roundtrip": lambda: with_cluster(roundtrip),
    "submit10k": lambda: with_cluster(lambda c: cold_warm(
        lambda r: increments(c, 1_000_000 * (r + 1), lambda xs: [c.submit(inc, x) for x in xs]),
        10_000)),
    "map10k": lambda: with_cluster(lambda c: cold_warm(
        lambda r: increments(c, 100_000_000 + 1_000_000 * r, lambda xs: c.map(inc, xs)), 10_000)),
    "treeCluster": lambda: with_cluster(lambda c: cold_warm(
        lambda r: timed(lambda: c.compute(offset_tree(r)).result()), 16_383)),
    "treeThreads": lambda: cold_warm(
        lambda r: timed(lambda: offset_tree(r).compute(scheduler="threads")), 16_383),
    "treeSync": lambda: cold_warm(
        lambda r: timed(lambda: offset_tree(r).compute(scheduler="sync")), 16_383),
    "monteCarloCluster": lambda: with_cluster(lambda c: cold_warm(
        lambda r: timed(lambda: c.compute(monte_carlo(1000)).result()))),
    "arrayThreads": lambda: cold_warm(
        lambda r: timed(lambda: seed_array().compute(scheduler="threads"))),
    "arrayCluster": lambda: with_cluster(lambda c: cold_warm(
        lambda r: timed(lambda: c.compute(seed_array()).result()))),
    "transfer": lambda: with_cluster(transfer),
    "bag200k": lambda: (lambda records: with_cluster(
        lambda c: cold_warm(lambda r: timed(lambda: record_queries(records)))))(make_records(200_000)),
}

if __name__ == "__main__":
    name = sys.argv[1] if len(sys.argv) > 1 else ""
    if name not in WORKLOADS:
        print(f"unknown workload '{name}': one of {', '.join(WORKLOADS)}", file=sys.stderr)
        sys.exit(2)
    print(json.dumps(WORKLOADS[name]()))
