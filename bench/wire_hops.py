"""Where a cold round trip's time goes on the wire: each trip of bench/cold_roundtrip.ts split
into its four hops, from a capture of the loopback interface.

    sudo python3 bench/wire_hops.py capture /tmp/trips.pk &        # until SIGTERM
    deno run -A bench/cold_roundtrip.ts --against=<older checkout> --hops 2> /tmp/trips.err
    kill %1; python3 bench/wire_hops.py report /tmp/trips.pk /tmp/trips.err

`capture` records, for every TCP segment with a payload that leaves on `lo`, its kernel timestamp,
ports and length (a raw AF_PACKET socket: root, Linux only); it creates `<file>.ready` once it
listens. `report` takes each round's scheduler port and time window from the bench's `HOPS` lines,
tells the client's connection (the last to connect) from the workers', and splits every trip at the
first segment of each hop: scheduler intake (update-graph in, compute-task out), worker
(compute-task in, task-finished out), scheduler outcome (task-finished in, key-in-memory out),
client (key-in-memory in, the next update-graph out). Per hop it prints, over the rounds, the
median of each round's median and 10th percentile over its first 100 trips, and the median and
range of the new/old pair ratios: the 10th percentile is the steadier figure on a loaded machine.
"""

import collections
import signal
import socket
import statistics
import struct
import sys


def capture(path):
    out = open(path, "w", buffering=1 << 20)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.ntohs(3))  # ETH_P_ALL
    s.bind(("lo", 0))
    so_timestampns = 35
    s.setsockopt(socket.SOL_SOCKET, so_timestampns, 1)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 24)

    def stop(*_):
        out.flush()
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    open(path + ".ready", "w").close()
    while True:
        data, anc, _flags, addr = s.recvmsg(128, 64)
        # each segment shows on lo twice: keep the outgoing copy (PACKET_OUTGOING)
        if addr[2] != 4 or len(data) < 34 or data[12:14] != b"\x08\x00":
            continue
        ip = data[14:]
        if ip[9] != 6:  # TCP
            continue
        ihl = (ip[0] & 15) * 4
        total = struct.unpack("!H", ip[2:4])[0]
        tcp = ip[ihl:]
        sport, dport = struct.unpack("!HH", tcp[:4])
        payload = total - ihl - (tcp[12] >> 4) * 4
        if payload <= 0:
            continue
        t = 0
        for level, kind, value in anc:
            if level == socket.SOL_SOCKET and kind == so_timestampns:
                sec, nsec = struct.unpack("qq", value[:16])
                t = sec * 1_000_000_000 + nsec
        out.write(f"{t} {sport} {dport} {payload}\n")


def trips_of(segments, port, start, end):
    """(intake, worker, outcome, client, whole) in ns for each trip of one round."""
    mine = [p for p in segments if start <= p[0] <= end and port in (p[1], p[2])]
    first_seen = {}
    for t, s, d, _ in mine:
        first_seen.setdefault(d if s == port else s, t)
    if not first_seen:
        return []
    client = max(first_seen, key=first_seen.get)
    events = []
    for t, s, d, _ in mine:
        events.append((t, "C>S" if s == client else "S>C" if d == client
                       else "W>S" if d == port else "S>W"))
    sends = [i for i, e in enumerate(events) if e[1] == "C>S"]
    trips = []
    for i, j in zip(sends, sends[1:]):
        a = events[i][0]
        between = events[i + 1:j]
        b = next((t for t, k in between if k == "S>W"), None)
        c = next((t for t, k in between if k == "W>S" and b is not None and t > b), None)
        d = [t for t, k in between if k == "S>C"]
        if b is None or c is None or not d:
            continue
        trips.append((b - a, c - b, d[-1] - c, events[j][0] - d[-1], events[j][0] - a))
    return trips[-200:][:100]  # the bench's first 100 timed trips


def report(capture_path, bench_stderr):
    segments = [tuple(map(int, line.split())) for line in open(capture_path) if line.strip()]
    rounds = {}
    for line in open(bench_stderr):
        w = line.split()
        if w and w[0] in ("HOPS", "HOPSEND"):
            entry = rounds.setdefault((w[1], int(w[2])), [int(w[3].rsplit(":", 1)[1]), 0, 0])
            entry[1 if w[0] == "HOPS" else 2] = int(w[4]) * 1_000_000
    figures = collections.defaultdict(dict)
    for (label, r), (port, start, end) in rounds.items():
        trips = trips_of(segments, port, start, end + 5_000_000)
        if len(trips) < 90:
            continue
        figures[label][r] = [
            (statistics.median(t[h] for t in trips) / 1e3,
             sorted(t[h] for t in trips)[len(trips) // 10] / 1e3) for h in range(5)]
    pairs = sorted(set(figures["old"]) & set(figures["new"]))
    print(f"{len(pairs)} rounds with both trees; µs per hop over each round's first 100 trips")
    names = ["scheduler intake", "worker", "scheduler outcome", "client", "whole trip"]
    for h, name in enumerate(names):
        for k, what in ((0, "median"), (1, "10th pct")):
            new = [figures["new"][r][h][k] for r in pairs]
            old = [figures["old"][r][h][k] for r in pairs]
            ratios = [a / b for a, b in zip(new, old)]
            print(f"{name:>17} {what:>8}: new {statistics.median(new):6.0f}, old "
                  f"{statistics.median(old):6.0f}; ratio {statistics.median(ratios):.2f}× "
                  f"({min(ratios):.2f}–{max(ratios):.2f}×)")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "capture":
        capture(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == "report":
        report(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)
