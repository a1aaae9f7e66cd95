/**
 * Resilience and memory figures, with real scheduler and worker processes on loopback:
 *
 * - recovery: time from a worker's death (SIGKILL, or SIGSTOP: heartbeats stop) to its task
 *   running again on another worker;
 * - spilling: throughput of a workload that holds 400 MB, on a worker with no limit and on one
 *   limited to 200 MB (spills most of it);
 * - a 2 GB-intermediate array reduction, `(x + x.T).sum()` over a 16384² float64 array in
 *   2048² chunks, on one worker limited to 512 MB: wall time, spilled bytes and peak RSS;
 * - memory blow-up: a task allocating 2 GB on a LocalCluster worker limited to 300 MB, from
 *   submit to its KilledWorker at the client (the supervisor terminates and replaces the worker
 *   allowedFailures + 1 times);
 * - scheduler restart: SIGKILL the scheduler holding 1,000 finished results, start it again on
 *   the same port; time until the old results are readable again and a new task has run.
 *
 * - supervised threads: time from a task's `Deno.exit(3)` (a timestamp it writes just before) to
 *   its ThreadDiedError at the client; time from `cancel` of a running busy loop on a one-thread
 *   worker to the next task's answer (beside a plain task's round trip), and the worker
 *   process's CPU while the loop spins and just after the cancel (/proc/<pid>/stat); and the
 *   thread pool alone: stop a spinning run, time until a fresh thread answers; and on a
 *   supervised (LocalCluster) worker, time from that cancel until the worker process whose
 *   terminated thread spins on is gone and a fresh process answers (`--only replace`).
 *
 * - scheduler journal (`--journal-dir`): SIGKILL the scheduler while a 100,000-task map runs,
 *   start it again with the same journal; time until it listens, answers the client again, and
 *   a task unfinished at the kill finishes (work resumed), and until the whole map is done; and
 *   the journal's cost: a 10,000-task map with and without a journal, alternated in the same run
 *   (ratio of medians; target ≤ 1.10).
 *
 * Every step has a time budget far above what it takes: one that overruns it fails the bench
 * (exit code 1, the step named on stderr) after killing the processes it started, instead of
 * hanging. The thread pool alone runs in a child process (`--pool-alone`): the busy loops it
 * stops spin on in their terminated threads (Deno 2.9), and a process holding such a thread
 * never exits by itself.
 *
 *   deno run -A bench/resilience.ts [--quick]
 *     [--only recovery|spilling|array|blowup|restart|threads|replace|journal]
 *   deno run -A bench/resilience.ts --only recovery --against=path/to/older/checkout [--rounds=3]
 *
 * With `--against`, the SIGKILL recovery alone runs side by side with an older checkout's
 * processes: each round does three kills on this tree's cluster and three on the other's (the
 * order alternating by round), the clusters started and driven by each tree's own test helpers
 * (tests/helpers/cluster.ts, raw_client.ts); it prints each tree's median and range over all
 * kills and the ratio of the medians, each split in two: the kill until the kernel has closed the
 * killed process's sockets (the process's death, which the scheduler waits for), and from there
 * until the task started on the other worker (the scheduler's and that worker's part).
 */

import { Client } from "../client/client.ts";
import { wait } from "../client/wait.ts";
import { LocalCluster } from "../deploy/local_cluster.ts";
import * as array from "../collections/array/mod.ts";
import { TaskRef } from "../core/task.ts";
import type { WorkerListing } from "../protocol/session.ts";
import { describeFunction } from "../core/function_codec.ts";
import { encode } from "../core/value_codec.ts";
import { ThreadPool } from "../threads/thread_pool.ts";
import type { RunItem } from "../threads/thread_protocol.ts";
import {
  startScheduler as startSchedulerProcess,
  startWorker as startWorkerProcess,
  type WorkerProcess,
} from "../tests/helpers/cluster.ts";
import { graphTask, RawClient } from "../tests/helpers/raw_client.ts";

const quick = Deno.args.includes("--quick");
const onlyAt = Deno.args.indexOf("--only");
const only = onlyAt >= 0 ? Deno.args[onlyAt + 1] : undefined;
const runs = (section: string) => only === undefined || only === section;
const flagValue = (name: string) =>
  Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);
const against = flagValue("against");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Each step of the bench has a time budget, far above what it takes: a step that overruns it
 * (a hang, in the product or here) fails the bench loudly — its name on stderr, exit code 1 —
 * after the processes it started are killed, instead of waiting forever.
 */
const spawned = new Set<{ kill(signal?: Deno.Signal): void }>();
let step = { name: "start", seconds: Infinity, deadline: Infinity };
/** Starts step `name`, which must be over within `seconds`. */
function begin(name: string, seconds: number): void {
  step = { name, seconds, deadline: performance.now() + seconds * 1000 };
}
const watchdog = setInterval(() => {
  if (performance.now() <= step.deadline) return;
  console.error(
    `bench/resilience.ts: step "${step.name}" did not finish within ${step.seconds} s: it hangs; ` +
      `stopping the bench and the processes it started (${spawned.size})`,
  );
  for (const process of spawned) {
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  Deno.exit(1); // also ends LocalClusters (their unload listener)
}, 1000);
Deno.unrefTimer(watchdog);

/** A scheduler process the watchdog kills if a step hangs. */
async function startScheduler(...args: Parameters<typeof startSchedulerProcess>) {
  const scheduler = await startSchedulerProcess(...args);
  spawned.add(scheduler.process);
  return scheduler;
}

/** A worker process the watchdog kills if a step hangs. */
async function startWorker(...args: Parameters<typeof startWorkerProcess>) {
  const worker = await startWorkerProcess(...args);
  spawned.add(worker.process);
  return worker;
}

/** Busy for `ms`, then returns when it started (ms since the epoch). */
const startedAt = (ms: number, _run: number) => {
  const start = Date.now();
  while (Date.now() < start + ms) { /* busy */ }
  return start;
};
const chunk = (i: number, mb: number) => new Float64Array((mb * 1e6) / 8).fill(i);
const total = (x: Float64Array) => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i];
  return s;
};
const add = (...xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** Peak resident memory of a process (Linux), bytes. */
function peakRss(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(0)} MB`;

/**
 * What the recovery step needs of a tree: its test helpers, which start its scheduler and worker
 * processes and speak its protocol (an older checkout's too: their signatures are unchanged).
 */
interface ClusterKit {
  startScheduler: typeof startScheduler;
  startWorker: typeof startWorker;
  graphTask: typeof graphTask;
  RawClient: typeof RawClient;
}

const thisTree: ClusterKit = { startScheduler, startWorker, graphTask, RawClient };

/** The test helpers of the checkout at `dir`, their processes watched as this tree's are. */
async function kitOf(dir: string): Promise<ClusterKit> {
  const root = new URL(dir.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`);
  const cluster = await import(new URL("tests/helpers/cluster.ts", root).href);
  const raw = await import(new URL("tests/helpers/raw_client.ts", root).href);
  return {
    startScheduler: async (...args: Parameters<typeof startSchedulerProcess>) => {
      const scheduler = await cluster.startScheduler(...args);
      spawned.add(scheduler.process);
      return scheduler;
    },
    startWorker: async (...args: Parameters<typeof startWorkerProcess>) => {
      const worker = await cluster.startWorker(...args);
      spawned.add(worker.process);
      return worker;
    },
    graphTask: raw.graphTask,
    RawClient: raw.RawClient,
  };
}

/**
 * Seconds from killing the worker running a task to the task starting on the other one. With
 * `closed`, a SIGKILL's figure is split too: `closed(s)` gets the seconds until the kernel closed
 * the killed process's sockets (seen on a connection of this process's own to the worker's
 * listener: the scheduler's link closes in the same step), the rest being the scheduler's and the
 * other worker's part.
 */
async function recovery(
  signal: "SIGKILL" | "SIGSTOP",
  run: number,
  kit: ClusterKit = thisTree,
  closed?: (seconds: number) => void,
): Promise<number> {
  const scheduler = await kit.startScheduler();
  const workers: WorkerProcess[] = [];
  try {
    workers.push(
      ...await Promise.all(
        ["w0", "w1"].map((name) => kit.startWorker(scheduler.address, { name })),
      ),
    );
    await using client = await kit.RawClient.connect(scheduler.address);
    const key = `task-${signal}-${run}`;
    client.submit([
      kit.graphTask(key, startedAt, [1500, run], { workers: ["w1"], allowOtherWorkers: true }),
    ], [key]);
    const { hostname, port } = new URL(workers[1].address.replace(/^\w+:/, "http:"));
    const probe = closed === undefined ? null : await Deno.connect({ hostname, port: +port });
    await sleep(500);
    const killed = Date.now();
    workers[1].process.kill(signal);
    if (probe !== null) {
      // past the worker's greeting, a read ends at the close
      const buffer = new Uint8Array(4096);
      while (await probe.read(buffer).catch(() => null) !== null) { /* the greeting */ }
      closed!((Date.now() - killed) / 1000);
      probe.close();
    }
    await client.waitForKeys([key], 30_000);
    const [start] = [...(await client.getData(workers[0].address, [key])).values()] as number[];
    return (start - killed) / 1000;
  } finally {
    workers[1]?.process.kill("SIGCONT");
    await Promise.all(workers.map((w) => w.process.stop()));
    await scheduler.process.stop();
  }
}

/** `--against`: SIGKILL recovery here and in an older checkout, alternated, three kills a round. */
async function recoveryAgainst(dir: string, rounds: number): Promise<void> {
  const kits: Record<"new" | "old", ClusterKit> = { new: thisTree, old: await kitOf(dir) };
  const kills: Record<"new" | "old", number[]> = { new: [], old: [] };
  const closes: Record<"new" | "old", number[]> = { new: [], old: [] };
  const loads: string[] = [];
  const load = () => Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(
    `recovery: a SIGKILLed worker's task starting on the other worker, this tree (new) and ` +
      `${dir} (old), ${rounds} rounds of 3 kills each`,
  );
  for (let round = 0; round < rounds; round++) {
    loads.push(load());
    const order: ("new" | "old")[] = round % 2 === 0 ? ["new", "old"] : ["old", "new"];
    for (const tree of order) {
      for (let run = 0; run < 3; run++) {
        begin(`recovery against: ${tree}, round ${round + 1}, kill ${run + 1}`, 90);
        kills[tree].push(
          await recovery("SIGKILL", run, kits[tree], (s) => closes[tree].push(s)),
        );
      }
    }
  }
  loads.push(load());
  const line = (seconds: number[]) =>
    `median ${median(seconds).toFixed(3)} s (${Math.min(...seconds).toFixed(3)}–` +
    `${Math.max(...seconds).toFixed(3)}): ${seconds.map((s) => s.toFixed(3)).join(", ")}`;
  const rest = (tree: "new" | "old") => kills[tree].map((s, i) => s - closes[tree][i]);
  for (const tree of ["new", "old"] as const) {
    console.log(`  ${tree}: ${line(kills[tree])}`);
    console.log(`    kill → its sockets closed: ${line(closes[tree])}`);
    console.log(`    closed → task started elsewhere: ${line(rest(tree))}`);
  }
  const ratio = (a: number[], b: number[]) => `${(median(a) / median(b)).toFixed(2)}×`;
  console.log(
    `  new / old: ${ratio(kills.new, kills.old)} of the medians (sockets closed ` +
      `${ratio(closes.new, closes.old)}, the rest ${ratio(rest("new"), rest("old"))})`,
  );
  console.log(`  load average at each round's start and the end: ${loads.join(" | ")}`);
}

/** Seconds to make and sum `n` chunks of `size` MB all held at once, on a worker with `limit`. */
async function holdAndSum(limit: string, n: number, size: number): Promise<[number, number]> {
  const scheduler = await startScheduler();
  const worker = await startWorker(scheduler.address, {
    name: "w0",
    args: ["--memory-limit", limit],
  });
  try {
    await using client = await RawClient.connect(scheduler.address);
    const chunks = Array.from({ length: n }, (_, i) => `chunk-${i}`);
    const sums = chunks.map((k) => `sum-${k}`);
    const started = performance.now();
    client.submit([
      ...chunks.map((k, i) => graphTask(k, chunk, [i, size])),
      ...chunks.map((k, i) => graphTask(sums[i], total, [new TaskRef(k)])),
      graphTask("total", add, sums.map((k) => new TaskRef(k))),
    ], [...chunks, "total"]);
    await client.waitForKeys([...chunks, "total"], 300_000);
    const seconds = (performance.now() - started) / 1000;
    await sleep(600); // one heartbeat with the spilled figure
    const [status] = await client.request<WorkerListing[]>("workers");
    return [seconds, status.spilled];
  } finally {
    await worker.process.stop();
    await scheduler.process.stop();
  }
}

/**
 * CPU seconds the Web Worker threads of a process have used (utime + stime of its threads named
 * `worker-*` in /proc/<pid>/task, Linux, 100 ticks/s): the task threads alone, so the figure
 * does not depend on what else the machine runs.
 */
function taskThreadCpu(pid: number | "self"): number {
  let ticks = 0;
  for (const dir of taskThreads(pid)) {
    try {
      const stat = Deno.readTextFileSync(`${dir}/stat`);
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch { /* the thread ended meanwhile */ }
  }
  return ticks / 100;
}

/** The /proc directories of a process's Web Worker threads (named `worker-*`, Linux). */
function taskThreads(pid: number | "self"): string[] {
  const dirs: string[] = [];
  for (const entry of Deno.readDirSync(`/proc/${pid}/task`)) {
    const dir = `/proc/${pid}/task/${entry.name}`;
    try {
      if (Deno.readTextFileSync(`${dir}/comm`).startsWith("worker")) dirs.push(dir);
    } catch { /* the thread ended meanwhile */ }
  }
  return dirs;
}

/** CPU the task threads use over the next `ms`, as a share of one core. */
async function cpuShare(pid: number | "self", ms: number): Promise<number> {
  const before = taskThreadCpu(pid);
  await sleep(ms);
  return (taskThreadCpu(pid) - before) / (ms / 1000);
}

const percent = (share: number) => `${(100 * share).toFixed(0)} %`;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (Deno.args.includes("--pool-alone")) {
  await poolAlone(quick ? 3 : 7);
  Deno.exit(0); // ends the terminated threads whose loops spin on
}

if (against !== undefined) {
  if (only !== "recovery") {
    console.error(
      "bench/resilience.ts: --against=DIR measures the recovery alone: add --only recovery",
    );
    Deno.exit(2);
  }
  await recoveryAgainst(against, Number(flagValue("rounds") ?? 3));
} else if (runs("recovery")) {
  console.log("recovery: a worker dies while running a task; time until it starts elsewhere");
  const kills: number[] = [];
  for (let run = 0; run < (quick ? 1 : 3); run++) {
    begin(`recovery: SIGKILL, run ${run + 1}`, 90);
    kills.push(await recovery("SIGKILL", run));
  }
  console.log(
    `  SIGKILL (connection closes): ${kills.map((s) => s.toFixed(2)).join(", ")} s ` +
      `(heartbeat interval 0.5 s)`,
  );
  begin("recovery: SIGSTOP", 90);
  const stopped = await recovery("SIGSTOP", 0);
  console.log(`  SIGSTOP (10 heartbeats missed): ${stopped.toFixed(2)} s`);
}

/**
 * The thread pool alone: a spinning run stopped by its timeout keeps its thread; a spinning run
 * stopped by `stop` loses it, and a fresh thread answers the next run. Runs in a child process
 * (`--pool-alone`), which prints its line and ends with `Deno.exit`: the loops it stops spin on in
 * their terminated threads, and a process holding such a thread never exits by itself.
 */
async function poolAlone(rounds: number): Promise<void> {
  // Runs posted and not answered, and who waits for each. A run is over with its result or with
  // its thread's end (stopped, or timed out before the thread's own timeout fired). A stop ends a
  // spinning run's thread only after a grace (thread_pool.ts STOP_GRACE_MS), so the run posted
  // behind it goes to that thread and ends with it: the owner posts it again to the fresh thread,
  // as a worker's executor does.
  const queued = new Map<number, RunItem>();
  const waiting = new Map<number, () => void>();
  const over = (id: number) => {
    queued.delete(id);
    waiting.get(id)?.();
    waiting.delete(id);
  };
  const pool: ThreadPool = new ThreadPool(1, (_thread, results) => {
    for (const result of results) over(result.id);
  }, (end) => {
    if (end.runId !== null) over(end.runId);
    if (queued.size > 0) pool.post(end.thread, [...queued.values()]);
  });
  const run = (item: RunItem) => {
    const done = new Promise<void>((resolve) => waiting.set(item.id, resolve));
    queued.set(item.id, item);
    pool.post(0, [item]);
    return done;
  };
  const spinForever = describeFunction(() => {
    let n = 0;
    for (;;) n++;
  });
  const one = describeFunction(() => 1);
  const args = encode([]);
  const item = (id: number, fn: typeof one, timeoutMs?: number) => {
    const run: RunItem = { id, key: `run-${id}`, fn, args, depKeys: [], depValues: [] };
    if (timeoutMs !== undefined) run.timeoutMs = timeoutMs;
    return run;
  };
  // a spin stopped by its timeout (node:vm inside the thread): the thread is kept
  begin("pool alone: a spin with a timeout", 60);
  await run(item(1, spinForever, 300));
  const afterTimeout = await cpuShare("self", 1000);
  const times: number[] = [];
  for (let r = 0; r < rounds; r++) {
    begin(`pool alone: stop a spinning run, round ${r + 1}`, 60);
    const spinId = 2 * r + 11;
    const stopped = run(item(spinId, spinForever));
    while (pool.runningOn(0) !== spinId) await sleep(5);
    const started = performance.now();
    pool.stop(0, spinId, "bench");
    await run(item(spinId + 1, one));
    times.push(performance.now() - started);
    await stopped;
  }
  const afterStops = await cpuShare("self", 1000);
  pool.close();
  console.log(
    `  thread pool: stop a spinning run → a fresh thread's answer: median ` +
      `${median(times).toFixed(1)} ms (${rounds} runs); task threads' CPU in the second after ` +
      `a spin's timeout ${percent(afterTimeout)} of a core, after the ${rounds} stops ` +
      `${percent(afterStops)} (terminated loops spin on: Deno 2.9, denoland/deno#35657)`,
  );
}

/** Runs {@link poolAlone} in a fresh `deno run` of this script and prints its lines. */
async function poolAloneInChild(): Promise<void> {
  const args = ["run", "-A", new URL(import.meta.url).pathname, "--pool-alone"];
  if (quick) args.push("--quick");
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped" }).spawn();
  spawned.add(child);
  const { success, code, stdout } = await child.output();
  spawned.delete(child);
  await Deno.stdout.write(stdout);
  if (!success) throw new Error(`bench/resilience.ts --pool-alone exited with code ${code}`);
}

if (runs("threads") || runs("replace")) {
  console.log("a cancelled busy loop on a supervised worker: its process is replaced");
  begin("replace: a cancelled busy loop on a LocalCluster worker", 180);
  // supervised: the worker whose terminated thread spins on is replaced (stray_threads.ts)
  const marker = Deno.makeTempFileSync();
  Deno.removeSync(marker);
  const warn = console.warn;
  await using cluster = await LocalCluster.start({ nWorkers: 1, threadsPerWorker: 1 });
  await using client = await Client.connect(cluster, { setAsDefault: false });
  const fresh = client.with({ pure: false });
  const pidOf = () => fresh.submit(() => Deno.pid).result(120);
  const spin = (path: string) => {
    Deno.writeTextFileSync(path, "started");
    let n = 0;
    for (;;) n++;
  };
  const spinningPid = await pidOf();
  const loop = fresh.submit(spin, marker);
  while (true) {
    try {
      Deno.statSync(marker);
      break;
    } catch {
      await sleep(5);
    }
  }
  console.warn = () => {};
  const started = performance.now();
  await client.cancel(loop);
  await fresh.submit((x: number) => x + 1, 1).result(120);
  const answered = performance.now() - started;
  while (true) {
    try {
      Deno.statSync(`/proc/${spinningPid}`);
      await sleep(20);
    } catch {
      break;
    }
  }
  const gone = performance.now() - started;
  const freshPid = await pidOf();
  const replaced = performance.now() - started;
  const idle = await cpuShare(freshPid, 1000);
  console.warn = warn;
  Deno.removeSync(marker);
  console.log(
    `  supervised (LocalCluster): cancel of a busy loop → next task answered ` +
      `${answered.toFixed(0)} ms, the spinning process gone ${(gone / 1000).toFixed(2)} s, a ` +
      `fresh process answering ${(replaced / 1000).toFixed(2)} s; its task threads' CPU then ` +
      `${percent(idle)} of a core`,
  );
}

if (runs("threads")) {
  console.log("supervised threads: Deno.exit, cancel of a busy loop, the pool's thread restart");
  const rounds = quick ? 3 : 7;
  // the pool alone, in a process of its own: the loops it stops spin on in their terminated
  // threads (Deno 2.9, denoland/deno#35657), which would take CPU from the figures after it and
  // keep this process from ever exiting; that process ends with Deno.exit, which ends them
  begin("threads: the thread pool alone (a child process)", 180);
  await poolAloneInChild();
  const dir = Deno.makeTempDirSync();
  const scheduler = await startScheduler();
  const worker = await startWorker(scheduler.address, { name: "w0", nthreads: 1 });
  try {
    await using client = await Client.connect(scheduler.address, { setAsDefault: false });
    const fresh = client.with({ pure: false });
    const exitAfterStamp = (path: string) => {
      Deno.writeTextFileSync(path, String(performance.timeOrigin + performance.now()));
      Deno.exit(3);
    };
    const spin = (path: string) => {
      Deno.writeTextFileSync(path, "started");
      let n = 0;
      for (;;) n++;
    };
    const plus = (x: number) => x + 1;
    const untilExists = async (path: string) => {
      for (;;) {
        try {
          return Deno.statSync(path);
        } catch {
          await sleep(2);
        }
      }
    };
    begin("threads: the first task on a one-thread worker", 120);
    await fresh.submit(plus, 0); // warm: function caches, connections
    const exits: number[] = [];
    const trips: number[] = [];
    const replaced: number[] = [];
    let spinning = 0;
    let afterCancel = 0;
    for (let r = 0; r < rounds; r++) {
      begin(`threads: Deno.exit and cancel on a one-thread worker, round ${r + 1}`, 120);
      const stamp = `${dir}/exit-${r}`;
      await fresh.submit(exitAfterStamp, stamp).exception();
      exits.push(performance.timeOrigin + performance.now() - Number(Deno.readTextFileSync(stamp)));
      let started = performance.now();
      await fresh.submit(plus, r);
      trips.push(performance.now() - started);
      const marker = `${dir}/spin-${r}`;
      const loop = fresh.submit(spin, marker);
      await untilExists(marker);
      if (r === 0) spinning = await cpuShare(worker.process.pid, 1000);
      started = performance.now();
      await client.cancel(loop);
      await fresh.submit(plus, r);
      replaced.push(performance.now() - started);
      if (r === 0) afterCancel = await cpuShare(worker.process.pid, 1000);
    }
    console.log(
      `  task's Deno.exit(3) → its error at the client: median ${median(exits).toFixed(1)} ms; ` +
        `a plain task's round trip: ${median(trips).toFixed(1)} ms (${rounds} runs)`,
    );
    console.log(
      `  cancel of a running busy loop → the next task's answer (one thread): median ` +
        `${median(replaced).toFixed(1)} ms; the worker's task threads' CPU while spinning ` +
        `${percent(spinning)} of a core, in the second after the first cancel ` +
        `${percent(afterCancel)}`,
    );
  } finally {
    await worker.process.stop();
    await scheduler.process.stop();
    Deno.removeSync(dir, { recursive: true });
  }
}

if (runs("blowup")) {
  console.log("memory blow-up: a task allocates 2 GB on a LocalCluster worker limited to 300 MB");
  begin("blowup", 300);
  await using cluster = await LocalCluster.start({
    nWorkers: 1,
    threadsPerWorker: 1,
    memoryLimit: "300MB",
  });
  await using client = await Client.connect(cluster, { setAsDefault: false });
  const allocate2GB = () => {
    const pieces: Uint8Array[] = [];
    for (let i = 0; i < 200; i++) pieces.push(new Uint8Array(10e6).fill(1));
    return pieces.length;
  };
  const started = performance.now();
  const error = await client.submit(allocate2GB).exception();
  const seconds = (performance.now() - started) / 1000;
  const deaths = (String(error?.message).match(/supervisor terminated it/g) ?? []).length;
  console.log(
    `  submit to ${error?.name} at the client: ${seconds.toFixed(2)} s ` +
      `(${deaths} terminations named in it, each followed by a worker restart)`,
  );
}

if (runs("restart")) {
  console.log("scheduler restart: SIGKILL with 1,000 finished results held, start it again");
  begin("restart", 180);
  const first = await startScheduler();
  const port = first.address.slice(first.address.lastIndexOf(":") + 1);
  const workers = await Promise.all(
    ["w0", "w1"].map((name) => startWorker(first.address, { name })),
  );
  let second: Awaited<ReturnType<typeof startScheduler>> | undefined;
  const warn = console.warn;
  try {
    await using client = await Client.connect(first.address, { setAsDefault: false });
    const kept = client.map((i: number) => i * 2, Array.from({ length: 1000 }, (_, i) => i));
    await wait(kept);
    console.warn = () => {};
    first.process.kill("SIGKILL");
    await first.process.status;
    const started = performance.now();
    second = await startScheduler(["--port", port]);
    const up = (performance.now() - started) / 1000;
    const values = await client.gather(kept);
    const readable = (performance.now() - started) / 1000;
    await client.submit((x: number) => x + 1, values.length).result(60);
    const resumed = (performance.now() - started) / 1000;
    console.log(
      `  from restart: listening ${up.toFixed(2)} s, the 1,000 earlier results readable ` +
        `${readable.toFixed(2)} s, a new task done ${resumed.toFixed(2)} s (restart grace 10 s)`,
    );
  } finally {
    console.warn = warn;
    await Promise.all(workers.map((w) => w.process.stop()));
    await second?.process.stop();
    await first.process.stop();
  }
}

/** Bytes in a journal directory's files. */
function directoryBytes(dir: string): number {
  let bytes = 0;
  for (const entry of Deno.readDirSync(dir)) bytes += Deno.statSync(`${dir}/${entry.name}`).size;
  return bytes;
}

if (runs("journal")) {
  const tasks = quick ? 20_000 : 100_000;
  console.log(
    `scheduler journal: SIGKILL during a ${tasks.toLocaleString("en")}-task map, restart with ` +
      `the same --journal-dir`,
  );
  begin("journal: SIGKILL during a map, restart with the journal", quick ? 300 : 900);
  const dir = Deno.makeTempDirSync({ prefix: "bench-journal-" });
  const journalArgs = ["--journal-dir", `${dir}/journal`];
  const first = await startScheduler(journalArgs);
  const port = first.address.slice(first.address.lastIndexOf(":") + 1);
  const workers = await Promise.all(
    ["w0", "w1"].map((name) => startWorker(first.address, { name, nthreads: 2 })),
  );
  let second: Awaited<ReturnType<typeof startScheduler>> | undefined;
  const warn = console.warn;
  try {
    await using client = await Client.connect(first.address, {
      setAsDefault: false,
      reconnectTimeout: 120,
    });
    const futures = client.map((i: number) => i + 1, Array.from({ length: tasks }, (_, i) => i));
    const finishedCount = () => futures.filter((f) => f.status === "finished").length;
    while (finishedCount() < tasks / 20) await sleep(50);
    const journalBytes = directoryBytes(`${dir}/journal`);
    console.warn = () => {};
    first.process.kill("SIGKILL");
    await first.process.status;
    const before = new Set(futures.filter((f) => f.status === "finished"));
    const started = performance.now();
    second = await startScheduler(["--port", port, ...journalArgs], { timeoutMs: 120_000 });
    const up = (performance.now() - started) / 1000;
    while (client.status !== "running") await sleep(5);
    const answering = (performance.now() - started) / 1000;
    const pending = futures.filter((f) => !before.has(f));
    while (!pending.some((f) => f.status === "finished")) await sleep(5);
    const resumed = (performance.now() - started) / 1000;
    const values = await client.gather(futures);
    const all = (performance.now() - started) / 1000;
    if (values.some((v, i) => v !== i + 1)) throw new Error("the map's values are wrong");
    console.log(
      `  killed with ${before.size.toLocaleString("en")} of ${tasks.toLocaleString("en")} done ` +
        `(journal ${mb(journalBytes)}); from restart: listening ${up.toFixed(2)} s, answering ` +
        `the client ${answering.toFixed(2)} s, a task unfinished at the kill done ` +
        `${resumed.toFixed(2)} s, the whole map ${all.toFixed(2)} s`,
    );
  } finally {
    console.warn = warn;
    await Promise.all(workers.map((w) => w.process.stop()));
    await second?.process.stop();
    await first.process.stop();
  }

  // The cost of journaling: the same 10,000-task map with and without, alternated.
  begin("journal: start two clusters and warm them", 180);
  const withJournal = await startScheduler(["--journal-dir", `${dir}/overhead`]);
  const without = await startScheduler();
  const all: WorkerProcess[] = [];
  try {
    for (const [i, scheduler] of [withJournal, without].entries()) {
      all.push(
        ...await Promise.all(
          ["a", "b"].map((name) =>
            startWorker(scheduler.address, { name: `${name}${i}`, nthreads: 2 })
          ),
        ),
      );
    }
    await using journaled = await Client.connect(withJournal.address, { setAsDefault: false });
    await using plain = await Client.connect(without.address, { setAsDefault: false });
    const rounds = quick ? 3 : 7;
    const timeMap = async (client: Client, round: number) => {
      const offset = round * 1e6; // new keys each round: nothing is already in memory
      const started = performance.now();
      await client.gather(
        client.map((i: number) => i * 2, Array.from({ length: 10_000 }, (_, i) => i + offset)),
      );
      return performance.now() - started;
    };
    await timeMap(journaled, -1); // warm: function caches, connections
    await timeMap(plain, -1);
    const times: [number[], number[]] = [[], []];
    for (let r = 0; r < rounds; r++) {
      begin(`journal: 10,000-task maps with and without, round ${r + 1}`, 180);
      // alternate the order so neither always runs on a warmer machine
      const order: [Client, number][] = r % 2 === 0 ? [[journaled, 0], [plain, 1]] : [
        [plain, 1],
        [journaled, 0],
      ];
      for (const [client, at] of order) times[at].push(await timeMap(client, r));
    }
    const ratio = median(times[0]) / median(times[1]);
    console.log(
      `  10,000-task map: with a journal ${median(times[0]).toFixed(0)} ms, without ` +
        `${median(times[1]).toFixed(0)} ms (medians of ${rounds}); ratio ${ratio.toFixed(3)} ` +
        `(target ≤ 1.10); journal on disk ${mb(directoryBytes(`${dir}/overhead`))}`,
    );
  } finally {
    await Promise.all(all.map((w) => w.process.stop()));
    await withJournal.process.stop();
    await without.process.stop();
    Deno.removeSync(dir, { recursive: true });
  }
}

const n = quick ? 8 : 16;
const size = 25;
if (runs("spilling")) {
  console.log(`spilling: ${n} chunks × ${size} MB held at once, then each summed`);
  begin("spilling: no limit", 600);
  const [free, freeSpilled] = await holdAndSum("none", n, size);
  begin("spilling: 200 MB limit", 600);
  const [limited, spilled] = await holdAndSum("200MB", n, size);
  const bytes = n * size * 1e6;
  console.log(
    `  no limit: ${free.toFixed(2)} s (${mb(bytes / free)}/s, spilled ${mb(freeSpilled)}); ` +
      `200 MB limit: ${limited.toFixed(2)} s (${mb(bytes / limited)}/s, spilled ${mb(spilled)})`,
  );
}

const side = quick ? 8192 : 16384;
const arrayBytes = side * side * 8;
if (runs("array")) {
  console.log(
    `array: (x + x.T).sum() over ${side}² float64 (${mb(arrayBytes)}) in 2048² chunks, ` +
      `one worker limited to 512 MB`,
  );
  begin("array", quick ? 600 : 1800);
  {
    const scheduler = await startScheduler();
    const worker = await startWorker(scheduler.address, {
      name: "w0",
      args: ["--memory-limit", "512MB"],
    });
    try {
      // The default executor of `.compute()` while it lives.
      await using _client = await Client.connect(scheduler.address);
      await using admin = await RawClient.connect(scheduler.address);
      const x = array.random.random([side, side], { chunks: [2048, 2048] });
      const started = performance.now();
      const sum = await x.add(x.T).sum().compute();
      const seconds = (performance.now() - started) / 1000;
      await sleep(600);
      const [status] = await admin.request<WorkerListing[]>("workers");
      // the worker process's own high-water mark (a task may not read /proc: task permissions)
      const peak = peakRss(worker.process.pid);
      console.log(
        `  ${seconds.toFixed(1)} s, mean ${(sum / (side * side) / 2).toFixed(4)} (≈0.5), ` +
          `spilled ${mb(status.spilled)} at the end, worker peak RSS ${mb(peak)}`,
      );
    } finally {
      await worker.process.stop();
      await scheduler.process.stop();
    }
  }
}

// A Web Worker thread still in this process (a terminated one whose synchronous loop spins on,
// denoland/deno#35657) keeps it from ever exiting: fail loudly rather than hang.
begin("exit: every task thread of this process ended", 10);
while (taskThreads("self").length > 0) await sleep(100);
clearInterval(watchdog);
