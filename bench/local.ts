/**
 * Local scheduler benchmarks (issue: foundation; `processes`: issue 15). Prints per-task
 * overheads of `sync` and `threads` on a `delayed` tree reduction, the Monte Carlo workload,
 * the `processes` scheduler on both beside Dask's `processes` scheduler measured in the same run
 * (bench/dask/local.py, with Debian's /usr/bin/python3), and the peak memory of a million-task
 * graph.
 *
 *   deno run -A bench/local.ts
 *
 * One run of each here; for the `processes` rows alone, several rounds interleaved with Dask (and
 * optionally an older checkout), each in a fresh process: `deno run -A bench/processes.ts`.
 */

import { type Delayed, shutdownProcesses, shutdownThreads } from "../mod.ts";
import { treeReductionOf } from "./tree.ts";
import { tokenize } from "../core/tokenize.ts";
import { monteCarlo } from "../examples/montecarlo.ts";
import { bestOf, coldAndWarm as measureColdAndWarm, mb, report } from "./measure.ts";

const LEAVES = 8192;
const TASKS = 2 * LEAVES - 1;
const expected = (LEAVES * (LEAVES + 1)) / 2;

let built: Delayed<number> | undefined;
const buildMs = await bestOf(3, () => {
  built = treeReductionOf(LEAVES);
});
report(`delayed tree of ${TASKS} tasks: build`, `${((buildMs * 1000) / TASKS).toFixed(2)} µs/task`);

for (const scheduler of ["sync", "threads"] as const) {
  const tree = built!;
  const ms = await bestOf(5, async () => {
    const value = await tree.compute({ scheduler });
    if (value !== expected) throw new Error(`wrong result ${value}`);
  });
  report(
    `delayed tree of ${TASKS} tasks: compute on ${scheduler}`,
    `${((ms * 1000) / TASKS).toFixed(2)} µs/task`,
    scheduler === "sync" ? "≤ 5 µs; Dask 74 µs" : "≤ 25 µs; Dask 140 µs",
  );
}

const big = new Float64Array(32 * 1024 * 1024); // 256 MB
for (let i = 0; i < big.length; i += 4096) big[i] = i;
const hashMs = await bestOf(3, () => tokenize(big));
report(
  "tokenize a 256 MB Float64Array",
  `${(big.byteLength / 1e6 / hashMs).toFixed(1)} GB/s`,
  "≥ 1 GB/s",
);

const mcMs = await bestOf(3, async () => {
  const v = await monteCarlo(1000).compute({ scheduler: "threads" });
  if (!(v > 0)) throw new Error(`wrong Monte Carlo result ${v}`);
});
report(
  "Monte Carlo, 1,000 walks × 1,460 days, threads",
  `${(mcMs / 1000).toFixed(3)} s`,
  "≤ 0.5 s; Dask cluster 6.1 s",
);
shutdownThreads();

// `processes` beside Dask's `processes` scheduler, both with 2 workers, measured now
const PROCESS_WORKERS = 2;
const WARM_RUNS = 3;

/** Cold and warm seconds of `work` on a fresh `processes` pool. */
function coldAndWarm(work: () => Promise<void>): Promise<{ cold: number; warm: number }> {
  return measureColdAndWarm(work, () => shutdownProcesses(), WARM_RUNS);
}

const onProcesses = { scheduler: "processes", numWorkers: PROCESS_WORKERS } as const;
// each graph is built once, outside the timed computes, as bench/dask/local.py builds Dask's
const walks = monteCarlo(1000);
const ours = {
  tree: await coldAndWarm(async () => {
    const value = await built!.compute(onProcesses);
    if (value !== expected) throw new Error(`wrong result ${value}`);
  }),
  montecarlo: await coldAndWarm(async () => {
    const v = await walks.compute(onProcesses);
    if (!(v > 0)) throw new Error(`wrong Monte Carlo result ${v}`);
  }),
};
await shutdownProcesses();

const daskRun = await new Deno.Command("/usr/bin/python3", {
  args: [new URL("./dask/local.py", import.meta.url).pathname, String(PROCESS_WORKERS)],
  stdout: "piped",
  stderr: "inherit",
}).output().catch(() => undefined);
const dask = daskRun?.success
  ? JSON.parse(new TextDecoder().decode(daskRun.stdout)) as
    & Record<
      "tree" | "montecarlo",
      { cold: number; warm: number }
    >
    & { version: string }
  : undefined;
const workloads = [
  ["tree", `delayed tree of ${TASKS} tasks`],
  ["montecarlo", "Monte Carlo, 1,000 walks"],
] as const;
for (const [name, label] of workloads) {
  for (const phase of ["cold", "warm"] as const) {
    const mine = ours[name][phase];
    report(`${label}, processes ×${PROCESS_WORKERS}, ${phase}`, `${mine.toFixed(3)} s`);
    if (dask === undefined) continue;
    const theirs = dask[name][phase];
    report(
      `  Dask ${dask.version} processes ×${PROCESS_WORKERS}, ${phase}`,
      `${theirs.toFixed(3)} s`,
    );
    report(`  Dask's time / ours, ${phase}`, `${(theirs / mine).toFixed(1)}×`, "≥ 10×");
  }
}
if (dask === undefined) console.log("Dask: skipped (no /usr/bin/python3 with dask)");

// a million tasks, measured in a fresh process so its peak RSS is its own
const child = new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL("./local_million.ts", import.meta.url).href],
  stdout: "piped",
  stderr: "inherit",
}).outputSync();
const out = new TextDecoder().decode(child.stdout).trim();
const [tasks, seconds, rss] = out.split(" ").map(Number);
report(
  `delayed graph of ${tasks.toLocaleString("en")} tasks on sync: time`,
  `${seconds.toFixed(2)} s`,
);
report(`delayed graph of ${tasks.toLocaleString("en")} tasks on sync: peak RSS`, mb(rss), "≤ 1 GB");
