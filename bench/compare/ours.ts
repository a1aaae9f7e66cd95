/**
 * This project's side of `bench/compare.ts`: one workload per process, as a user's script runs
 * it. Prints one JSON line `{ cold, warm, unit }`: `cold` is the first run in this fresh
 * process (thread pools, connections and compiled code all new; a cluster's start is not
 * counted), `warm` the median of later runs. Dask's side is `bench/dask/compare.py`, measured
 * the same way.
 *
 *   deno run -A bench/compare/ours.ts <workload>
 */

import { array, bag, Client, type Delayed, delayed, shutdownThreads, wait } from "../../mod.ts";
import { monteCarlo } from "../../examples/montecarlo.ts";
import { type BenchRecord, makeRecords } from "./records.ts";

const inc = (x: number) => x + 1;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** A figure: cold and warm, in `unit` (ms, µs per task, or MB/s). */
interface Figure {
  cold: number;
  warm: number;
  unit: "ms" | "µs/task" | "MB/s";
}

/** First run, one unmeasured, then the median of `repeat`; `run` returns ms. */
async function coldWarm(
  run: (round: number) => Promise<number>,
  perTask = 0,
  repeat = 3,
): Promise<Figure> {
  const cold = await run(0);
  await run(1);
  const times: number[] = [];
  for (let i = 0; i < repeat; i++) times.push(await run(2 + i));
  const scale = perTask > 0 ? 1000 / perTask : 1;
  return {
    cold: cold * scale,
    warm: median(times) * scale,
    unit: perTask > 0 ? "µs/task" : "ms",
  };
}

const timed = async (work: () => Promise<unknown>): Promise<number> => {
  const start = performance.now();
  await work();
  return performance.now() - start;
};

/** The 2-worker × 1-thread cluster every cluster workload runs on (its start is not timed). */
function cluster(): Promise<Client> {
  return Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
}

function seedArray(): array.DArray {
  const x = array.random.random([4000, 4000], { chunks: [500, 500], seed: 42 });
  return x.add(x.T).sum({ axis: 0 }).mean();
}

function recordsBag(records: BenchRecord[]) {
  return bag.fromSequence(records, { npartitions: 40 });
}

async function recordQueries(records: BenchRecord[], client: Client): Promise<void> {
  const b = recordsBag(records);
  const types = await b.pluck("type").frequencies().compute({ scheduler: client });
  const top = await b.filter((r: BenchRecord) => r.type === "PushEvent").pluck("repo")
    .frequencies().topk(10, 1).compute({ scheduler: client });
  const n = await b.count().compute({ scheduler: client });
  if (n !== records.length || types.length === 0 || top.length !== 10) {
    throw new Error(`wrong answers: ${n} records, ${types.length} types, top ${top.length}`);
  }
}

const workloads: Record<string, () => Promise<Figure>> = {
  async roundtrip() {
    await using client = await cluster();
    const one = (i: number) => timed(() => client.submit(inc, i).result());
    const cold: number[] = [];
    for (let i = 0; i < 200; i++) cold.push(await one(i));
    for (let i = 200; i < 700; i++) await one(i);
    const warm: number[] = [];
    for (let i = 0; i < 200; i++) warm.push(await one(1e6 + i));
    return { cold: median(cold), warm: median(warm), unit: "ms" };
  },
  async submit10k() {
    await using client = await cluster();
    return await coldWarm(async (round) => {
      const items = Array.from({ length: 10_000 }, (_, i) => 1e6 * (round + 1) + i);
      return await timed(async () => {
        const futures = items.map((x) => client.submit(inc, x));
        await client.gather(futures);
        for (const f of futures) f.release();
      });
    }, 10_000);
  },
  async map10k() {
    await using client = await cluster();
    return await coldWarm(async (round) => {
      const items = Array.from({ length: 10_000 }, (_, i) => 1e8 + 1e6 * round + i);
      return await timed(async () => {
        const futures = client.map(inc, items);
        await client.gather(futures);
        for (const f of futures) f.release();
      });
    }, 10_000);
  },
  async treeCluster() {
    await using client = await cluster();
    return await coldWarm(
      (round) => timed(() => offsetTree(round).compute({ scheduler: client })),
      16_383,
    );
  },
  async treeThreads() {
    const figure = await coldWarm(
      (round) => timed(() => offsetTree(round).compute({ scheduler: "threads" })),
      16_383,
    );
    shutdownThreads();
    return figure;
  },
  treeSync() {
    return coldWarm(
      (round) => timed(() => offsetTree(round).compute({ scheduler: "sync" })),
      16_383,
    );
  },
  async monteCarloCluster() {
    await using client = await cluster();
    return await coldWarm(() => timed(() => monteCarlo(1000).compute({ scheduler: client })));
  },
  async arrayThreads() {
    const figure = await coldWarm(() => timed(() => seedArray().compute({ scheduler: "threads" })));
    shutdownThreads();
    return figure;
  },
  async arrayCluster() {
    await using client = await cluster();
    return await coldWarm(() => timed(() => seedArray().compute({ scheduler: client })));
  },
  async transfer() {
    await using client = await cluster();
    const bytes = 200e6;
    const rates: number[] = [];
    for (let round = 0; round < 5; round++) {
      const data = client.with({ workers: ["worker-0"], pure: false }).submit(
        (n: number) => new Float64Array(n).fill(1),
        bytes / 8,
      );
      await wait(data);
      const ms = await timed(async () => {
        const length = await client.with({ workers: ["worker-1"], pure: false }).submit(
          (xs: Float64Array) => xs.length,
          data,
        );
        if (length !== bytes / 8) throw new Error("wrong length");
      });
      rates.push((bytes / 1e6) / (ms / 1000));
      data.release();
    }
    return { cold: rates[0], warm: median(rates.slice(1)), unit: "MB/s" };
  },
  async bag200k() {
    const records = makeRecords(200_000);
    await using client = await cluster();
    return await coldWarm(() => timed(() => recordQueries(records, client)));
  },
};

/** The 16,383-task tree with fresh keys each round (nothing is reused from the last one). */
function offsetTree(round: number): Delayed<number> {
  const offset = 1e6 * round;
  const add = (x: number, y: number) => x + y;
  let level: Delayed<number>[] = Array.from({ length: 8192 }, (_, i) => delayed(inc)(offset + i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

const name = Deno.args[0];
if (!Object.hasOwn(workloads, name)) {
  console.error(`unknown workload '${name}': one of ${Object.keys(workloads).join(", ")}`);
  Deno.exit(2);
}
console.log(JSON.stringify(await workloads[name]()));
