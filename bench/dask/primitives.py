"""Dask's side of bench/primitives.ts, on the same machine in the same run: a Queue put+get
round trip from a client, an actor method call round trip (client.submit(Counter, actor=True)),
and 1,000 tasks each launching 10 subtasks through get_client().
LocalCluster(n_workers=2, threads_per_worker=1). Prints one JSON object.

    /usr/bin/python3 bench/dask/primitives.py
"""

import json
import time

from dask.distributed import Client, LocalCluster, Queue, get_client, secede, rejoin

ROUNDS = 1000
WARMUP = 300  # the same calls as bench/primitives.ts makes before timing


class Counter:
    n = 0

    def increment(self):
        self.n += 1
        return self.n


def launcher(i):
    client = get_client()
    futures = client.map(lambda x, i=i: x + i, range(10), pure=False)
    secede()
    total = sum(client.gather(futures))
    rejoin()
    return total


def main():
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        queue = Queue("bench")
        for i in range(WARMUP):  # warm-up
            queue.put(i)
            queue.get()
        start = time.perf_counter()
        for i in range(ROUNDS):
            queue.put(i)
            queue.get()
        queue_ms = (time.perf_counter() - start) / ROUNDS * 1000

        counter = client.submit(Counter, actor=True).result()
        for i in range(WARMUP):  # warm-up
            counter.increment().result()
        start = time.perf_counter()
        for i in range(ROUNDS):
            counter.increment().result()
        actor_ms = (time.perf_counter() - start) / ROUNDS * 1000
        assert counter.n == ROUNDS + WARMUP

        start = time.perf_counter()
        totals = client.gather(client.map(launcher, range(1000)))
        launch_s = time.perf_counter() - start
        assert sum(totals) == sum(45 + 10 * i for i in range(1000))
    print(json.dumps({
        "queue_round_trip_ms": queue_ms,
        "actor_round_trip_ms": actor_ms,
        "launch_1000x10_s": launch_s,
    }))


if __name__ == "__main__":
    main()
