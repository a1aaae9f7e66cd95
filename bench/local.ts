/**
 * Local scheduler benchmarks (issue: foundation). Prints per-task overheads of `sync` and
 * `threads` on a `delayed` tree reduction, the Monte Carlo workload, and the peak memory of a
 * million-task graph.
 *
 *   deno run -A bench/local.ts
 */

import { type Delayed, shutdownThreads } from "../mod.ts";
import { treeReductionOf } from "./tree.ts";
import { tokenize } from "../core/tokenize.ts";
import { monteCarlo } from "../examples/montecarlo.ts";
import { bestOf, mb, report } from "./measure.ts";

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
