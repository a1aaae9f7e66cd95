/**
 * One measurement of the `processes` scheduler for bench/processes.ts, run in a fresh Deno
 * process: the 16,383-task `delayed` tree and the Monte Carlo workload, each cold (the first
 * compute starts the pool) and warm (median of the runs after an unmeasured one). It imports the
 * library from the tree given as a directory URL, so that the same script measures an older
 * checkout of this repository (`git worktree add --detach`) beside this one.
 *
 * Beside the wall time it reports the CPU time of each measured compute, this process's and its
 * worker processes' together (read from /proc: Linux only, else 0): the steadier figure on a
 * shared machine.
 *
 *   deno run -A bench/processes_run.ts [treeDirectoryUrl] [workers]
 *
 * Prints one JSON object: seconds per figure.
 */

import { cpuUsage } from "node:process";
import { coldAndWarm as measureColdAndWarm, median } from "./measure.ts";

const root = new URL(Deno.args[0] ?? "../", import.meta.url);
const workers = Number(Deno.args[1] ?? 2);
const WARM_RUNS = 3;
const LEAVES = 8192;
/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;

const lib = await import(new URL("mod.ts", root).href);
const { treeReductionOf } = await import(new URL("bench/tree.ts", root).href);
const { monteCarlo } = await import(new URL("examples/montecarlo.ts", root).href);
const options = { scheduler: "processes", numWorkers: workers };

/** CPU seconds used so far by this process's live child processes (the pool's workers). */
function childrenCpuSeconds(): number {
  if (Deno.build.os !== "linux") return 0;
  let ticks = 0;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
    } catch {
      continue; // ended meanwhile
    }
    // the fields after the command name: state, ppid, …, utime (14th), stime (15th)
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[1]) === Deno.pid) ticks += Number(fields[11]) + Number(fields[12]);
  }
  return ticks / TICKS_PER_SECOND;
}

/** CPU seconds of this process and its workers so far. */
function cpuSeconds(): number {
  const { user, system } = cpuUsage();
  return (user + system) / 1e6 + childrenCpuSeconds();
}

/** Cold and warm seconds (wall and CPU) of `work` on a fresh `processes` pool. */
async function coldAndWarm(work: () => Promise<void>) {
  const cpu: number[] = [];
  const wall = await measureColdAndWarm(
    async () => {
      const before = cpuSeconds();
      await work();
      cpu.push(cpuSeconds() - before);
    },
    () => lib.shutdownProcesses(),
    WARM_RUNS,
  );
  // calls: the cold one, an unmeasured one, then the warm ones
  return { ...wall, coldCpu: cpu[0], warmCpu: median(cpu.slice(2)) };
}

// each graph is built once, outside the timed computes, as bench/dask/local.py builds Dask's
const tree = treeReductionOf(LEAVES);
const expected = (LEAVES * (LEAVES + 1)) / 2;
const walks = monteCarlo(1000);
const result = {
  tree: await coldAndWarm(async () => {
    const value = await tree.compute(options);
    if (value !== expected) throw new Error(`wrong tree result ${value}`);
  }),
  montecarlo: await coldAndWarm(async () => {
    const value = await walks.compute(options);
    if (!(value > 0)) throw new Error(`wrong Monte Carlo result ${value}`);
  }),
};
await lib.shutdownProcesses();
console.log(JSON.stringify(result));
