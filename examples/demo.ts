/**
 * `deno task demo`: runs the seed workloads and prints what each computed and how long it took.
 */

import { shutdownThreads } from "../mod.ts";
import { monteCarlo } from "./montecarlo.ts";
import { delayedBasics } from "./delayed_basics.ts";

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await work();
  console.log(`${label.padEnd(44)} ${((performance.now() - start) / 1000).toFixed(3)} s`);
  return value;
}

console.log("Seed 001 — delayed inc/double/add with random sleeps (8 inputs, up to 100 ms each)");
const basics = await delayedBasics(8, 100);
console.log(`  sequential: total ${basics.eagerTotal} in ${basics.eagerSeconds.toFixed(2)} s`);
console.log(`  delayed:    total ${basics.lazyTotal} in ${basics.lazySeconds.toFixed(2)} s`);

console.log("\nSeed 000 — Monte Carlo option pricing, 1,000 random walks of 1,460 days");
const sync = await timed(
  "  sync (one thread)",
  () => monteCarlo(1000).compute({ scheduler: "sync" }),
);
const threads = await timed("  threads (Web Worker pool)", () => monteCarlo(1000).compute());
console.log(`  estimate: ${threads.toFixed(4)} (sync: ${sync.toFixed(4)})`);

shutdownThreads();
