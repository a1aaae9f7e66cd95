/**
 * `deno task demo`: starts a local cluster (a scheduler and two worker processes with their
 * dashboard), then runs the seed workloads on it and prints what each computed and how long it
 * took. The same code runs on threads without the cluster: the Client is simply the default
 * scheduler while it is open.
 *
 *   deno task demo            everything
 *   deno task demo quick      the delayed and futures workloads only
 */

import { Client } from "../mod.ts";
import { monteCarlo } from "./montecarlo.ts";
import { delayedBasics } from "./delayed_basics.ts";
import { futuresTutorial } from "./futures.ts";
import { githubEventsSession } from "./github_events.ts";
import { flightsExercise } from "./flights.ts";
import { writeFlights } from "./flights_data.ts";

const quick = Deno.args.includes("quick");

function heading(text: string): void {
  console.log(`\n=== ${text}`);
}

async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await work();
  console.log(`${label.padEnd(44)} ${((performance.now() - start) / 1000).toFixed(3)} s`);
  return value;
}

const start = performance.now();
await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: true });
console.log(`Local cluster: scheduler ${client.schedulerAddress}`);
console.log(`Dashboard:     ${client.dashboardLink}`);
console.log(`(started in ${((performance.now() - start) / 1000).toFixed(2)} s)`);

heading("Seed 001 — delayed inc/double/add with random sleeps (8 inputs, up to 100 ms each)");
const basics = await delayedBasics(8, 100);
console.log(`  sequential: total ${basics.eagerTotal} in ${basics.eagerSeconds.toFixed(2)} s`);
console.log(`  delayed:    total ${basics.lazyTotal} in ${basics.lazySeconds.toFixed(2)} s`);

heading("Seed 000 — Monte Carlo option pricing, 1,000 random walks of 1,460 days");
const local = await timed(
  "  threads (this process)",
  () => monteCarlo(1000).compute({ scheduler: "threads" }),
);
const cluster = await timed("  local cluster (2 workers)", () => monteCarlo(1000).compute());
console.log(`  estimate: ${cluster.toFixed(4)} (threads: ${local.toFixed(4)})`);

heading("Seed 004 — the futures tutorial (submit, map, gather, scatter, asCompleted, wait, …)");
await futuresTutorial(client, 50);

if (!quick) {
  heading("Seed 001 — array cells");
  await import("./arrays.ts");
  heading("Seed 002 — GitHub events with bag (6 hours of generated archive)");
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/github-archive-demo`;
  await githubEventsSession(dir, 6);
  heading("Seed 003 — NYC flights with dataframe (6 CSV files × 50,000 flights)");
  const flights = `${Deno.env.get("TMPDIR") ?? "/tmp"}/nycflights-demo`;
  await writeFlights(flights, 6, 50_000);
  await flightsExercise(flights, "sync", "sync");
  await flightsExercise(flights, "threads", "threads");
  await flightsExercise(flights, client, "local cluster (2 workers)");
}
console.log(`\nDemo finished in ${((performance.now() - start) / 1000).toFixed(1)} s.`);
