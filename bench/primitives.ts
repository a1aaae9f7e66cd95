/**
 * Shared state and tasks that launch tasks, beside Dask measured in the same run
 * (bench/dask/primitives.py): a Queue put+get round trip from a client, an actor method call
 * round trip from a client (`await counter.increment()`), and 1,000 tasks each launching 10
 * subtasks through getClient(). All on 2 workers × 1 thread.
 *
 * Each round trip is given cold (the mean of the first 300 calls on a fresh cluster, while V8
 * still compiles the client's, scheduler's and worker's hot paths) and warm (the mean of the
 * 1,000 calls after them). A put+get is two requests to the scheduler, one after the other (a
 * put resolves once the scheduler has the item, as Dask's). One more row, ours alone and warm: a
 * put and a get sent together and awaited together (one round trip: what a put that did not wait
 * for the scheduler would cost; docs/architecture.md says why puts wait).
 *
 * Every round starts fresh processes on both sides (ours, then Dask's), then measures Deno's
 * own floor for the same hops (bench/transport_floor.ts: a bare TCP round trip between two
 * processes, and one whose server asks a Web Worker before it answers). The summary gives each figure's median
 * over the rounds with its range, and the ratio to Dask per round (median and range).
 *
 *   deno run -A bench/primitives.ts                      # everything, 3 rounds
 *   deno run -A bench/primitives.ts --only queue,actor   # some of it (the launches take Dask ~1 min)
 *   deno run -A bench/primitives.ts --rounds 5 --no-dask # ours (and the floor) alone
 */

import { benchArgs } from "./cli.ts";
import { Client, Queue } from "../mod.ts";
import { benchTasks } from "./primitives_tasks.ts";
import { postMessageRoundTrip, tcpRoundTrip } from "./transport_floor.ts";

const ROUNDS = 1000;
/** Calls timed as the cold figure, before the warm ones. */
const COLD = 300;
const PARTS = ["queue", "actor", "launch"] as const;
type Part = typeof PARTS[number];

const { values: flags } = benchArgs(
  {
    args: Deno.args,
    options: {
      only: { type: "string", default: PARTS.join(",") },
      "no-dask": { type: "boolean", default: false },
      "no-floor": { type: "boolean", default: false },
      rounds: { type: "string", default: "3" },
    },
  },
  "deno run -A bench/primitives.ts [--only queue,actor,launch] [--rounds N] [--no-dask] [--no-floor]",
);
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new Error(`--rounds takes a whole number ≥ 1, got '${flags.rounds}'`);
}
const only = new Set(flags.only.split(",").map((s) => s.trim()).filter((s) => s !== ""));
for (const part of only) {
  if (!PARTS.includes(part as Part)) {
    throw new Error(`--only takes ${PARTS.join(", ")} (comma-separated), got '${part}'`);
  }
}

/** What both sides measure (absent: not run); `together` and `floor` rows are ours alone. */
interface Figures {
  queue_cold_ms?: number;
  queue_warm_ms?: number;
  together_warm_ms?: number;
  actor_cold_ms?: number;
  actor_warm_ms?: number;
  launch_1000x10_s?: number;
}

class Counter {
  n = 0;
  increment() {
    return ++this.n;
  }
}

/** Mean ms of `COLD` calls, then of `ROUNDS` more. */
async function coldAndWarm(call: (i: number) => Promise<unknown>): Promise<[number, number]> {
  let start = performance.now();
  for (let i = 0; i < COLD; i++) await call(i);
  const cold = (performance.now() - start) / COLD;
  start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await call(i);
  return [cold, (performance.now() - start) / ROUNDS];
}

async function measureOurs(): Promise<Figures> {
  const figures: Figures = {};
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
  if (only.has("queue")) {
    const queue = new Queue<number>("bench", { client });
    [figures.queue_cold_ms, figures.queue_warm_ms] = await coldAndWarm(async (i) => {
      await queue.put(i);
      if (await queue.get() !== i) throw new Error("the queue gave another item");
    });
    // (after the put+get rows, on code V8 has compiled: only its warm figure means anything)
    const together = new Queue<number>("bench-together", { client });
    [, figures.together_warm_ms] = await coldAndWarm(async (i) => {
      const [, item] = await Promise.all([together.put(i), together.get()]);
      if (item !== i) throw new Error("the queue gave another item");
    });
  }
  if (only.has("actor")) {
    const counter = await client.actor(Counter);
    [figures.actor_cold_ms, figures.actor_warm_ms] = await coldAndWarm(() => counter.increment());
    if (await counter.n !== ROUNDS + COLD) throw new Error("wrong actor count");
  }
  if (only.has("launch")) {
    const start = performance.now();
    const totals = await client.gather(
      client.map(benchTasks.launcher, Array.from({ length: 1000 }, (_, i) => i)),
    );
    figures.launch_1000x10_s = (performance.now() - start) / 1000;
    const expected = Array.from({ length: 1000 }, (_, i) => 45 + 10 * i).reduce((a, b) => a + b);
    if (totals.reduce((a, b) => a + b, 0) !== expected) throw new Error("wrong launcher totals");
  }
  return figures;
}

async function measureDask(): Promise<Figures | null> {
  const script = new URL("./dask/primitives.py", import.meta.url).pathname;
  try {
    const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: [script, "--only", [...only].join(",")],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (code !== 0) {
      console.error(new TextDecoder().decode(stderr).slice(-2000));
      return null;
    }
    const lines = new TextDecoder().decode(stdout).trim().split("\n");
    return JSON.parse(lines[lines.length - 1]);
  } catch (error) {
    console.error(`Dask's side did not run: ${(error as Error).message}`);
    return null;
  }
}

/** Deno's own round trips for the same hops, in ms (bench/transport_floor.ts). */
interface Floor {
  tcp_cold_ms: number;
  tcp_warm_ms: number;
  post_cold_ms: number;
  post_warm_ms: number;
  /** A TCP round trip whose server asks a Web Worker before it answers: an actor call's hops. */
  series_cold_ms: number;
  series_warm_ms: number;
}

async function floor(): Promise<Floor> {
  const [tcpCold, tcpWarm] = await tcpRoundTrip();
  const [postCold, postWarm] = await postMessageRoundTrip();
  const [seriesCold, seriesWarm] = await tcpRoundTrip(true);
  return {
    series_cold_ms: seriesCold / 1000,
    series_warm_ms: seriesWarm / 1000,
    tcp_cold_ms: tcpCold / 1000,
    tcp_warm_ms: tcpWarm / 1000,
    post_cold_ms: postCold / 1000,
    post_warm_ms: postWarm / 1000,
  };
}

const load = () => Deno.loadavg()[0].toFixed(1);
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
/** "median (min–max)" of `xs`, each with `digits` decimals. */
const spread = (xs: number[], digits: number) =>
  xs.length === 1
    ? xs[0].toFixed(digits)
    : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${
      Math.max(...xs).toFixed(digits)
    })`;

const ourRounds: Figures[] = [];
const daskRounds: (Figures | null)[] = [];
const floors: Floor[] = [];
const loads: number[] = [Deno.loadavg()[0]];
console.log(`${new Date().toISOString()}, load average ${load()} at the start, ${rounds} rounds`);
for (let round = 1; round <= rounds; round++) {
  ourRounds.push(await measureOurs());
  daskRounds.push(flags["no-dask"] ? null : await measureDask());
  const needsFloor = !flags["no-floor"] && (only.has("queue") || only.has("actor"));
  if (needsFloor) floors.push(await floor());
  loads.push(Deno.loadavg()[0]);
  const us = ourRounds[round - 1];
  const them = daskRounds[round - 1];
  const part = (name: string, field: keyof Figures) =>
    us[field] === undefined ? "" : `  ${name} ${us[field]!.toFixed(3)}` +
      (them?.[field] === undefined ? "" : `/${them[field]!.toFixed(3)}`);
  console.log(
    `round ${round} (load ${load()}), ours/Dask ms:` + part("queue cold", "queue_cold_ms") +
      part("warm", "queue_warm_ms") + part("actor cold", "actor_cold_ms") +
      part("warm", "actor_warm_ms") + part("launch s", "launch_1000x10_s"),
  );
}

console.log(`\nmedian (range) over ${rounds} rounds:`);
const row = (name: string, field: keyof Figures, unit: string, digits = 3) => {
  const a = ourRounds.map((f) => f[field]).filter((x) => x !== undefined) as number[];
  if (a.length === 0) return;
  const pairs = ourRounds.map((f, i) => [f[field], daskRounds[i]?.[field]])
    .filter(([x, y]) => x !== undefined && y !== undefined) as [number, number][];
  console.log(
    `${name.padEnd(46)} ours ${spread(a, digits)} ${unit}` +
      (pairs.length === 0
        ? ""
        : `   dask ${spread(pairs.map(([, y]) => y), digits)} ${unit}   ${
          spread(pairs.map(([x, y]) => y / x), 1)
        }× faster`),
  );
};
row("Queue put+get round trip, cold", "queue_cold_ms", "ms");
row("Queue put+get round trip, warm", "queue_warm_ms", "ms");
row("Queue put and get together (ours only), warm", "together_warm_ms", "ms");
row("Actor method call round trip, cold", "actor_cold_ms", "ms");
row("Actor method call round trip, warm", "actor_warm_ms", "ms");
row("1,000 tasks × 10 subtasks (getClient)", "launch_1000x10_s", "s", 2);
if (floors.length > 0) {
  const f = (pick: (x: Floor) => number) => spread(floors.map(pick), 3);
  console.log(`Deno's floor (bench/transport_floor.ts), cold / warm:`);
  console.log(
    `  TCP round trip ${f((x) => x.tcp_cold_ms)} / ${f((x) => x.tcp_warm_ms)} ms;` +
      ` postMessage round trip ${f((x) => x.post_cold_ms)} / ${f((x) => x.post_warm_ms)} ms`,
  );
  console.log(
    `  a put + get (2 TCP) ${f((x) => 2 * x.tcp_cold_ms)} / ${f((x) => 2 * x.tcp_warm_ms)} ms;` +
      ` an actor call (TCP and postMessage in series) ${f((x) => x.series_cold_ms)} / ${
        f((x) => x.series_warm_ms)
      } ms`,
  );
}
console.log(
  `load average ${spread(loads, 1)} over the run, ${load()} at the end (${
    new Date().toISOString()
  })`,
);
