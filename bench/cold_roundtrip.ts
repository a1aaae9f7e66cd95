/**
 * The cold submit → result round trip beside an older checkout's, in one run: each round starts,
 * in each tree (alternating which goes first), a fresh cluster by hand — a scheduler and two
 * workers of one thread each, no nanny, no token, the same flags in both trees — and a fresh
 * client process that maps `inc` over 100 numbers (as bench/distributed.ts's `freshCluster` does)
 * and then times its first `--trips` round trips. Per tree it prints the medians over the rounds
 * of: the median of the first 100 trips, of the first 200, the fastest of the first 100, and the
 * CPU time each of the four processes spent over the first 100 trips; then the median and range
 * of the rounds' ratios (new / old).
 *
 *   deno run -A bench/cold_roundtrip.ts --against=path/to/older/checkout [--rounds=6]
 *     [--trips=200] [--cpu-prof=DIR] [--cpu-prof-interval=µs]
 *     [--worker-args="--profile-interval 0"] [--tree=path/to/newer/checkout]
 *     [--v8-flags=FLAGS] [--v8-flags-old=FLAGS] [--hops]
 *
 * `--tree` names the "new" side (this checkout by default): a ladder of older commits, each
 * beside the same base, runs with this script driving trees that lack it. Every tree runs its
 * own scheduler/main.ts, worker/main.ts and mod.ts; only this client loop is this file's.
 *
 * `--hops` prints, on stderr, each round's scheduler address and wall-clock start and end (`HOPS`
 * and `HOPSEND` lines) for bench/wire_hops.py, which splits each trip into its four hops on the
 * wire (client → scheduler → worker → scheduler → client) from a loopback capture.
 *
 * `--worker-args` go to this tree's workers only: with `--against` naming this same tree, a
 * worker option's cost (call-stack sampling's, say) is measured the same way.
 * With `--cpu-prof=DIR` every process writes a V8 CPU profile to DIR/<tree>-<round>-<process>,
 * and the client marks the first 100 trips by spinning 5 ms in `windowMarkStart` before them and
 * in `windowMarkEnd` after them (outside the timed trips and the CPU counts), so that every
 * profile can be cut to that window: the profiles share the monotonic clock.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { median } from "./measure.ts";

const { values: flags } = parseArgs({
  args: Deno.args,
  options: {
    against: { type: "string" },
    tree: { type: "string" },
    rounds: { type: "string", default: "6" },
    trips: { type: "string", default: "200" },
    "cpu-prof": { type: "string" },
    "cpu-prof-interval": { type: "string", default: "100" },
    "worker-args": { type: "string", default: "" },
    "v8-flags": { type: "string" },
    "v8-flags-old": { type: "string" },
    hops: { type: "boolean", default: false },
    // internal: run as the client of one round
    client: { type: "string" },
    scheduler: { type: "string" },
    pids: { type: "string" },
    marks: { type: "boolean", default: false },
  },
});

/**
 * CPU time a process's live threads have run so far, ms (Linux's schedstat: nanoseconds, where
 * /proc/PID/stat counts 10 ms ticks, too coarse for 100 round trips).
 */
function cpuMsOf(pid: number | "self"): number {
  let ns = 0;
  for (const thread of Deno.readDirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(
        Deno.readTextFileSync(`/proc/${pid}/task/${thread.name}/schedstat`).split(" ")[0],
      );
    } catch { /* the thread ended meanwhile */ }
  }
  return ns / 1e6;
}

interface ClientFigures {
  trips: number[];
  cpu: { client: number; scheduler: number; worker0: number; worker1: number };
}

/** Keeps the CPU busy for `ms`: a mark that a CPU profile shows by its function's name. */
function spin(ms: number): number {
  const until = performance.now() + ms;
  let n = 0;
  while (performance.now() < until) n++;
  return n;
}
/** The client profile's last sample in this function is where the first 100 trips begin. */
function windowMarkStart(): number {
  return spin(5);
}
/** The client profile's first sample in this function is where the first 100 trips end. */
function windowMarkEnd(): number {
  return spin(5);
}

if (flags.client !== undefined) {
  // one round's client: connects, warms up as bench/distributed.ts does, times the trips
  const mod = await import(new URL("mod.ts", `file://${flags.client}`).href);
  const Client = mod.Client as {
    connect(address: string): Promise<{
      map(fn: (x: number) => number, xs: number[], options?: unknown): unknown[];
      gather(futures: unknown[]): Promise<unknown[]>;
      submit(fn: (x: number) => number, x: number): { result(): Promise<number> };
      close(): Promise<void>;
      with?(options: unknown): unknown;
    }>;
  };
  const pids = flags.pids!.split(",").map(Number);
  const inc = (x: number) => x + 1;
  const client = await Client.connect(flags.scheduler!);
  // both workers connected: a task pinned nowhere lands on each once both are known
  for (let tries = 0; tries < 200; tries++) {
    const workers = await (client as unknown as { workers(): Promise<unknown[]> }).workers();
    if (workers.length >= 2) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const impure = typeof client.with === "function"
    ? client.with({ pure: false }) as typeof client
    : client;
  await client.gather(impure.map(inc, Array.from({ length: 100 }, (_, i) => i)));
  const trips: number[] = [];
  const cpuNow = () => pids.map(cpuMsOf).concat(cpuMsOf("self"));
  if (flags.marks) windowMarkStart(); // outside the counted CPU
  const before = cpuNow();
  let cpuAfter100: number[] = [];
  for (let i = 0; i < Number(flags.trips); i++) {
    const start = performance.now();
    await client.submit(inc, 1000 + i).result();
    trips.push(performance.now() - start);
    if (i === 99) {
      cpuAfter100 = cpuNow();
      if (flags.marks) windowMarkEnd();
    }
  }
  if (cpuAfter100.length === 0) cpuAfter100 = cpuNow();
  const used = cpuAfter100.map((after, i) => after - before[i]);
  const figures: ClientFigures = {
    trips,
    cpu: { scheduler: used[0], worker0: used[1], worker1: used[2], client: used[3] },
  };
  await client.close();
  console.log(JSON.stringify(figures));
  Deno.exit(0);
}

if (flags.against === undefined) {
  console.error(
    "usage: deno run -A bench/cold_roundtrip.ts --against=<older checkout> [--rounds=6] " +
      "[--trips=200] [--cpu-prof=DIR] [--tree=<newer checkout>] [--v8-flags=FLAGS]",
  );
  Deno.exit(2);
}
/** A checkout's folder as an absolute path ending in "/". */
const treePath = (path: string) =>
  new URL(path.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`).pathname;
const here = flags.tree === undefined
  ? new URL("../", import.meta.url).pathname
  : treePath(flags.tree);
const there = treePath(flags.against);
const rounds = Number(flags.rounds);
const self = new URL(import.meta.url).pathname;
const profDir = flags["cpu-prof"];
const workerArgs = flags["worker-args"].split(" ").filter((arg) => arg !== "");

/**
 * Deno's flags for one process of a round: `--v8-flags` (`--v8-flags-old` for the old tree) and
 * those that write a CPU profile named `name` into `--cpu-prof`'s folder, if given.
 */
function runFlags(name: string): string[] {
  const v8 = flags[name.startsWith("new") ? "v8-flags" : "v8-flags-old"];
  return [
    ...(v8 === undefined ? [] : [`--v8-flags=${v8}`]),
    ...(profDir === undefined ? [] : [
      "--cpu-prof",
      `--cpu-prof-dir=${profDir}`,
      `--cpu-prof-name=${name}.cpuprofile`,
      `--cpu-prof-interval=${flags["cpu-prof-interval"]}`,
    ]),
  ];
}

/** Starts `deno run -A script args` and waits for the stdout line matching `ready`. */
async function start(
  tree: string,
  script: string,
  args: string[],
  ready: RegExp,
  profName: string,
): Promise<{ child: Deno.ChildProcess; match: RegExpExecArray }> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...runFlags(profName), `${tree}${script}`, ...args],
    cwd: tree,
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`${tree}${script} exited before it was ready:\n${text}`);
    text += value;
    const match = ready.exec(text);
    if (match !== null) {
      // keep draining so the process never blocks on a full pipe
      (async () => {
        while (!(await reader.read()).done);
      })().catch(() => {});
      return { child, match };
    }
  }
}

async function stop(child: Deno.ChildProcess): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
  }, 5000);
  await child.status;
  clearTimeout(timer);
}

async function oneRound(tree: string, label: string, round: number): Promise<ClientFigures> {
  const children: Deno.ChildProcess[] = [];
  try {
    const scheduler = await start(
      tree,
      "scheduler/main.ts",
      ["--host", "127.0.0.1", "--port", "0", "--no-dashboard"],
      /Scheduler at (tcp:\/\/\S+)/,
      `${label}-${round}-scheduler`,
    );
    children.push(scheduler.child);
    const address = scheduler.match[1];
    const noNanny = Deno.readTextFileSync(`${tree}worker/main.ts`).includes("--no-nanny")
      ? ["--no-nanny"]
      : [];
    for (const name of ["worker-0", "worker-1"]) {
      const worker = await start(
        tree,
        "worker/main.ts",
        [
          address,
          ...["--nthreads", "1", "--name", name, "--host", "127.0.0.1", ...noNanny],
          ...(label === "new" ? workerArgs : []),
        ],
        /Worker at/,
        `${label}-${round}-${name}`,
      );
      children.push(worker.child);
    }
    const pids = children.map((child) => child.pid).join(",");
    if (flags.hops) console.error(`HOPS ${label} ${round} ${address} ${Date.now()}`);
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...runFlags(`${label}-${round}-client`),
        self,
        `--client=${tree}`,
        `--scheduler=${address}`,
        `--pids=${pids}`,
        `--trips=${flags.trips}`,
        ...(profDir === undefined ? [] : ["--marks"]),
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (out.code !== 0) {
      throw new Error(`client of ${label} failed: ${new TextDecoder().decode(out.stderr)}`);
    }
    if (flags.hops) console.error(`HOPSEND ${label} ${round} ${address} ${Date.now()}`);
    const lines = new TextDecoder().decode(out.stdout).trim().split("\n");
    return JSON.parse(lines.at(-1)!) as ClientFigures;
  } finally {
    for (const child of children.toReversed()) await stop(child);
  }
}

const loads: string[] = [];
const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
type Row = Record<string, number>;
const rows: Record<"old" | "new", Row[]> = { old: [], new: [] };
const started = new Date().toISOString();
for (let round = 0; round < rounds; round++) {
  loads.push(load());
  const order: ["old" | "new", string][] = round % 2 === 0
    ? [["old", there], ["new", here]]
    : [["new", here], ["old", there]];
  for (const [label, tree] of order) {
    const figures = await oneRound(tree, label, round);
    const row: Row = {
      "median of first 100, ms": median(figures.trips.slice(0, 100)),
      "median of first 200, ms": median(figures.trips.slice(0, 200)),
      "fastest of first 100, ms": Math.min(...figures.trips.slice(0, 100)),
      "client CPU over 100, ms": figures.cpu.client,
      "scheduler CPU over 100, ms": figures.cpu.scheduler,
      "workers CPU over 100, ms": figures.cpu.worker0 + figures.cpu.worker1,
    };
    row["four processes CPU over 100, ms"] = row["client CPU over 100, ms"] +
      row["scheduler CPU over 100, ms"] + row["workers CPU over 100, ms"];
    rows[label].push(row);
    console.error(
      `round ${round + 1} ${label}: ${
        Object.entries(row).map(([k, v]) => `${k.split(",")[0]} ${v.toFixed(2)}`).join("; ")
      }`,
    );
  }
}
loads.push(load());

console.log(`cold round trip, ${started} – ${new Date().toISOString()}, ${rounds} rounds`);
console.log(`load average at each round's start: ${loads.join(" | ")}`);
console.log(`old = ${there}, new = ${here}`);
for (const name of Object.keys(rows.new[0])) {
  const oldValues = rows.old.map((row) => row[name]);
  const newValues = rows.new.map((row) => row[name]);
  const ratios = newValues.map((value, i) => value / oldValues[i]);
  console.log(
    `${name}: new ${median(newValues).toFixed(2)}, old ${median(oldValues).toFixed(2)}; ` +
      `ratio median ${median(ratios).toFixed(2)}× (pairs ${Math.min(...ratios).toFixed(2)}–${
        Math.max(...ratios).toFixed(2)
      }×)`,
  );
}
