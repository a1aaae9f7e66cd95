/**
 * `LocalCluster`: a scheduler and worker processes on this machine, as Dask's
 * `LocalCluster(n_workers, threads_per_worker)`.
 *
 * The processes run this repository's own command lines (`scheduler/main.ts`,
 * `worker/main.ts`) with the running Deno (`Deno.execPath()`), addressed relative to this
 * module's URL, so a cluster starts the same whether `mod.ts` was imported from a file or from
 * a web server. Each process prints its address on one line, which is read here; the cluster
 * is ready once the scheduler counts every worker. Closing stops them all, and so does the
 * end of this process (an `unload` listener kills what is still running).
 *
 * @module
 */

import { checkOptionNames, optionNames } from "../core/option_names.ts";
import type { WorkerListing } from "../protocol/session.ts";
import { SchedulerSession } from "../client/scheduler_connection.ts";
import { REFUSED_EXIT_CODE } from "../protocol/exit_codes.ts";

/** How {@link LocalCluster.start} (and `Client.local`) sets up the cluster. */
export interface LocalClusterOptions {
  /** Worker processes. Default: the machine's cores. */
  nWorkers?: number;
  /** Threads per worker. Default 1. */
  threadsPerWorker?: number;
  /**
   * Memory limit of each worker: `"auto"` (the machine's memory shared by threads), a number
   * of bytes, a size like `"4GB"` or `"512MiB"`, or `"none"`. Default `"auto"`.
   */
  memoryLimit?: number | string;
  /** Abstract resources of each worker, e.g. `{ GPU: 1 }`. */
  resources?: Record<string, number>;
  /** The interface every process listens on. Default `"127.0.0.1"`. */
  host?: string;
  /** The scheduler's port. Default 0 (any free port). */
  schedulerPort?: number;
  /** Serve the scheduler's dashboard: false (default), true (any free port), or a port. */
  dashboard?: boolean | number;
  /** Seconds to wait for every process to be up and registered. Default 60. */
  startTimeout?: number;
  /** Copy the processes' log lines to this process's stderr. Default false. */
  logs?: boolean;
  /**
   * Start a worker process again, under its name, when it dies (killed, out of memory, crashed),
   * as Dask's nanny does; not when it stopped because it was told to or the scheduler refused
   * it. Default true.
   */
  restartDeadWorkers?: boolean;
}

/** Every option name of {@link LocalClusterOptions}, for checking options at run time. */
export const LOCAL_CLUSTER_OPTION_NAMES = optionNames<LocalClusterOptions>({
  nWorkers: true,
  threadsPerWorker: true,
  memoryLimit: true,
  resources: true,
  host: true,
  schedulerPort: true,
  dashboard: true,
  startTimeout: true,
  logs: true,
  restartDeadWorkers: true,
});

/** Lines of a process's output kept to explain its failure. */
const TAIL_LINES = 40;
/** Seconds a process gets to stop after SIGTERM before it is killed. */
const STOP_GRACE_SECONDS = 5;
/** A worker that keeps dying waits longer before each restart: from 0.1 s, doubling, to 10 s. */
const FIRST_RESTART_DELAY_MS = 100;
const MAX_RESTART_DELAY_MS = 10_000;
/** Deaths further apart than this do not count as the same crash loop. */
const CRASH_LOOP_WINDOW_MS = 60_000;

const SCHEDULER_LINE = /^Scheduler at (tcp:\/\/\S+)/;
const WORKER_LINE = /^Worker at (tcp:\/\/\S+)/;

/** One child process: its output read line by line, the last lines kept. */
class ClusterProcess {
  readonly child: Deno.ChildProcess;
  readonly tail: string[] = [];
  readonly output: Promise<void>;
  /** Resolves with the address the process printed, or rejects if it exits before. */
  readonly address: Promise<string>;
  exited = false;
  /** True once the process printed its address: it started, whatever happens later. */
  started = false;
  #addressFound!: (address: string) => void;

  constructor(readonly label: string, args: string[], pattern: RegExp, logs: boolean) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let failed!: (error: Error) => void;
    this.address = new Promise<string>((resolve, reject) => {
      this.#addressFound = resolve;
      failed = reject;
    });
    this.address.catch(() => {}); // observed by whoever awaits it
    const onLine = (line: string) => {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      if (logs) console.error(`[${label}] ${line}`);
      const match = pattern.exec(line);
      if (match !== null) {
        this.started = true;
        this.#addressFound(match[1]);
      }
    };
    this.output = Promise.all([
      readLines(this.child.stdout, onLine),
      readLines(this.child.stderr, onLine),
    ]).then(() => {});
    this.child.status.then((status) => {
      this.exited = true;
      failed(this.failure(`exited with code ${status.code}`));
    });
  }

  /** An error naming the process, what happened, and its last output lines. */
  failure(what: string): Error {
    const output = this.tail.length === 0
      ? "(it printed nothing)"
      : `Its last output:\n  ${this.tail.join("\n  ")}`;
    return new Error(`The ${this.label} process ${what}. ${output}`);
  }

  /** Asks the process to stop, then kills it if it does not within the grace period. */
  async stop(): Promise<void> {
    if (!this.exited) {
      signal(this.child, "SIGTERM");
      const timer = setTimeout(() => signal(this.child, "SIGKILL"), STOP_GRACE_SECONDS * 1000);
      await this.child.status;
      clearTimeout(timer);
    }
    await this.output;
  }
}

function signal(child: Deno.ChildProcess, name: Deno.Signal): void {
  try {
    child.kill(name);
  } catch {
    // already exited
  }
}

async function readLines(
  stream: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  let pending = "";
  try {
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        onLine(pending.slice(0, newline).replace(/\r$/, ""));
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
      }
    }
  } catch {
    // the process was killed mid-write
  }
  if (pending !== "") onLine(pending);
}

/** Clusters not closed yet: killed when this process ends. */
const running = new Set<LocalCluster>();
let unloadListening = false;

function killRunning(): void {
  for (const cluster of running) cluster.kill();
}

/**
 * A scheduler and workers in child processes of this one.
 *
 * @example
 * ```ts
 * import { Client, LocalCluster } from "./mod.ts";
 *
 * await using cluster = await LocalCluster.start({ nWorkers: 2, threadsPerWorker: 1 });
 * await using client = await Client.connect(cluster.schedulerAddress);
 * console.log(await client.submit((x: number) => x + 1, 1)); // 2
 * ```
 */
export class LocalCluster implements AsyncDisposable {
  /** The scheduler's address, `tcp://host:port`. */
  schedulerAddress = "";
  readonly #options: LocalClusterOptions;
  readonly #host: string;
  #scheduler: ClusterProcess | undefined;
  readonly #workers: ClusterProcess[] = [];
  #nextWorker = 0;
  /** When each worker (by name) last died on its own, within the crash-loop window. */
  readonly #deaths = new Map<string, number[]>();
  readonly #restartTimers = new Set<ReturnType<typeof setTimeout>>();
  /** Workers started again after dying (their own start failures are only logged). */
  readonly #replacements = new WeakSet<ClusterProcess>();
  #closing: Promise<void> | undefined;

  private constructor(options: LocalClusterOptions) {
    this.#options = options;
    this.#host = options.host ?? "127.0.0.1";
  }

  /**
   * Starts the scheduler and the workers and waits until every worker is registered.
   *
   * @throws {Error} when a process fails to start (its last output is in the message) or the
   *   cluster is not up within `startTimeout`; whatever was started is stopped.
   */
  static async start(options: LocalClusterOptions = {}): Promise<LocalCluster> {
    checkOptionNames(options, LOCAL_CLUSTER_OPTION_NAMES, "LocalCluster.start()");
    const nWorkers = options.nWorkers ?? Math.max(1, navigator.hardwareConcurrency || 1);
    const threads = options.threadsPerWorker ?? 1;
    if (!Number.isInteger(nWorkers) || nWorkers < 0) {
      throw new TypeError(`nWorkers must be a whole number ≥ 0, got ${options.nWorkers}.`);
    }
    if (!Number.isInteger(threads) || threads < 1) {
      throw new TypeError(
        `threadsPerWorker must be a whole number ≥ 1, got ${options.threadsPerWorker}.`,
      );
    }
    const cluster = new LocalCluster(options);
    running.add(cluster);
    if (!unloadListening) {
      unloadListening = true;
      globalThis.addEventListener("unload", killRunning);
    }
    try {
      await cluster.#startScheduler();
      await cluster.scale(nWorkers);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The workers' addresses, in start order. */
  get workerAddresses(): Promise<string[]> {
    return Promise.all(this.#workers.map((w) => w.address));
  }

  /** Process ids of the scheduler and the workers (for monitoring their memory, say). */
  get pids(): { scheduler: number | undefined; workers: number[] } {
    return {
      scheduler: this.#scheduler?.child.pid,
      workers: this.#workers.map((w) => w.child.pid),
    };
  }

  /** How many worker processes this cluster runs. */
  get nWorkers(): number {
    return this.#workers.length;
  }

  /**
   * Starts or stops workers until `n` run, then waits until the scheduler counts them (as
   * Dask's `cluster.scale(n)`). Stopped workers are the newest; their data is recomputed
   * elsewhere when still needed.
   */
  async scale(n: number): Promise<void> {
    if (this.#closing !== undefined) {
      throw new Error("This cluster is closed; start a new one with LocalCluster.start(...).");
    }
    const timeout = this.#options.startTimeout ?? 60;
    const started: ClusterProcess[] = [];
    while (this.#workers.length < n) {
      const worker = this.#spawnWorker();
      this.#workers.push(worker);
      started.push(worker);
    }
    const stopping = this.#workers.splice(n);
    await Promise.all(stopping.map((w) => w.stop()));
    const addresses = await withDeadline(
      Promise.all(started.map((w) => w.address)),
      timeout,
      () => this.#notUp(started),
    );
    await this.#waitForWorkers(addresses, stopping.length > 0, timeout);
  }

  /** Stops every process (workers, then the scheduler). Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const timer of this.#restartTimers) clearTimeout(timer);
      const workers = this.#workers.splice(0);
      await Promise.all(workers.map((w) => w.stop()));
      await this.#scheduler?.stop();
      running.delete(this);
    })();
    return this.#closing;
  }

  /** `await using cluster = ...` stops it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal Kills every process at once (this process is ending). */
  kill(): void {
    this.#closing ??= Promise.resolve();
    for (const timer of this.#restartTimers) clearTimeout(timer);
    for (const worker of this.#workers) signal(worker.child, "SIGKILL");
    if (this.#scheduler !== undefined) signal(this.#scheduler.child, "SIGKILL");
  }

  async #startScheduler(): Promise<void> {
    const url = new URL("../scheduler/main.ts", import.meta.url).href;
    const args = ["run", "-A", "--no-config", url, "--host", this.#host];
    args.push("--port", String(this.#options.schedulerPort ?? 0));
    const dashboard = this.#options.dashboard ?? false;
    if (dashboard === false) args.push("--no-dashboard");
    else args.push("--dashboard-port", String(dashboard === true ? 0 : dashboard));
    const scheduler = new ClusterProcess(
      "scheduler",
      args,
      SCHEDULER_LINE,
      this.#options.logs === true,
    );
    this.#scheduler = scheduler;
    this.schedulerAddress = await withDeadline(
      scheduler.address,
      this.#options.startTimeout ?? 60,
      () => scheduler.failure("did not print its address in time"),
    );
  }

  #spawnWorker(name = `worker-${this.#nextWorker++}`): ClusterProcess {
    const options = this.#options;
    const url = new URL("../worker/main.ts", import.meta.url).href;
    const args = ["run", "-A", "--no-config", url, this.schedulerAddress];
    args.push("--nthreads", String(options.threadsPerWorker ?? 1), "--name", name);
    args.push("--host", this.#host, "--port", "0");
    if (options.memoryLimit !== undefined) args.push("--memory-limit", String(options.memoryLimit));
    if (options.resources !== undefined) {
      const pairs = Object.entries(options.resources).map(([k, v]) => `${k}=${v}`);
      if (pairs.length > 0) args.push("--resources", pairs.join(","));
    }
    const worker = new ClusterProcess(name, args, WORKER_LINE, options.logs === true);
    if (options.restartDeadWorkers !== false) {
      void worker.child.status.then((status) => this.#workerEnded(worker, status));
    }
    return worker;
  }

  /**
   * A worker process ended. Stopped on purpose (scale, close), or never up (its start failure
   * is reported instead): nothing to do. Otherwise it starts again under the same name, after a
   * delay that grows while it keeps dying.
   */
  #workerEnded(worker: ClusterProcess, status: Deno.CommandStatus): void {
    const slot = this.#workers.indexOf(worker);
    if (slot < 0 || this.#closing !== undefined) return;
    if (!worker.started) {
      // A first start's failure is thrown by start()/scale(); a restart's has nobody to tell.
      if (this.#replacements.has(worker)) {
        console.warn(`LocalCluster: ${worker.failure("did not start again").message}`);
      }
      return;
    }
    // 0: told to stop (retired, scheduler closing, SIGTERM); the scheduler refused it
    if (status.signal === null && (status.code === 0 || status.code === REFUSED_EXIT_CODE)) return;
    const now = Date.now();
    const deaths = (this.#deaths.get(worker.label) ?? []).filter(
      (t) => now - t < CRASH_LOOP_WINDOW_MS,
    );
    deaths.push(now);
    this.#deaths.set(worker.label, deaths);
    const delay = Math.min(MAX_RESTART_DELAY_MS, FIRST_RESTART_DELAY_MS * 2 ** (deaths.length - 1));
    const why = status.signal !== null
      ? `was killed (${status.signal})`
      : `exited with code ${status.code}`;
    const tail = status.signal === null && worker.tail.length > 0
      ? `; its last output:\n  ${worker.tail.slice(-5).join("\n  ")}`
      : "";
    console.warn(
      `LocalCluster: ${worker.label} ${why}; starting it again in ${delay / 1000} s${tail}`,
    );
    const timer = setTimeout(() => {
      this.#restartTimers.delete(timer);
      if (this.#closing === undefined && this.#workers[slot] === worker) {
        const replacement = this.#spawnWorker(worker.label);
        this.#replacements.add(replacement);
        this.#workers[slot] = replacement;
      }
    }, delay);
    this.#restartTimers.add(timer);
  }

  #notUp(processes: ClusterProcess[]): Error {
    const late = processes.find((p) => !p.exited) ?? processes[0];
    return late.failure("did not print its address in time");
  }

  /** Polls the scheduler's `workers` until it lists exactly the running workers. */
  async #waitForWorkers(started: string[], shrinking: boolean, timeout: number): Promise<void> {
    if (started.length === 0 && !shrinking) return;
    const expected = new Set(await this.workerAddresses);
    const session = await SchedulerSession.open(
      this.schedulerAddress,
      `LocalCluster-${crypto.randomUUID()}`,
      { message() {}, disconnected() {}, reconnected() {}, failed() {} },
      { timeout, reconnectTimeout: 0 },
    );
    try {
      const deadline = Date.now() + timeout * 1000;
      for (let delay = 10;; delay = Math.min(delay * 2, 200)) {
        const listed = await session.request<WorkerListing[]>("workers");
        const addresses = new Set(listed.map((w) => w.address));
        const missing = [...expected].filter((a) => !addresses.has(a));
        const extra = [...addresses].filter((a) => !expected.has(a));
        if (missing.length === 0 && (!shrinking || extra.length === 0)) return;
        const dead = this.#workers.find((w) => w.exited);
        if (dead !== undefined) throw dead.failure("exited");
        if (Date.now() > deadline) {
          throw new Error(
            `The scheduler at ${this.schedulerAddress} did not see the workers ` +
              `${missing.join(", ")} register within ${timeout} s.`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    } finally {
      await session.close(new Error("done"));
    }
  }
}

/** `promise`, or the error `onTimeout` makes once `seconds` pass. */
function withDeadline<T>(promise: Promise<T>, seconds: number, onTimeout: () => Error): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
