/**
 * Shared state and tasks that launch tasks, beside Dask measured in the same run
 * (bench/dask/primitives.py): a Queue put+get round trip from a client, an actor method call
 * round trip from a client (`await counter.increment()`), and 1,000 tasks each launching 10
 * subtasks through getClient(). All on 2 workers × 1 thread.
 *
 * Each round trip is given cold (the mean of the first 300 calls on a fresh cluster, while V8
 * still compiles the client's, scheduler's and worker's hot paths) and warm (the mean of the
 * 1,000 calls after them). A put+get is two requests to the scheduler, one after the other.
 *
 *   deno run -A bench/primitives.ts                      # everything, ours then Dask's
 *   deno run -A bench/primitives.ts --only queue,actor   # some of it (the launches take Dask ~1 min)
 *   deno run -A bench/primitives.ts --no-dask            # ours alone
 */

import { parseArgs } from "node:util";
import { Client, Queue } from "../mod.ts";
import { benchTasks } from "./primitives_tasks.ts";

const ROUNDS = 1000;
/** Calls timed as the cold figure, before the warm ones. */
const COLD = 300;
const PARTS = ["queue", "actor", "launch"] as const;
type Part = typeof PARTS[number];

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    only: { type: "string", default: PARTS.join(",") },
    "no-dask": { type: "boolean", default: false },
  },
});
const only = new Set(flags.only.split(",").map((s) => s.trim()).filter((s) => s !== ""));
for (const part of only) {
  if (!PARTS.includes(part as Part)) {
    throw new Error(`--only takes ${PARTS.join(", ")} (comma-separated), got '${part}'`);
  }
}

/** What both sides measure (absent: not run). */
interface Figures {
  queue_cold_ms?: number;
  queue_warm_ms?: number;
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

async function ours(): Promise<Figures> {
  const figures: Figures = {};
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
  if (only.has("queue")) {
    const queue = new Queue<number>("bench", { client });
    [figures.queue_cold_ms, figures.queue_warm_ms] = await coldAndWarm(async (i) => {
      await queue.put(i);
      if (await queue.get() !== i) throw new Error("the queue gave another item");
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

async function dask(): Promise<Figures | null> {
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

const load = () => Deno.loadavg()[0].toFixed(1);
console.log(`${new Date().toISOString()}, load average ${load()} at the start`);
const us = await ours();
const them = flags["no-dask"] ? null : await dask();
const row = (name: string, field: keyof Figures, unit: string) => {
  const a = us[field];
  if (a === undefined) return;
  const b = them?.[field];
  console.log(
    `${name.padEnd(44)} ours ${a.toFixed(3)} ${unit}` +
      (b === undefined ? "" : `   dask ${b.toFixed(3)} ${unit}   ${(b / a).toFixed(1)}× faster`),
  );
};
row("Queue put+get round trip, cold", "queue_cold_ms", "ms");
row("Queue put+get round trip, warm", "queue_warm_ms", "ms");
row("Actor method call round trip, cold", "actor_cold_ms", "ms");
row("Actor method call round trip, warm", "actor_warm_ms", "ms");
row("1,000 tasks × 10 subtasks (getClient)", "launch_1000x10_s", "s");
console.log(`load average ${load()} at the end`);
