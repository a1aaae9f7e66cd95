/**
 * The distributed scheduler, measured as Dask's `LocalCluster(n_workers=2, threads_per_worker=1)`
 * on loopback: a scheduler and two worker processes of one thread each, via `Client.local`.
 *
 *   deno run -A bench/distributed.ts            every figure (the million-task map included)
 *   deno run -A bench/distributed.ts --quick    smaller sizes, no million-task map
 *
 * Dask 2022.12 on this machine, for comparison: submit→result round trip 11 ms; 10,000 submit +
 * gather 4.5 ms per task; map of 10,000 1.8 ms per task; delayed tree of 16,383 tasks 2.2 ms per
 * task; 200 MB moved worker → worker at 320 MB/s.
 */

import { Client, type Delayed, delayed, type Future, wait } from "../mod.ts";
import { report } from "./measure.ts";

const quick = Deno.args.includes("--quick");

const inc = (x: number) => x + 1;
const add = (x: number, y: number) => x + y;

/** Resident and peak resident memory of a process, bytes (Linux). */
function memoryOf(pid: number): { rss: number; peak: number } {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const read = (field: string) =>
    Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1] ?? 0) * 1024;
  return { rss: read("VmRSS"), peak: read("VmHWM") };
}

function perTask(ms: number, n: number): string {
  const us = (ms * 1000) / n;
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
const cluster = client.cluster!;
console.log(`cluster: scheduler ${client.schedulerAddress}, 2 workers × 1 thread`);

// warm up: functions compiled on both threads, connections to both workers open
await client.gather(
  client.with({ pure: false }).map(inc, Array.from({ length: 100 }, (_, i) => i)),
);

{
  const n = quick ? 200 : 1000;
  const times: number[] = [];
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    await client.submit(inc, i).result();
    times.push(performance.now() - start);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(n / 2)];
  report("submit → result round trip (median)", `${median.toFixed(3)} ms`, "≤ 0.5 ms; Dask 11 ms");
}

{
  const n = 10_000;
  const base = quick ? 1e6 : 2e6;
  const start = performance.now();
  const futures: Future<number>[] = [];
  for (let i = 0; i < n; i++) futures.push(client.submit(inc, base + i));
  const values = await client.gather(futures);
  const ms = performance.now() - start;
  if (values[n - 1] !== base + n) throw new Error("wrong result");
  report("10,000 submit + gather, per task", perTask(ms, n), "≤ 50 µs; Dask 4.5 ms");
  for (const f of futures) f.release();
}

{
  const n = 10_000;
  const items = Array.from({ length: n }, (_, i) => 3e6 + i);
  const start = performance.now();
  const values = await client.gather(client.map(inc, items));
  const ms = performance.now() - start;
  if (values[n - 1] !== 3e6 + n) throw new Error("wrong result");
  report("map of 10,000 + gather, per task", perTask(ms, n), "≤ 30 µs; Dask 1.8 ms");
}

{
  const leaves = 8192; // 8,192 leaves + 8,191 sums = 16,383 tasks
  let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(inc)(i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  const start = performance.now();
  const total = await level[0].compute();
  const ms = performance.now() - start;
  if (total !== (leaves * (leaves + 1)) / 2) throw new Error(`wrong total ${total}`);
  report(
    "delayed tree of 16,383 tasks, per task",
    perTask(ms, 2 * leaves - 1),
    "≤ 50 µs; Dask 2.2 ms",
  );
}

{
  const bytes = quick ? 40e6 : 200e6;
  const data = client.with({ workers: ["worker-0"], pure: false }).submit(
    (n: number) => new Float64Array(n).fill(1),
    bytes / 8,
  );
  await wait(data);
  const start = performance.now();
  const length = await client.with({ workers: ["worker-1"], pure: false }).submit(
    (xs: Float64Array) => xs.length,
    data,
  );
  const ms = performance.now() - start;
  if (length !== bytes / 8) throw new Error("wrong length");
  report(
    `${bytes / 1e6} MB array moved worker → worker`,
    `${((bytes / 1e6) / (ms / 1000)).toFixed(0)} MB/s`,
    "≥ 800 MB/s; Dask 320 MB/s",
  );
  data.release();
}

if (!quick) {
  const n = 1_000_000;
  const pid = cluster.pids.scheduler!;
  const before = memoryOf(pid);
  const start = performance.now();
  const futures = client.map(inc, {
    length: n,
    *[Symbol.iterator]() {
      for (let i = 0; i < n; i++) yield 5e6 + i;
    },
  } as Iterable<number>);
  const submitted = performance.now() - start;
  await wait(futures);
  const ms = performance.now() - start;
  const last = await futures[n - 1];
  if (last !== 5e6 + n) throw new Error("wrong result");
  const after = memoryOf(pid);
  report("map over 1,000,000 items: submitted in", `${(submitted / 1000).toFixed(2)} s`);
  report("map over 1,000,000 items: all finished in", `${(ms / 1000).toFixed(2)} s`);
  report(
    "scheduler peak RSS per task (1,000,000 held)",
    `${((after.peak - before.rss) / n).toFixed(0)} B`,
    "≤ 2 KB",
  );
}
