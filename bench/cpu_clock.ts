/**
 * Preloaded by bench/against.ts (`deno run --preload bench/cpu_clock.ts …`) before a benchmark
 * that runs on one core: `performance.now()` then reads the process's CPU time, in milliseconds,
 * instead of the wall clock. On a machine shared with other work, wall time also counts the time
 * the process waited for a core; CPU time does not. Both trees compared get the same clock this
 * way, also a tree whose benchmark predates its own `--cpu` flag.
 *
 * @module
 */

import { cpuUsage } from "node:process";

Object.defineProperty(performance, "now", {
  value: (): number => {
    const used = cpuUsage();
    return (used.user + used.system) / 1000;
  },
});
