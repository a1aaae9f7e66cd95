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

const root = new URL(Deno.args[0] ?? "../", import.meta.url);
const workers = Number(Deno.args[1] ?? 2);
const WARM_RUNS = 3;
const LEAVES = 8192;

const lib = await import(new URL("mod.ts", root).href);
const { treeReductionOf } = await import(new URL("bench/tree.ts", root).href);
const { monteCarlo } = await import(new URL("examples/montecarlo.ts", root).href);
const options = { scheduler: "processes", numWorkers: workers };

/** Seconds of the first run on a fresh pool (processes started), and the warm median. */
async function coldAndWarm(work: () => Promise<void>): Promise<{ cold: number; warm: number }> {
  await lib.shutdownProcesses();
  const time = async () => {
    const start = performance.now();
    await work();
    return (performance.now() - start) / 1000;
  };
  const cold = await time();
  await work();
  const warm: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) warm.push(await time());
  warm.sort((a, b) => a - b);
  return { cold, warm: warm[Math.floor(warm.length / 2)] };
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
