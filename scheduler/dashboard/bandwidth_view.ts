/**
 * Bandwidth between workers, as Dask's "bandwidth by worker" and "bandwidth by type": bytes per
 * second over the last seconds, from the byte counts the workers' heartbeats report (what each
 * received from which peer, and of which type). The meter keeps a snapshot of the totals about
 * once a second (O(worker pairs + types)); a rate is the growth since the snapshot a window ago.
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";

/** One receiving worker and one sending worker. */
export interface PairBandwidth {
  to: string;
  from: string;
  /** Bytes per second over the window. */
  rate: number;
  /** Bytes ever moved. */
  total: number;
}

export interface TypeBandwidth {
  type: string;
  rate: number;
  total: number;
}

/** Per worker, bytes per second in and out over the window. */
export interface WorkerBandwidth {
  address: string;
  in: number;
  out: number;
}

export interface BandwidthView {
  /** Seconds the rates are averaged over. */
  windowS: number;
  pairs: PairBandwidth[];
  workers: WorkerBandwidth[];
  types: TypeBandwidth[];
}

/** Totals by `to\u0000from` and by `\u0001type`, at a time. */
interface Snapshot {
  time: number;
  totals: Map<string, number>;
}

const SEP = "\u0000";
const TYPE = "\u0001";

function totals(state: SchedulerState): Map<string, number> {
  const out = new Map<string, number>();
  for (const w of state.workers.values()) {
    for (const [peer, n] of w.received) out.set(w.address + SEP + peer, n);
    for (const [type, n] of w.receivedByType) {
      out.set(TYPE + type, (out.get(TYPE + type) ?? 0) + n);
    }
  }
  return out;
}

export class BandwidthMeter {
  readonly #snapshots: Snapshot[] = [];

  /** @param windowS seconds rates are averaged over */
  constructor(readonly windowS = 5) {}

  /** Keeps a snapshot when the last one is a second old. */
  sample(state: SchedulerState, now: number): void {
    const last = this.#snapshots.at(-1);
    if (last !== undefined && now - last.time < 1) return;
    this.#snapshots.push({ time: now, totals: totals(state) });
    // Keep one snapshot older than the window: the rates' starting point.
    while (this.#snapshots.length > 2 && this.#snapshots[1].time <= now - this.windowS) {
      this.#snapshots.shift();
    }
  }

  view(state: SchedulerState, now: number): BandwidthView {
    const current = totals(state);
    // The newest snapshot a window old (else the oldest there is).
    let start = this.#snapshots[0];
    for (const s of this.#snapshots) if (s.time <= now - this.windowS) start = s;
    const elapsed = start === undefined ? 0 : now - start.time;
    const rate = (id: string, total: number) =>
      elapsed > 0 ? Math.max(0, total - (start.totals.get(id) ?? 0)) / elapsed : 0;
    const pairs: PairBandwidth[] = [];
    const types: TypeBandwidth[] = [];
    const perWorker = new Map<string, WorkerBandwidth>();
    for (const w of state.workers.values()) {
      perWorker.set(w.address, { address: w.address, in: 0, out: 0 });
    }
    for (const [id, total] of current) {
      if (id.startsWith(TYPE)) {
        types.push({ type: id.slice(1), rate: rate(id, total), total });
        continue;
      }
      const [to, from] = id.split(SEP);
      const r = rate(id, total);
      pairs.push({ to, from, rate: r, total });
      const receiver = perWorker.get(to);
      if (receiver !== undefined) receiver.in += r;
      const sender = perWorker.get(from);
      if (sender !== undefined) sender.out += r;
    }
    types.sort((a, b) => b.total - a.total);
    return { windowS: this.windowS, pairs, workers: [...perWorker.values()], types };
  }
}
