"""Dask's side of bench/primitives.ts, on the same machine in the same run: a Queue put+get
round trip from a client, an actor method call round trip (client.submit(Counter, actor=True)),
and 1,000 tasks each launching 10 subtasks through get_client().
LocalCluster(n_workers=2, threads_per_worker=1). Each round trip cold (the mean of the first
300 calls) and warm (the mean of the 1,000 after them), as bench/primitives.ts. Prints one JSON
object.

    /usr/bin/python3 bench/dask/primitives.py [--only queue,actor,launch]
"""

import argparse
import json
import time

from dask.distributed import Client, LocalCluster, Queue, get_client, secede, rejoin

ROUNDS = 1000
COLD = 300  # the calls timed as the cold figure, as in bench/primitives.ts


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


def cold_and_warm(call):
    start = time.perf_counter()
    for i in range(COLD):
        call(i)
    cold = (time.perf_counter() - start) / COLD * 1000
    start = time.perf_counter()
    for i in range(ROUNDS):
        call(i)
    return cold, (time.perf_counter() - start) / ROUNDS * 1000


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="queue,actor,launch")
    only = set(parser.parse_args().only.split(","))
    figures = {}
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        if "queue" in only:
            queue = Queue("bench")

            def put_get(i):
                queue.put(i)
                assert queue.get() == i

            figures["queue_cold_ms"], figures["queue_warm_ms"] = cold_and_warm(put_get)

        if "actor" in only:
            counter = client.submit(Counter, actor=True).result()
            figures["actor_cold_ms"], figures["actor_warm_ms"] = cold_and_warm(
                lambda i: counter.increment().result()
            )
            assert counter.n == ROUNDS + COLD

        if "launch" in only:
            start = time.perf_counter()
            totals = client.gather(client.map(launcher, range(1000)))
            figures["launch_1000x10_s"] = time.perf_counter() - start
            assert sum(totals) == sum(45 + 10 * i for i in range(1000))
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
