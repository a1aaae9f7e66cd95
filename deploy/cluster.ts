/**
 * What every cluster manager shares (`LocalCluster`, `SSHCluster`, `SlurmCluster`, …), as Dask's
 * `SpecCluster`: a scheduler somewhere, worker processes (or batch jobs) it starts and stops by
 * name, `scale(n | { cores | memory })`, `adapt(...)`, `workers`, `logs()`, `dashboardLink`,
 * `close()` and `await using`. A backend says only how to start a worker and what one brings.
 *
 * Workers leave through the scheduler's `retire-workers` (no new tasks; the data only they hold
 * is copied to the others) before their process or job is stopped, so scaling down loses nothing.
 *
 * @module
 */

import type { WorkerListing } from "../protocol/session.ts";
import { SchedulerSession } from "../client/scheduler_connection.ts";
import { Adaptive, type AdaptOptions } from "./adaptive.ts";
import { parseMemoryLimit } from "../worker/memory_limit.ts";
import { loadSecurity, type Security } from "../net/tls.ts";

/** One worker process (or batch job holding one) that a cluster manager started. */
export interface ClusterWorker {
  /** The worker's name at the scheduler (unique in its cluster). */
  readonly name: string;
  /** Why it cannot register any more (it exited before, its job failed); else undefined. */
  failure(): Error | undefined;
  /** Its output lines kept so far (the last ones). */
  logs(): string[];
  /** Stops the process or cancels the job; resolves once it is gone. */
  close(): Promise<void>;
}

/** How many workers {@link ClusterManager.scale} asks for: a count, or the cores or memory. */
export type ScaleTarget = number | { cores?: number; memory?: number | string };

/** What one worker brings, for `scale({ cores })`, `scale({ memory })` and adaptive targets. */
export interface WorkerShape {
  /** Threads per worker. */
  threads: number;
  /** Bytes of memory limit per worker; 0 for none. */
  memory: number;
}

/** Options every cluster manager takes. */
export interface ClusterManagerOptions {
  /** Seconds to wait for the scheduler and for workers to register. Default 60. */
  startTimeout?: number;
  /** The cluster's shared token, which this manager's own session proves (docs/security.md). */
  authToken?: string;
  /** The cluster's TLS files (docs/security.md), for a `tls://` scheduler. */
  security?: Security;
}

/** Processes' log lines kept per process for {@link ClusterManager.logs}. */
export const KEPT_LOG_LINES = 1000;

/** The line a scheduler prints once listening (group 1: its address), and a worker's. */
export const SCHEDULER_LINE = /^Scheduler at ((?:tcp|tls):\/\/\S+)/;
export const WORKER_LINE = /^Worker at ((?:tcp|tls):\/\/\S+)/;
const DASHBOARD_LINE = /^Dashboard at (http\S+)/;

/** Appends a log line to a list that keeps the last {@link KEPT_LOG_LINES}. */
export function keepLine(lines: string[], line: string): void {
  lines.push(line);
  if (lines.length > KEPT_LOG_LINES) lines.shift();
}

/**
 * The shared machinery. Subclasses start the scheduler, set `schedulerAddress` (and
 * `dashboardLink`), then call {@link ClusterManager.scale}.
 *
 * @example
 * ```ts
 * import { Client, type ClusterManager, LocalCluster } from "./mod.ts";
 *
 * async function run(cluster: ClusterManager) {
 *   await cluster.scale(2); // or { cores: 8 }, { memory: "16GB" }
 *   await using client = await Client.connect(cluster);
 *   console.log(cluster.workers, cluster.dashboardLink, cluster.logs().scheduler.length);
 * }
 * await using cluster = await LocalCluster.start({ nWorkers: 0 });
 * await run(cluster);
 * ```
 */
export abstract class ClusterManager implements AsyncDisposable {
  /** The scheduler's address, `tcp://host:port` or `tls://…` (empty until it is up). */
  schedulerAddress = "";
  /** The scheduler's dashboard, when it serves one. */
  dashboardLink: string | undefined = undefined;
  /** The token every process and client of this cluster proves; undefined when it has none. */
  readonly authToken: string | undefined;
  /** The TLS files its processes and clients use; undefined for plain TCP. */
  readonly security: Security | undefined;
  readonly #workers = new Map<string, ClusterWorker>();
  readonly #timeout: number;
  #nextWorker = 0;
  #session: SchedulerSession | undefined;
  #adaptive: Adaptive | undefined;
  #closing: Promise<void> | undefined;
  /** Serialises scaling: scale(), adapt's decisions and close() never interleave. */
  #scaling: Promise<unknown> = Promise.resolve();

  /** Sets the options every backend shares. */
  constructor(options: ClusterManagerOptions = {}) {
    this.#timeout = options.startTimeout ?? 60;
    this.authToken = options.authToken;
    this.security = options.security;
  }

  /** What one worker brings. */
  abstract get workerShape(): WorkerShape;
  /** Starts a worker (a process, a job) named `name`; it registers with the scheduler itself. */
  protected abstract startWorker(name: string): ClusterWorker;
  /** Stops the scheduler, once every worker is stopped. */
  protected abstract closeScheduler(): Promise<void>;
  readonly #schedulerLines: string[] = [];

  /** A line the scheduler printed: kept for `logs()`, and its dashboard's address noted. */
  protected schedulerLine(line: string): void {
    keepLine(this.#schedulerLines, line);
    const link = DASHBOARD_LINE.exec(line);
    if (link !== null) this.dashboardLink = link[1];
  }

  /**
   * Brings a new cluster up: `start` (its scheduler, …), then `nWorkers` workers when given. When
   * either fails, whatever was started is stopped and the error goes on to the caller.
   */
  protected async launch(start: () => Promise<void>, nWorkers?: number): Promise<void> {
    try {
      await start();
      if (nWorkers !== undefined) await this.scale(nWorkers);
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** The prefix of worker names (`<prefix>-0`, `<prefix>-1`, …). */
  protected get workerPrefix(): string {
    return "worker";
  }

  /** Names of the workers this manager runs (started, registered or not yet). */
  get workers(): string[] {
    return [...this.#workers.keys()];
  }

  /** @internal The worker handles, by name. */
  protected get workerHandles(): ReadonlyMap<string, ClusterWorker> {
    return this.#workers;
  }

  /** Each process's kept output lines: `scheduler`, then every worker by name. */
  logs(): Record<string, string[]> {
    const out: Record<string, string[]> = { scheduler: [...this.#schedulerLines] };
    for (const [name, worker] of this.#workers) out[name] = worker.logs();
    return out;
  }

  /** The number of workers a target means, given what one worker brings. */
  workersFor(target: ScaleTarget): number {
    if (typeof target === "number") {
      if (!Number.isInteger(target) || target < 0) {
        throw new TypeError(`scale(n) takes a whole number of workers ≥ 0, got ${target}`);
      }
      return target;
    }
    const shape = this.workerShape;
    if (target.cores !== undefined) {
      if (!(target.cores >= 0)) throw new TypeError(`scale({ cores }) takes cores ≥ 0`);
      return Math.ceil(target.cores / shape.threads);
    }
    if (target.memory !== undefined) {
      const bytes = typeof target.memory === "number"
        ? target.memory
        : parseMemoryLimit(target.memory, { nthreads: 1, cores: 1, totalMemory: () => 0 });
      if (shape.memory <= 0) {
        throw new TypeError(
          "scale({ memory }) needs workers with a memory limit; this cluster's have none " +
            "(give memoryLimit when creating it, or scale by count or cores)",
        );
      }
      return Math.ceil(bytes / shape.memory);
    }
    throw new TypeError("scale() takes a number of workers, { cores } or { memory }");
  }

  /**
   * Starts or retires workers until `target` run (a count, or enough for `{ cores }` or
   * `{ memory }`), then waits until the scheduler counts exactly them. Workers leaving are the
   * newest; their data moves to the others first (when no other worker remains, it is recomputed
   * from the graph if needed again). Stops adaptive scaling (as Dask does).
   */
  async scale(target: ScaleTarget): Promise<void> {
    const n = this.workersFor(target);
    this.#adaptive?.stop();
    this.#adaptive = undefined;
    await this.#serially(async () => {
      const names = this.workers;
      if (n < names.length) await this.retire(names.slice(n));
      else this.requestWorkers(n);
    });
    await this.waitForWorkers();
  }

  /**
   * Scales with the load from now on, as Dask's `cluster.adapt(...)`: every `interval` the
   * scheduler says how many workers would finish the known work in `targetDuration` and which
   * idle ones can go; workers start at once, and leave once recommended `waitCount` times in a
   * row (so the cluster does not flap). `scale()` or another `adapt()` replaces it.
   */
  adapt(options: AdaptOptions = {}): Adaptive {
    this.#checkOpen();
    this.#adaptive?.stop();
    this.#adaptive = new Adaptive({
      request: (method, params) => this.request(method, params),
      workers: () => this.workers,
      threadsPerWorker: this.workerShape.threads,
      scaleUp: (n) => this.#serially(() => Promise.resolve(this.requestWorkers(n))),
      scaleDown: (names) => this.#serially(() => this.retire(names)),
      log: (line) => console.error(`[adaptive] ${line}`),
    }, options);
    return this.#adaptive;
  }

  /** The adaptive controller running now, if any. */
  get adaptive(): Adaptive | undefined {
    return this.#adaptive;
  }

  #serially<T>(work: () => Promise<T>): Promise<T> {
    const next = this.#scaling.then(work, work);
    this.#scaling = next.catch(() => {});
    return next;
  }

  /** Starts workers (without waiting for them) until `n` are running or starting. */
  protected requestWorkers(n: number): void {
    this.#checkOpen();
    while (this.#workers.size < n) {
      const name = `${this.workerPrefix}-${this.#nextWorker++}`;
      this.#workers.set(name, this.startWorker(name));
    }
  }

  /**
   * Retires these workers through the scheduler (their unique data moves to the others), then
   * stops their processes. A worker not registered (still starting) is just stopped.
   */
  protected async retire(names: string[]): Promise<void> {
    const leaving = names.map((n) => this.#workers.get(n)).filter((w) => w !== undefined);
    if (leaving.length === 0) return;
    const registered = new Set(
      (await this.request<WorkerListing[]>("workers")).map((w) => w.name),
    );
    const known = leaving.filter((w) => registered.has(w.name)).map((w) => w.name);
    if (known.length > 0) {
      try {
        await this.request("retire-workers", { workers: known, timeout: this.#timeout });
      } catch (error) {
        // Their data can go nowhere (scaling to zero): they stop anyway, as Dask's scale does;
        // whatever is still needed is recomputed from the graph.
        console.error(`[cluster] stopping ${known.join(", ")}: ${(error as Error).message}`);
      }
    }
    for (const worker of leaving) this.#workers.delete(worker.name);
    await Promise.all(leaving.map((w) => w.close()));
  }

  /** A request to the scheduler over this manager's own session. */
  async request<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.schedulerAddress === "") {
      throw new Error("This cluster has no scheduler yet: create it with its start() method.");
    }
    if (this.#session === undefined || this.#session.closedError !== null) {
      this.#session = await SchedulerSession.open(
        this.schedulerAddress,
        `ClusterManager-${crypto.randomUUID()}`,
        { message() {}, disconnected() {}, reconnected() {}, failed() {} },
        {
          timeout: this.#timeout,
          reconnectTimeout: 5,
          authToken: this.authToken,
          tls: await loadSecurity(this.security),
        },
      );
    }
    return await this.#session.request<T>(method, params);
  }

  /** Polls the scheduler until exactly this manager's workers are registered. */
  protected async waitForWorkers(): Promise<void> {
    const deadline = Date.now() + this.#timeout * 1000;
    for (let delay = 10;; delay = Math.min(delay * 2, 200)) {
      const expected = new Set(this.#workers.keys());
      const listed = new Set((await this.request<WorkerListing[]>("workers")).map((w) => w.name));
      const missing = [...expected].filter((n) => !listed.has(n));
      const extra = [...listed].filter((n) => !expected.has(n) && this.#isOurs(n));
      if (missing.length === 0 && extra.length === 0) return;
      for (const name of missing) {
        const failure = this.#workers.get(name)?.failure();
        if (failure !== undefined) throw failure;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `The scheduler at ${this.schedulerAddress} did not see the workers ` +
            `${missing.join(", ")} register within ${this.#timeout} s` +
            (extra.length > 0 ? ` (and still lists ${extra.join(", ")})` : "") +
            `. Their logs: cluster.logs().`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
    }
  }

  #isOurs(name: string): boolean {
    return name.startsWith(`${this.workerPrefix}-`);
  }

  #checkOpen(): void {
    if (this.#closing !== undefined) {
      throw new Error("This cluster is closed; start a new one.");
    }
  }

  /** True once close() was called. */
  protected get closing(): boolean {
    return this.#closing !== undefined;
  }

  /** Stops adaptive scaling, every worker, then the scheduler. Safe to call twice. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      this.#adaptive?.stop();
      await this.#adaptive?.idle;
      await this.#scaling;
      const workers = [...this.#workers.values()];
      this.#workers.clear();
      await Promise.all(workers.map((w) => w.close()));
      await this.#session?.close(new Error("the cluster closed"));
      await this.closeScheduler();
    })();
    return this.#closing;
  }

  /** `await using cluster = ...` closes it at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
