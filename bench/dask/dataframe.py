"""Dask's side of bench/dataframe.ts: the same workloads on the same files, measured the same way.

    /usr/bin/python3 bench/dask/dataframe.py DATA_DIR

DATA_DIR holds what bench/dataframe.ts wrote: flights/*.csv (the NYC-flights-like files),
groups/*.csv (a key with about 1,000,000 distinct values), left/*.csv and right/*.csv (two frames
to merge on a key). Every figure is cold (a fresh read of the files, as each query of the seed's
exercise is), on a LocalCluster of 2 workers x 1 thread; the seed's queries also run on plain
pandas in one thread, reading and aggregating the same files. Prints one JSON object per figure.

Needs Debian's python3-distributed and python3-pandas (Dask 2022.12, pandas 1.5).
"""

import glob
import json
import sys
import time

import dask.dataframe as dd
import pandas as pd
from dask.distributed import Client, LocalCluster

DATA = sys.argv[1]
FLIGHTS = f"{DATA}/flights/*.csv"
FLIGHT_OPTIONS = dict(
    parse_dates={"Date": [0, 1, 2]},
    dtype={"TailNum": object, "CRSElapsedTime": float, "Cancelled": bool},
)


def emit(name, seconds, **extra):
    print(json.dumps({"name": name, "seconds": seconds, **extra}), flush=True)


def timed(name, work):
    start = time.perf_counter()
    value = work()
    emit(name, time.perf_counter() - start)
    return value


# the seed's exercise (seed 003), each a function of the frame
QUERIES = [
    ("max DepDelay of non-cancelled", lambda df: df[~df.Cancelled].DepDelay.max()),
    ("len(df)", lambda df: len(df)),
    ("len(non-cancelled)", lambda df: len(df[~df.Cancelled])),
    ("non-cancelled count per Origin",
     lambda df: df[~df.Cancelled].groupby("Origin").Origin.count()),
    ("non-cancelled mean DepDelay per Origin",
     lambda df: df[~df.Cancelled].groupby("Origin").DepDelay.mean()),
    ("mean DepDelay per day of week",
     lambda df: df.groupby(df.Date.dt.dayofweek).DepDelay.mean()),
]


def compute(value):
    return value.compute() if hasattr(value, "compute") else value


def on_dask():
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True) as cluster, Client(cluster):
        # the sample of a file's first rows sees no missing DepDelay: Dask's own fix for the
        # resulting dtype error is assume_missing (integer columns as floats)
        df = dd.read_csv(FLIGHTS, assume_missing=True, **FLIGHT_OPTIONS)
        for name, query in QUERIES:
            timed(f"dask: {name}", lambda: compute(query(df)))
        groups = dd.read_csv(f"{DATA}/groups/*.csv")
        timed("dask: groupby 1M groups mean (split_out)",
              lambda: len(groups.groupby("key").value.mean(split_out=groups.npartitions)))
        left = dd.read_csv(f"{DATA}/left/*.csv")
        right = dd.read_csv(f"{DATA}/right/*.csv")
        timed("dask: merge 2M x 2M on key (hash join)",
              lambda: len(dd.merge(left, right, on="key", shuffle="tasks")))
        timed("dask: sort_values 4M rows by value", lambda: len(groups.sort_values("value")))


def on_pandas():
    files = sorted(glob.glob(FLIGHTS))

    def read():
        return pd.concat([pd.read_csv(f, **FLIGHT_OPTIONS) for f in files], ignore_index=True)

    for name, query in QUERIES:
        timed(f"pandas: {name}", lambda: query(read()))


if __name__ == "__main__":  # LocalCluster's worker processes import this module again
    on_pandas()
    on_dask()
