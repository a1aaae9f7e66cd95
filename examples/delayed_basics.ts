/**
 * Seed 001: `inc`, `double` and `add` with random sleeps, run one after another and then as a
 * `delayed` graph, which runs the independent calls at the same time.
 *
 *   deno run -A examples/delayed_basics.ts [n] [sleep-ms]
 */

import { compute, delayed } from "../mod.ts";

/** Sleeps for up to `maxMs` milliseconds (a stand-in for real work), then returns x + 1. */
export async function inc(x: number, maxMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
  return x + 1;
}

/** Sleeps, then returns 2x. */
export async function double(x: number, maxMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
  return 2 * x;
}

/** Sleeps, then returns x + y. */
export async function add(x: number, y: number, maxMs: number): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, Math.random() * maxMs));
  return x + y;
}

/** Runs the seed's loop eagerly, then lazily, and prints both timings. */
export async function delayedBasics(n = 8, maxMs = 100, numWorkers?: number) {
  const data = Array.from({ length: n }, (_, i) => i + 1);
  let start = performance.now();
  const eager: number[] = [];
  for (const x of data) {
    const a = await inc(x, maxMs);
    const b = await double(x, maxMs);
    eager.push(await add(a, b, maxMs));
  }
  const eagerTotal = eager.reduce((s, v) => s + v, 0);
  const eagerSeconds = (performance.now() - start) / 1000;

  start = performance.now();
  const lazy = data.map((x) =>
    delayed(add)(delayed(inc)(x, maxMs), delayed(double)(x, maxMs), maxMs)
  );
  const total = delayed((xs: number[]) => xs.reduce((s, v) => s + v, 0), { name: "sum" })(lazy);
  const [lazyTotal] = await compute(total, { numWorkers: numWorkers ?? Math.max(2, n) });
  const lazySeconds = (performance.now() - start) / 1000;
  return { eagerTotal, eagerSeconds, lazyTotal, lazySeconds };
}

if (import.meta.main) {
  const r = await delayedBasics(Number(Deno.args[0] ?? 8), Number(Deno.args[1] ?? 100));
  console.log(`sequential: total ${r.eagerTotal} in ${r.eagerSeconds.toFixed(2)} s`);
  console.log(`delayed:    total ${r.lazyTotal} in ${r.lazySeconds.toFixed(2)} s`);
}
