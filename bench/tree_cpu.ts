/**
 * The 16,383-task `delayed` tree (bench/tree.ts) — or, with `--workload=array`, the seed array
 * expression `(x + x.T).sum(axis=0).mean()` of a 4000² random array in 500² chunks — on one
 * local scheduler, timed by the wall clock
 * and by the CPU each kind of OS thread of the process spends (Linux `/proc/self/task/*\/stat`):
 * the main thread, the scheduler's task threads (Web Workers), and V8's helper threads (GC,
 * compilers). On a machine shared with other work the wall clock moves by more than most changes
 * do, while the CPU a thread spends moves much less; and on two cores the wall time of a run
 * cannot go below half its total CPU, so where the CPU goes is what to cut.
 *
 * Each round runs every tree (this one, and an older checkout with `--against`) in a fresh
 * process, alternating; each process builds and computes the tree `--runs` times: the
 * first is cold, the median of the runs after the second is warm, and the CPU of the runs after
 * the second is averaged per task (per computation for the array). Prints the median over the
 * rounds of each figure, per tree, the CPU of the cold run by kind of thread too, and with
 * `--against` the median and range of the rounds' speed-ups of this tree over the older one.
 *
 *   deno run -A bench/tree_cpu.ts [--workload=tree|array] [--scheduler=threads] [--rounds=5]
 *     [--runs=12] [--against=path/to/older/checkout]
 *
 * @module
 */

import { benchArgs } from "./cli.ts";
import { cpuUsage } from "node:process";
import { median } from "./measure.ts";

const LEAVES = 8192;
const TASKS = 2 * LEAVES - 1;

interface Figures {
  /** Wall µs per task: the first run, and the median of the warm runs. */
  cold: number;
  warm: number;
  /** CPU µs per task of the whole process: the first run, and the warm runs' average. */
  coldCpu: number;
  warmCpu: number;
  /** Warm CPU µs per task by kind of thread (absent where /proc is not readable). */
  threads?: Record<string, number>;
  /** The same for the cold run. */
  coldThreads?: Record<string, number>;
}

/** What one process computes, and in what unit its figures are. */
interface Workload {
  /** Builds a fresh computation (fresh keys: nothing is reused from the last one). */
  build(mod: Record<string, unknown>, root: URL): Promise<{ compute(o: object): Promise<unknown> }>;
  /** Throws unless `value` is the right answer. */
  check(value: unknown): void;
  /** Figures are given per this many tasks (µs per task), or per computation (ms) when 0. */
  tasks: number;
}

const WORKLOADS: Record<string, Workload> = {
  tree: {
    async build(_mod, root) {
      const { treeReductionOf } = await import(new URL("bench/tree.ts", root).href);
      return treeReductionOf(LEAVES);
    },
    check(value) {
      const expected = (LEAVES * (LEAVES + 1)) / 2;
      if (value !== expected) throw new Error(`wrong result ${value}, expected ${expected}`);
    },
    tasks: TASKS,
  },
  array: {
    build(mod) {
      // deno-lint-ignore no-explicit-any
      const array = mod.array as any;
      const x = array.random.random([4000, 4000], { chunks: [500, 500], seed: 42 });
      return Promise.resolve(x.add(x.T).sum({ axis: 0 }).mean());
    },
    check(value) {
      // the mean of column sums of x + x.T: 4000 × (mean of two uniform draws) ≈ 4000
      if (typeof value !== "number" || Math.abs(value - 4000) > 40) {
        throw new Error(`wrong result ${value}, expected about 4000`);
      }
    },
    tasks: 0,
  },
};

/** The 1-minute load average (Linux), or "?". */
function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ")[0];
  } catch {
    return "?";
  }
}

/** CPU ms spent so far by each OS thread of this process, by id, with its kind. */
function threadTimes(): Map<string, { kind: string; ms: number }> | undefined {
  const times = new Map<string, { kind: string; ms: number }>();
  try {
    for (const entry of Deno.readDirSync("/proc/self/task")) {
      let stat: string;
      try {
        stat = Deno.readTextFileSync(`/proc/self/task/${entry.name}/stat`);
      } catch {
        continue; // ended meanwhile
      }
      const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime, 1/100 s
      const kind = entry.name === String(Deno.pid)
        ? "main"
        : name.startsWith("worker-")
        ? "task threads"
        : name.startsWith("V8 ")
        ? "V8 helpers"
        : "other";
      times.set(entry.name, { kind, ms: ticks * 10 });
    }
  } catch {
    return undefined;
  }
  return times;
}

/** The CPU each kind of thread spent from `before` to `after`, through `scale`. */
function byKind(
  before: ReturnType<typeof threadTimes>,
  after: ReturnType<typeof threadTimes>,
  scale: (ms: number) => number,
): Record<string, number> | undefined {
  if (before === undefined || after === undefined) return undefined;
  const kinds: Record<string, number> = {};
  for (const [id, { kind, ms }] of after) {
    kinds[kind] = (kinds[kind] ?? 0) + scale(ms - (before.get(id)?.ms ?? 0));
  }
  return kinds;
}

/** One process's figures for the workload of the tree at `root` on `scheduler`. */
async function measureHere(
  root: URL,
  scheduler: string,
  runs: number,
  workload: Workload,
): Promise<Figures> {
  const mod = await import(new URL("mod.ts", root).href);
  /** ms of one computation as the figures give it: µs per task, or ms per computation. */
  const scale = (ms: number) => workload.tasks > 0 ? (ms * 1000) / workload.tasks : ms;
  const cpu = () => {
    const used = cpuUsage();
    return (used.user + used.system) / 1000;
  };
  const walls: number[] = [];
  let coldCpu = 0, warmCpuFrom = 0;
  let before: ReturnType<typeof threadTimes>;
  let coldThreads: Record<string, number> | undefined;
  const start0 = threadTimes();
  for (let run = 0; run < runs; run++) {
    if (run === 2) {
      warmCpuFrom = cpu();
      before = threadTimes();
    }
    const computation = await workload.build(mod, root);
    const cpuStart = cpu();
    const start = performance.now();
    // every build makes fresh keys (delayed tasks are not pure by default): nothing is reused
    const value = await computation.compute({ scheduler, numWorkers: 2 });
    walls.push(scale(performance.now() - start));
    if (run === 0) {
      coldCpu = scale(cpu() - cpuStart);
      coldThreads = byKind(start0, threadTimes(), scale);
    }
    workload.check(value);
  }
  const warmRuns = runs - 2;
  const perTask = (ms: number) => scale(ms) / warmRuns;
  const figures: Figures = {
    cold: walls[0],
    warm: median(walls.slice(2)),
    coldCpu,
    warmCpu: perTask(cpu() - warmCpuFrom),
  };
  figures.threads = byKind(before, threadTimes(), perTask);
  figures.coldThreads = coldThreads;
  mod.shutdownThreads?.();
  await mod.shutdownProcesses?.();
  return figures;
}

const { values: args } = benchArgs({
  args: Deno.args,
  options: {
    workload: { type: "string", default: "tree" },
    scheduler: { type: "string", default: "threads" },
    rounds: { type: "string", default: "5" },
    runs: { type: "string", default: "12" },
    against: { type: "string" },
    child: { type: "string" }, // internal: measure the tree at this root here
  },
}, "deno run -A bench/tree_cpu.ts [--scheduler=threads] [--rounds=5] [--runs=12]");
const runs = Number(args.runs);
if (!Number.isInteger(runs) || runs < 3) {
  console.error(`--runs=${args.runs}: give a whole number of at least 3 runs per process`);
  Deno.exit(2);
}
const workload = WORKLOADS[args.workload];
if (workload === undefined) {
  console.error(`--workload=${args.workload}: one of ${Object.keys(WORKLOADS).join(", ")}`);
  Deno.exit(2);
}
if (args.child !== undefined) {
  console.log(
    JSON.stringify(await measureHere(new URL(args.child), args.scheduler, runs, workload)),
  );
} else {
  const rounds = Number(args.rounds);
  if (!Number.isInteger(rounds) || rounds < 1) {
    console.error(`--rounds=${args.rounds}: give a whole number of rounds, 1 or more`);
    Deno.exit(2);
  }
  const trees: [string, URL][] = [["this tree", new URL("../", import.meta.url)]];
  if (args.against !== undefined) {
    const root = new URL(args.against.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`);
    trees.push([`older tree (${args.against})`, root]);
  }
  const samples = new Map<string, Figures[]>(trees.map(([name]) => [name, []]));
  const loadAtStart = loadAverage();
  for (let round = 0; round < rounds; round++) {
    for (const [name, root] of trees) {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          import.meta.filename!,
          `--child=${root.href}`,
          `--scheduler=${args.scheduler}`,
          `--workload=${args.workload}`,
          `--runs=${runs}`,
        ],
        stdout: "piped",
        stderr: "inherit",
      }).output();
      if (!out.success) throw new Error(`measuring ${name} failed`);
      samples.get(name)!.push(JSON.parse(new TextDecoder().decode(out.stdout).trim()));
    }
  }
  const what = workload.tasks > 0
    ? `${workload.tasks}-task tree on ${args.scheduler} ×2, µs per task`
    : `the seed array expression on ${args.scheduler} ×2, ms per computation`;
  console.log(
    `${what}, medians of ${rounds} rounds (each a fresh process, ${runs} runs), ` +
      `load average ${loadAtStart} at the start, ${loadAverage()} at the end:`,
  );
  for (const [name] of trees) {
    const figures = samples.get(name)!;
    const mid = (pick: (f: Figures) => number | undefined) =>
      median(figures.map((f) => pick(f) ?? 0)).toFixed(2);
    const kinds = [...new Set(figures.flatMap((f) => Object.keys(f.threads ?? {})))].sort();
    console.log(
      `${name}: wall cold ${mid((f) => f.cold)} warm ${mid((f) => f.warm)}; ` +
        `CPU cold ${mid((f) => f.coldCpu)} warm ${mid((f) => f.warmCpu)}` +
        (kinds.length === 0
          ? ""
          : ` (by thread, cold: ${
            kinds.map((k) => `${k} ${mid((f) => f.coldThreads?.[k])}`).join(", ")
          }; warm: ${kinds.map((k) => `${k} ${mid((f) => f.threads?.[k])}`).join(", ")})`),
    );
  }
  if (trees.length > 1) {
    const [ours, older] = trees.map(([name]) => samples.get(name)!);
    const speedUp = (pick: (f: Figures) => number) => {
      const ratios = ours.map((f, i) => pick(older[i]) / pick(f));
      return `${median(ratios).toFixed(2)}× (${Math.min(...ratios).toFixed(2)}–${
        Math.max(...ratios).toFixed(2)
      })`;
    };
    console.log(
      `speed-up of this tree over the older one (median and range of the rounds'): wall cold ` +
        `${speedUp((f) => f.cold)}, warm ${speedUp((f) => f.warm)}; CPU cold ` +
        `${speedUp((f) => f.coldCpu)}, warm ${speedUp((f) => f.warmCpu)}`,
    );
  }
}
