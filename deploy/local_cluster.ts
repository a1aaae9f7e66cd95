/**
 * `LocalCluster`: a scheduler and worker processes on this machine, as Dask's
 * `LocalCluster(n_workers, threads_per_worker)`.
 *
 * The processes run this repository's own command lines (`scheduler/main.ts`,
 * `worker/main.ts`) with the running Deno (`Deno.execPath()`), addressed relative to this
 * module's URL, so a cluster starts the same whether `mod.ts` was imported from a file or from
 * a web server. Each process prints its address on one line, which is read here; the cluster
 * is ready once the scheduler counts every worker. Closing stops them all, and so does the
 * end of the script: its processes do not keep this one alive, a cluster left open is closed
 * when the script ends (core/at_exit.ts, as Dask's atexit), and an `unload` listener kills what
 * still runs when the process exits otherwise (`Deno.exit()`). Scaling, adaptive
 * scaling and logs are the shared cluster manager's (deploy/cluster.ts).
 *
 * @module
 */

import {
  ClusterManager,
  type ClusterWorker,
  keepLine,
  SCHEDULER_LINE,
  WORKER_LINE,
  type WorkerShape,
} from "./cluster.ts";
import { ManagedProcess, withDeadline } from "./process.ts";
import { closeAtExit } from "../core/at_exit.ts";
import { TASK_FAILURE_LINE } from "../worker/task_failure_lines.ts";
import { checkOptionNames, optionNames } from "../core/option_names.ts";
import { RestartPolicy } from "./restart_policy.ts";
import { watchMemory } from "./memory_watch.ts";
import {
  dashboardFlags,
  tlsFlags,
  tokenEnvironment,
  WORKER_DENO_FLAGS,
  workerFlags,
} from "./worker_flags.ts";
import { parseMemoryLimit } from "../worker/memory_limit.ts";
import { checkAuthToken } from "../net/auth.ts";
import { STOP_WITH_STDIN_ENV, SUPERVISED_ENV } from "../protocol/exit_codes.ts";
import { newAuthToken } from "../net/security_options.ts";
import type { Security } from "../net/tls.ts";
import { makeTemporaryCertificates, type TemporaryCertificates } from "./temporary_certificates.ts";
import {
  checkTaskPermissions,
  type TaskGrants,
  type TaskPermissions,
} from "../core/task_permissions.ts";

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
  /**
   * Keep the scheduler's journal in this directory (`--journal-dir`): clients' futures, the graph
   * of unfinished tasks and published datasets survive a restart of the scheduler. Off unless
   * given.
   */
  journalDir?: string;
  /**
   * Serve the scheduler's dashboard: true (default: any free port), a port, or false. As
   * Dask's, a local cluster serves it unless told not to.
   */
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
  /**
   * The cluster's shared secret, which every process proves on every link (docs/security.md).
   * Default: a fresh random token, given to the processes in their environment and to clients
   * of this process that connect to this cluster. `false`: no authentication.
   */
  authToken?: string | false;
  /**
   * TLS on every link (docs/security.md): `true` makes a temporary CA and a certificate for this
   * machine (with the `openssl` command), deleted when the cluster closes; a {@link Security}
   * uses your files (the certificate must name the host the processes listen on). The scheduler
   * is then at a `tls://` address and its dashboard is served over HTTPS. Default false.
   */
  security?: boolean | Security;
  /**
   * What tasks (and `client.run` functions) may do, beyond reading this package's code: grants
   * as Deno's permission options (`{ read: ["/data"], net: ["db:5432"], env: true }`), or
   * `"all"` for the worker processes' own permissions. Default: read and write of the current
   * directory and the temporary folder, and `ffi` (dataframe tasks) when this process may use FFI itself
   * (docs/security.md).
   */
  taskPermissions?: TaskPermissions;
  /**
   * Milliseconds between samples of the task threads' call stacks (`client.profile`, the
   * dashboard's Profile page and call stacks), as Dask's `distributed.worker.profile.interval`;
   * 0 turns sampling off. Default 10.
   */
  profileInterval?: number;
}

/**
 * What a local cluster's tasks may do unless told: read and write the current directory and the
 * temporary folder (a local user's data, outputs and scratch files), and load native code when the script that
 * starts the cluster may (it then already trusts native code, as dataframe scripts do).
 */
export function defaultLocalTaskPermissions(): TaskGrants {
  const read = [Deno.cwd()];
  if (Deno.build.os !== "windows") {
    let tmp: string | undefined;
    try {
      tmp = Deno.env.get("TMPDIR");
    } catch {
      // no env permission: the usual place
    }
    read.push(tmp === undefined || tmp === "" ? "/tmp" : tmp);
  }
  const ffi = Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  // a local script's outputs (toCsv, toTextFiles) land in its own folders
  const write = [...read];
  return ffi ? { read, write, ffi: true } : { read, write };
}

/** Every option name of {@link LocalClusterOptions}, for checking options at run time. */
export const LOCAL_CLUSTER_OPTION_NAMES = optionNames<LocalClusterOptions>({
  nWorkers: true,
  threadsPerWorker: true,
  memoryLimit: true,
  resources: true,
  host: true,
  schedulerPort: true,
  journalDir: true,
  dashboard: true,
  startTimeout: true,
  logs: true,
  restartDeadWorkers: true,
  authToken: true,
  security: true,
  taskPermissions: true,
  profileInterval: true,
});

/** Clusters not closed yet: killed when this process ends. */
const running = new Set<LocalCluster>();
let unloadListening = false;

function killRunning(): void {
  for (const cluster of running) cluster.kill();
}

/**
 * How a cluster's scheduler and workers are started so that they stop when this process ends
 * however it ends (net/parent_pipe.ts): an `unload` listener misses an uncaught error (Deno
 * 2.9 dispatches no `unload` then) and SIGKILL.
 */
function stopsWithThisProcess(
  env: Record<string, string>,
): { env: Record<string, string>; stdin: "piped" } {
  return { env: { ...env, [STOP_WITH_STDIN_ENV]: "1" }, stdin: "piped" };
}

/**
 * One worker of a LocalCluster: its process, started again under its name when it dies on its
 * own (as Dask's nanny does; deploy/restart_policy.ts says when and how soon).
 */
class LocalWorker implements ClusterWorker {
  process: ManagedProcess;
  readonly #lines: string[] = [];
  #closed = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Started again after dying (its own start failures are only logged). */
  #replacement = false;
  /** It died and starts again after a delay. */
  #restarting = false;

  constructor(
    readonly name: string,
    readonly args: string[],
    readonly env: Record<string, string>,
    readonly echo: boolean,
    readonly policy: RestartPolicy | undefined,
    readonly memoryLimit: number,
  ) {
    this.process = this.#spawn();
  }

  #spawn(): ManagedProcess {
    const process = new ManagedProcess(this.name, {
      args: this.args,
      ...stopsWithThisProcess(this.env),
      holdProcess: false,
      addressPattern: WORKER_LINE,
      onLine: (label, line) => {
        keepLine(this.#lines, line);
        // failing tasks are news for the user even without logs: true (their terminal is ours)
        if (this.echo || TASK_FAILURE_LINE.test(line)) console.error(`[${label}] ${line}`);
      },
    });
    if (this.policy !== undefined) void process.status.then((s) => this.#ended(process, s));
    watchMemory(process, this.memoryLimit, (line) => console.warn(`LocalCluster: ${line}`), false);
    return process;
  }

  /** Its process ended: start it again unless it was stopped, refused, or never up. */
  #ended(process: ManagedProcess, status: Deno.CommandStatus): void {
    if (this.#closed || this.process !== process) return;
    if (!process.started) {
      // A first start's failure is thrown by start()/scale(); a restart's has nobody to tell.
      if (this.#replacement) {
        console.warn(`LocalCluster: ${process.failure("did not start again").message}`);
      }
      return;
    }
    const decision = this.policy!.ended(this.name, status, Date.now());
    if (!decision.restart) return;
    this.#restarting = true;
    const tail = status.signal === null && process.tail.length > 0
      ? `; its last output:\n  ${process.tail.slice(-5).join("\n  ")}`
      : "";
    console.warn(
      `LocalCluster: ${this.name} ${decision.why}; starting it again in ` +
        `${decision.delayMs / 1000} s${tail}`,
    );
    this.#timer = setTimeout(() => {
      this.#restarting = false;
      if (this.#closed || this.process !== process) return;
      this.#replacement = true;
      this.process = this.#spawn();
    }, decision.delayMs);
    Deno.unrefTimer(this.#timer); // a script that ended needs no worker started again
  }

  failure(): Error | undefined {
    if (!this.process.exited || this.#restarting) return undefined;
    return this.process.failure(this.process.started ? "exited" : "exited before it registered");
  }

  logs(): string[] {
    return [...this.#lines];
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#timer);
    await this.process.stop();
  }

  kill(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.process.signal("SIGKILL");
  }
}

/**
 * A scheduler and workers in child processes of this one.
 *
 * @example
 * ```ts
 * import { Client, LocalCluster } from "./mod.ts";
 *
 * await using cluster = await LocalCluster.start({ nWorkers: 2, threadsPerWorker: 1 });
 * await using client = await Client.connect(cluster);
 * console.log(await client.submit((x: number) => x + 1, 1)); // 2
 * cluster.adapt({ minimum: 1, maximum: 4 }); // from now on, grows and shrinks with the load
 * ```
 */
export class LocalCluster extends ClusterManager {
  readonly #options: LocalClusterOptions;
  readonly #host: string;
  readonly #policy: RestartPolicy | undefined;
  #scheduler: ManagedProcess | undefined;
  /** Certificates made for this cluster (`security: true`), deleted when it closes. */
  readonly #certificates: TemporaryCertificates | undefined;
  #forgetAtExit: (() => void) | undefined;

  private constructor(options: LocalClusterOptions, certificates?: TemporaryCertificates) {
    const authToken = options.authToken === false ? undefined : options.authToken ?? newAuthToken();
    if (authToken !== undefined) checkAuthToken(authToken);
    const security = certificates?.security ??
      (typeof options.security === "object" ? options.security : undefined);
    super({ startTimeout: options.startTimeout, authToken, security });
    this.#certificates = certificates;
    this.#options = {
      ...options,
      taskPermissions: options.taskPermissions === undefined
        ? defaultLocalTaskPermissions()
        : checkTaskPermissions(options.taskPermissions, "taskPermissions"),
    };
    this.#host = options.host ?? "127.0.0.1";
    this.#policy = options.restartDeadWorkers === false ? undefined : new RestartPolicy();
  }

  /**
   * The token of a cluster of this process whose scheduler is at `schedulerAddress`, if one runs
   * there (so `Client.connect(cluster.schedulerAddress)` needs no token of its own).
   */
  static authTokenFor(schedulerAddress: string): string | undefined {
    return LocalCluster.#runningAt(schedulerAddress)?.authToken;
  }

  /** The TLS files of a cluster of this process whose scheduler is at `schedulerAddress`. */
  static securityFor(schedulerAddress: string): Security | undefined {
    return LocalCluster.#runningAt(schedulerAddress)?.security;
  }

  static #runningAt(schedulerAddress: string): LocalCluster | undefined {
    for (const cluster of running) {
      if (cluster.schedulerAddress === schedulerAddress) return cluster;
    }
    return undefined;
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
    if (
      options.security !== undefined && typeof options.security !== "boolean" &&
      (typeof options.security !== "object" || options.security === null)
    ) {
      throw new TypeError(
        "security must be true (temporary certificates), false, or { caFile, cert, key }.",
      );
    }
    const certificates = options.security === true
      ? await makeTemporaryCertificates(options.host === undefined ? [] : [options.host])
      : undefined;
    const cluster = new LocalCluster(options, certificates);
    running.add(cluster);
    cluster.#forgetAtExit = closeAtExit("clusters", () => cluster.close());
    if (!unloadListening) {
      unloadListening = true;
      globalThis.addEventListener("unload", killRunning);
    }
    await cluster.launch(() => cluster.#startScheduler(), nWorkers);
    return cluster;
  }

  /** Threads and memory limit of each worker. */
  get workerShape(): WorkerShape {
    const threads = this.#options.threadsPerWorker ?? 1;
    const limit = this.#options.memoryLimit;
    const cores = Math.max(1, navigator.hardwareConcurrency || 1);
    let memory = 0;
    try {
      memory = limit === undefined || limit === "auto"
        ? parseMemoryLimit("auto", {
          nthreads: threads,
          cores,
          totalMemory: () => Deno.systemMemoryInfo().total,
        })
        : typeof limit === "number"
        ? limit
        : parseMemoryLimit(limit, { nthreads: threads, cores, totalMemory: () => 0 });
    } catch {
      memory = 0; // no permission to read the machine's memory: scale by count or cores
    }
    return { threads, memory };
  }

  /** The workers' addresses, in start order. */
  get workerAddresses(): Promise<string[]> {
    return Promise.all([...this.#localWorkers()].map((w) => w.process.address));
  }

  /** Process ids of the scheduler and the workers (for monitoring their memory, say). */
  get pids(): { scheduler: number | undefined; workers: number[] } {
    return {
      scheduler: this.#scheduler?.child.pid,
      workers: [...this.#localWorkers()].map((w) => w.process.child.pid),
    };
  }

  /** How many worker processes this cluster runs. */
  get nWorkers(): number {
    return this.workers.length;
  }

  *#localWorkers(): Iterable<LocalWorker> {
    for (const worker of this.workerHandles.values()) yield worker as LocalWorker;
  }

  /** Stops the scheduler process. */
  protected override async closeScheduler(): Promise<void> {
    await this.#scheduler?.stop();
    running.delete(this);
    await this.#certificates?.remove();
    this.#forgetAtExit?.();
  }

  /** @internal Kills every process at once (this process is ending). */
  kill(): void {
    void this.close(); // marks it closed; the kills below end the processes at once
    for (const worker of this.#localWorkers()) worker.kill();
    this.#scheduler?.signal("SIGKILL");
    this.#certificates?.removeSync(); // the process is ending: no await will run
  }

  async #startScheduler(): Promise<void> {
    const url = new URL("../scheduler/main.ts", import.meta.url).href;
    const args = ["run", "-A", "--no-config", url, "--host", this.#host];
    args.push("--port", String(this.#options.schedulerPort ?? 0));
    if (this.#options.journalDir !== undefined) {
      args.push("--journal-dir", this.#options.journalDir);
    }
    args.push(...dashboardFlags(this.#options.dashboard ?? true, 0));
    args.push(...tlsFlags(this.security));
    const scheduler = new ManagedProcess("scheduler", {
      args,
      ...stopsWithThisProcess(tokenEnvironment(this.authToken)),
      holdProcess: false,
      addressPattern: SCHEDULER_LINE,
      onLine: (label, line) => {
        this.schedulerLine(line);
        if (this.#options.logs === true) console.error(`[${label}] ${line}`);
      },
    });
    this.#scheduler = scheduler;
    this.schedulerAddress = await withDeadline(
      scheduler.address,
      this.#options.startTimeout ?? 60,
      () => scheduler.failure("did not print its address in time"),
    );
  }

  /** Starts `worker/main.ts` in a child process (started again when it dies on its own). */
  protected override startWorker(name: string): ClusterWorker {
    const options = this.#options;
    const url = new URL("../worker/main.ts", import.meta.url).href;
    const args = ["run", "-A", ...WORKER_DENO_FLAGS, "--no-config", url, this.schedulerAddress];
    // this cluster supervises its workers itself: no nanny in between
    args.push("--name", name, "--host", this.#host, "--port", "0", "--no-nanny");
    args.push(...workerFlags({ ...options, nthreads: options.threadsPerWorker }));
    args.push(...tlsFlags(this.security));
    const env = tokenEnvironment(this.authToken);
    // restarted when it ends: it may end itself to be replaced (protocol/exit_codes.ts)
    if (this.#policy !== undefined) env[SUPERVISED_ENV] = "1";
    return new LocalWorker(
      name,
      args,
      env,
      options.logs === true,
      this.#policy,
      this.workerShape.memory,
    );
  }
}
