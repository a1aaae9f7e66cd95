"""The task functions and graphs the Dask scripts share, so each side of a figure builds the same
graph as bench/tree.ts: a binary tree of `add` over `inc` leaves (8,192 leaves, 16,383 tasks).

Imported by the scripts beside it (Python puts a script's folder on its path); functions defined
here pickle by reference, so Dask's workers and process pools import this module, not __main__.
"""

from dask import delayed


def inc(x):
    return x + 1


def add(x, y):
    return x + y


def delayed_tree(leaves=8192, offset=0):
    """The root of a reduction tree over inc(offset + i): one new graph per offset (no cache hit)."""
    level = [delayed(inc)(offset + i) for i in range(leaves)]
    while len(level) > 1:
        level = [delayed(add)(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]
