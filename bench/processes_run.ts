/**
 * One measurement of the `processes` scheduler for bench/processes.ts, run in a fresh Deno
 * process: the 16,383-task `delayed` tree and the Monte Carlo workload, each cold (the first
 * compute starts the pool) and warm (median of the runs after an unmeasured one). It imports the
 * library from the tree given as a directory URL, so that the same script measures an older
 * checkout of this repository (`git worktree add --detach`) beside this one.
 *
 *   deno run -A bench/processes_run.ts [treeDirectoryUrl] [workers]
 *
 * Prints one JSON object: seconds per figure.
 */

import { coldAndWarm as measureColdAndWarm } from "./measure.ts";

const root = new URL(Deno.args[0] ?? "../", import.meta.url);
const workers = Number(Deno.args[1] ?? 2);
const WARM_RUNS = 3;
const LEAVES = 8192;

const lib = await import(new URL("mod.ts", root).href);
const { treeReductionOf } = await import(new URL("bench/tree.ts", root).href);
const { monteCarlo } = await import(new URL("examples/montecarlo.ts", root).href);
const options = { scheduler: "processes", numWorkers: workers };

/** Cold and warm seconds of `work` on a fresh `processes` pool. */
function coldAndWarm(work: () => Promise<void>): Promise<{ cold: number; warm: number }> {
  return measureColdAndWarm(work, () => lib.shutdownProcesses(), WARM_RUNS);
}

const tree = treeReductionOf(LEAVES);
const expected = (LEAVES * (LEAVES + 1)) / 2;
const result = {
  tree: await coldAndWarm(async () => {
    const value = await tree.compute(options);
    if (value !== expected) throw new Error(`wrong tree result ${value}`);
  }),
  montecarlo: await coldAndWarm(async () => {
    const value = await monteCarlo(1000).compute(options);
    if (!(value > 0)) throw new Error(`wrong Monte Carlo result ${value}`);
  }),
};
await lib.shutdownProcesses();
console.log(JSON.stringify(result));
