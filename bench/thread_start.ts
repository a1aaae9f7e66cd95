/**
 * The start of task runners beside an older checkout's, in one run: what a pool pays before its
 * first task. Each round, in each tree (alternating which goes first):
 *
 * - `threads`: a fresh process starts `--workers` Web Workers from the tree's
 *   `threads/thread_entry.ts` and waits until each has loaded it and answered a message (the
 *   `live-tables` question, which every version of the entry answers at once); measured: the
 *   process's CPU and wall time from before the first `new Worker` to the last answer.
 * - `processes`: a `processes` child, `deno run -A threads/process_entry.ts` with stdin closed
 *   (it loads the thread entry, says it is ready and ends as stdin is at its end); measured: its
 *   CPU (`perf stat`'s task-clock; skipped where `perf` cannot run), and an empty `deno run` the
 *   same way, the floor of Deno's own start.
 *
 * Prints per tree the medians over the rounds and the median and range of the rounds' ratios
 * (new / old), with the load average at each round's start. CPU is the steadier figure on a
 * shared machine.
 *
 *   deno run -A bench/thread_start.ts --against=path/to/older/checkout [--rounds=8]
 *     [--workers=2] [--tree=path/to/newer/checkout]
 *
 * @module
 */

import { parseArgs } from "node:util";
import { cpuUsage } from "node:process";
import { printRatios, type Row, treePath } from "./side_by_side.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    against: { type: "string" },
    tree: { type: "string" },
    rounds: { type: "string", default: "8" },
    workers: { type: "string", default: "2" },
    // internal: one fresh process's thread start
    probe: { type: "string" },
  },
});

const cpuMs = () => {
  const used = cpuUsage();
  return (used.user + used.system) / 1000;
};

if (flags.probe !== undefined) {
  const entry = new URL("threads/thread_entry.ts", `file://${flags.probe}`);
  const n = Number(flags.workers);
  const cpu0 = cpuMs();
  const wall0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, () => {
      const worker = new Worker(entry, { type: "module" });
      return new Promise<void>((resolve) => {
        worker.onmessage = (event) => {
          if (event.data?.type !== "live-tables") return;
          worker.terminate();
          resolve();
        };
        worker.postMessage({ type: "live-tables", id: 1 });
      });
    }),
  );
  console.log(JSON.stringify({ cpu: cpuMs() - cpu0, wall: performance.now() - wall0 }));
  Deno.exit(0);
}

if (flags.against === undefined) {
  console.error(
    "usage: deno run -A bench/thread_start.ts --against=<older checkout> [--rounds=8] " +
      "[--workers=2] [--tree=<newer checkout>]",
  );
  Deno.exit(2);
}

const here = flags.tree === undefined
  ? new URL("../", import.meta.url).pathname
  : treePath(flags.tree);
const there = treePath(flags.against);
const self = new URL(import.meta.url).pathname;
const empty = await Deno.makeTempFile({ suffix: ".ts" });
await Deno.writeTextFile(empty, "export {};\n");

/** One fresh process starting the tree's threads: its CPU and wall ms. */
async function threadsProbe(tree: string): Promise<{ cpu: number; wall: number }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", self, `--probe=${tree}`, `--workers=${flags.workers}`],
    cwd: tree,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`thread probe of ${tree} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!);
}

/** CPU ms of `deno run -A script` with stdin closed, by `perf stat`; null without perf. */
async function childCpu(tree: string, script: string): Promise<number | null> {
  try {
    const out = await new Deno.Command("perf", {
      args: ["stat", "-x", ",", "-e", "task-clock", Deno.execPath(), "run", "-A", script],
      cwd: tree,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).output();
    const line = new TextDecoder().decode(out.stderr).split("\n")
      .find((l) => l.includes("task-clock"));
    return line === undefined ? null : Number(line.split(",")[0]);
  } catch {
    return null; // no perf here
  }
}

const rows: Record<"old" | "new", Row[]> = { old: [], new: [] };
const loads: string[] = [];
const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
const started = new Date().toISOString();
const rounds = Number(flags.rounds);
for (let round = 0; round < rounds; round++) {
  loads.push(load());
  const order: ["old" | "new", string][] = round % 2 === 0
    ? [["old", there], ["new", here]]
    : [["new", here], ["old", there]];
  for (const [label, tree] of order) {
    const threads = await threadsProbe(tree);
    const row: Row = {
      [`${flags.workers} threads started, CPU ms`]: threads.cpu,
      [`${flags.workers} threads started, wall ms`]: threads.wall,
    };
    const child = await childCpu(tree, `${tree}threads/process_entry.ts`);
    if (child !== null) {
      row["processes child start, CPU ms"] = child;
      row["empty deno run, CPU ms"] = (await childCpu(tree, empty))!;
    }
    rows[label].push(row);
    console.error(
      `round ${round + 1} ${label}: ${
        Object.entries(row).map(([k, v]) => `${k} ${v.toFixed(1)}`).join("; ")
      }`,
    );
  }
}
loads.push(load());
await Deno.remove(empty);

console.log(`task runner start, ${started} – ${new Date().toISOString()}, ${rounds} rounds`);
console.log(`load average at each round's start: ${loads.join(" | ")}`);
console.log(`old = ${there}, new = ${here}`);
printRatios(rows, 1);
