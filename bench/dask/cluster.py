"""Dask's side of bench/distributed.ts, measured the same way on the same machine.

A scheduler and two worker processes of one thread each (LocalCluster(n_workers=2,
threads_per_worker=1)), a fresh cluster per figure; "cold" is the first run after the cluster
started, "warm" the median of the runs after one unmeasured one.

    python3 bench/dask/cluster.py            every figure (several minutes: Dask takes
                                                 milliseconds per task)
    python3 bench/dask/cluster.py --quick    fewer rounds

Needs dask.distributed and numpy (Debian: apt-get install python3-distributed).
"""

import statistics
import sys
import time

import numpy as np
from dask.distributed import Client, LocalCluster, wait
from workloads import delayed_tree, inc

QUICK = "--quick" in sys.argv
WARM_RUNS = 2 if QUICK else 3


def report(label, value, target=""):
    print(f"{label:<64}{value:>12}" + (f"   ({target})" if target else ""), flush=True)


def per_task(seconds, n):
    us = seconds * 1e6 / n
    return f"{us / 1000:.2f} ms" if us >= 1000 else f"{us:.1f} µs"


def fresh_cluster():
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    client = Client(cluster)
    client.gather(client.map(inc, range(100), pure=False))  # both workers up and warm
    return cluster, client


def cold_and_warm(name, tasks, run):
    cluster, client = fresh_cluster()
    try:
        cold = run(client, 0)
        run(client, 1)
        warm = [run(client, 2 + i) for i in range(WARM_RUNS)]
        report(f"{name}, cold (first run)", per_task(cold, tasks))
        report(f"{name}, warm (median of {len(warm)})", per_task(statistics.median(warm), tasks))
    finally:
        client.close()
        cluster.close()


def increments(client, base, submit_all):
    items = list(range(base, base + 10_000))
    start = time.perf_counter()
    futures = submit_all(client, items)
    values = client.gather(futures)
    seconds = time.perf_counter() - start
    assert values[-1] == base + 10_000
    del futures
    return seconds


def tree(client, round_):
    offset = 1_000_000 * round_
    root = delayed_tree(8192, offset)
    start = time.perf_counter()
    total = client.compute(root).result()
    seconds = time.perf_counter() - start
    assert total == 8192 * offset + 8192 * 8193 // 2
    return seconds


def main():
    print("Dask", __import__("dask").__version__, "- each figure in a fresh cluster of 2 workers × 1 thread")
    cluster, client = fresh_cluster()
    try:
        def round_trip(i):
            start = time.perf_counter()
            client.submit(inc, i).result()
            return (time.perf_counter() - start) * 1000

        cold = [round_trip(i) for i in range(100)]
        warm = [round_trip(1_000_000 + i) for i in range(100 if QUICK else 300)]
        report("submit → result round trip, cold (median of the first 100)", f"{statistics.median(cold):.2f} ms")
        report(f"submit → result round trip, warm (median of {len(warm)})", f"{statistics.median(warm):.2f} ms")
    finally:
        client.close()
        cluster.close()

    cold_and_warm(
        "10,000 submit + gather", 10_000,
        lambda c, r: increments(c, 1_000_000 * (r + 1), lambda c, xs: [c.submit(inc, x) for x in xs]),
    )
    cold_and_warm(
        "map of 10,000 + gather", 10_000,
        lambda c, r: increments(c, 100_000_000 + 1_000_000 * r, lambda c, xs: c.map(inc, xs)),
    )
    cold_and_warm("delayed tree of 16,383 tasks", 16_383, tree)

    cluster, client = fresh_cluster()
    try:
        workers = list(client.scheduler_info()["workers"])
        rates = []
        for round_ in range(5):
            data = client.submit(lambda n, r: np.ones(n), 200_000_000 // 8, round_, workers=[workers[0]], pure=False)
            wait(data)
            start = time.perf_counter()
            length = client.submit(len, data, workers=[workers[1]], pure=False).result()
            seconds = time.perf_counter() - start
            assert length == 200_000_000 // 8
            rates.append(200 / seconds)
            del data
        report("200 MB array moved worker → worker (median of 5)", f"{statistics.median(rates):.0f} MB/s")
    finally:
        client.close()
        cluster.close()


if __name__ == "__main__":
    main()
