/**
 * Shared state and tasks that launch tasks, beside Dask measured in the same run
 * (bench/dask/primitives.py): a Queue put+get round trip from a client, an actor method call
 * round trip from a client (`await counter.increment()`), and 1,000 tasks each launching 10
 * subtasks through getClient(). All on 2 workers × 1 thread.
 *
 *   deno run -A bench/primitives.ts
 */

import { Client, Queue } from "../mod.ts";
import { benchTasks } from "./primitives_tasks.ts";

const ROUNDS = 1000;
/** Calls before timing: V8 compiles the hot paths of client, scheduler and worker first. */
const WARMUP = 300;

/** What both sides measure. */
interface Figures {
  queue_round_trip_ms: number;
  actor_round_trip_ms: number;
  launch_1000x10_s: number;
}

class Counter {
  n = 0;
  increment() {
    return ++this.n;
  }
}

async function ours(): Promise<Figures> {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
  const queue = new Queue<number>("bench", { client });
  for (let i = 0; i < WARMUP; i++) {
    await queue.put(i);
    await queue.get();
  }
  let start = performance.now();
  for (let i = 0; i < ROUNDS; i++) {
    await queue.put(i);
    await queue.get();
  }
  const queueMs = (performance.now() - start) / ROUNDS;

  const counter = await client.actor(Counter);
  for (let i = 0; i < WARMUP; i++) await counter.increment();
  start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await counter.increment();
  const actorMs = (performance.now() - start) / ROUNDS;
  if (await counter.n !== ROUNDS + WARMUP) throw new Error("wrong actor count");

  start = performance.now();
  const totals = await client.gather(
    client.map(benchTasks.launcher, Array.from({ length: 1000 }, (_, i) => i)),
  );
  const launchS = (performance.now() - start) / 1000;
  const expected = Array.from({ length: 1000 }, (_, i) => 45 + 10 * i).reduce((a, b) => a + b);
  if (totals.reduce((a, b) => a + b, 0) !== expected) throw new Error("wrong launcher totals");
  return { queue_round_trip_ms: queueMs, actor_round_trip_ms: actorMs, launch_1000x10_s: launchS };
}

async function dask(): Promise<Figures | null> {
  const script = new URL("./dask/primitives.py", import.meta.url).pathname;
  try {
    const { code, stdout, stderr } = await new Deno.Command("/usr/bin/python3", {
      args: [script],
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

const us = await ours();
const them = await dask();
const row = (name: string, a: number, b: number | undefined, unit: string) =>
  console.log(
    `${name.padEnd(40)} ours ${a.toFixed(3)} ${unit}` +
      (b === undefined ? "" : `   dask ${b.toFixed(3)} ${unit}   ${(b / a).toFixed(1)}× faster`),
  );
row("Queue put+get round trip", us.queue_round_trip_ms, them?.queue_round_trip_ms, "ms");
row("Actor method call round trip", us.actor_round_trip_ms, them?.actor_round_trip_ms, "ms");
row("1,000 tasks × 10 subtasks (getClient)", us.launch_1000x10_s, them?.launch_1000x10_s, "s");
