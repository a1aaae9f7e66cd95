"""Dask's side of bench/deploy.ts: seconds from cluster.scale(4) to 4 registered workers on a
LocalCluster (Dask's defaults: worker processes under nannies, one thread each), the median of
ROUNDS fresh clusters. Prints one JSON line: {"local": [seconds, ...]}.

    /usr/bin/python3 bench/dask/deploy.py [rounds]

Needs dask.distributed (Debian: apt-get install python3-distributed).
"""

import json
import sys
import time

from dask.distributed import Client, LocalCluster

ROUNDS = int(sys.argv[1]) if len(sys.argv) > 1 else 3


def scale_time():
    with LocalCluster(n_workers=0, threads_per_worker=1, dashboard_address=None) as cluster:
        with Client(cluster) as client:
            start = time.perf_counter()
            cluster.scale(4)
            client.wait_for_workers(4)
            return time.perf_counter() - start


if __name__ == "__main__":
    print(json.dumps({"local": [scale_time() for _ in range(ROUNDS)]}))
