/**
 * Clusters on batch job schedulers, in the style of dask-jobqueue: the scheduler runs here (a
 * child process of this one), and each worker is a batch job whose script runs `worker/main.ts`
 * with the job's cores as `--nthreads` and its memory as `--memory-limit`. `scale` and `adapt`
 * submit and cancel jobs; `jobScript()` shows the script a job gets.
 *
 * A backend (Slurm, PBS, SGE) gives its directive lines and its three commands: submit (the
 * script on standard input, printing the job id), cancel, and list (which of the given jobs are
 * still queued or running). Job output goes to `logDirectory` (which must be a folder the compute
 * nodes share with this machine for `logs()` to read it).
 *
 * @module
 */

import { ClusterManager, type ClusterWorker, SCHEDULER_LINE, type WorkerShape } from "./cluster.ts";
import { ManagedProcess, withDeadline } from "./process.ts";
import { shellCommand } from "./shell.ts";
import {
  dashboardFlags,
  tlsFlags,
  tokenEnvironment,
  WORKER_DENO_FLAGS,
  workerFlags,
} from "./worker_flags.ts";
import { parseMemoryLimit } from "../worker/memory_limit.ts";
import { checkAuthToken } from "../net/auth.ts";
import { AUTH_TOKEN_ENV, newAuthToken } from "../net/security_options.ts";
import { loadSecurity, type Security } from "../net/tls.ts";

/** Options every job-queue cluster takes (dask-jobqueue's names, in camelCase). */
export interface JobQueueClusterOptions {
  /** Cores per job: the worker's `--nthreads`. Default 1. */
  cores?: number;
  /** Memory per job (`"4GB"`, `"512MiB"`, bytes): the job's request and the worker's limit. */
  memory: string | number;
  /** The queue (Slurm partition, PBS/SGE queue). */
  queue?: string;
  /** The account (Slurm/PBS) or project (SGE) billed. */
  account?: string;
  /** Wall time, `HH:MM:SS`. Default `00:30:00`. */
  walltime?: string;
  /** The jobs' name. Default `dask-worker`. */
  jobName?: string;
  /** More directive lines, without their prefix: `["--exclusive"]`, `["-l gpu=1"]`. */
  jobExtraDirectives?: string[];
  /** Directives (by text they contain) left out of the script, e.g. `["--mem"]`. */
  jobDirectivesSkip?: string[];
  /** Shell lines run before the worker starts (`module load …`, `source env.sh`). */
  jobScriptPrologue?: string[];
  /** Where job output goes. Default `./dask-worker-logs` (created). */
  logDirectory?: string;
  /** More worker flags: `--resources`, `--local-directory`, `--preload`. */
  workerOptions?: {
    resources?: Record<string, number>;
    localDirectory?: string;
    preload?: string[];
  };
  /** Seconds a worker waits for the scheduler before it gives up (`--death-timeout`). Default 60. */
  deathTimeout?: number;
  /** The scheduler's interface (reachable from the compute nodes). Default: every interface. */
  schedulerHost?: string;
  /** The scheduler's port. Default 0 (any free one). */
  schedulerPort?: number;
  /** Serve the dashboard: false, true (any free port), or a port. Default true. */
  dashboard?: boolean | number;
  /** The Deno the jobs run. Default: the Deno running this (a shared install). */
  remoteDeno?: string;
  /** Where the jobs load this package from. Default: this package's own URL. */
  remoteModules?: string | URL;
  /** Environment of the submit, cancel and list commands (`SLURM_CONF`, say). */
  env?: Record<string, string>;
  /** Seconds to wait for the scheduler and for workers to register. Default 300 (queues wait). */
  startTimeout?: number;
  /** Workers to start at once. Default 0: call scale() or adapt(). */
  nWorkers?: number;
  /** Seconds between checks of the jobs' states. Default 2. */
  pollInterval?: number;
  /**
   * The cluster's shared secret (docs/security.md). Default: a fresh random token. The
   * scheduler gets it in its environment, the jobs in theirs (the submit command passes it on:
   * never in the job script), clients of this process through the cluster. `false`: none.
   */
  authToken?: string | false;
  /**
   * TLS on every link (docs/security.md): the CA, certificate and key files, at paths every
   * compute node reads too (a shared file system, as dask-jobqueue assumes); the certificate must
   * name every address the scheduler and the workers are reached at. No temporary certificates
   * (`true`): which nodes the jobs land on is not known when a certificate is made.
   */
  security?: Security;
}

/** A backend's commands, given job ids and the script. */
export interface JobCommands {
  /** Submits the script (given on standard input); its output holds the job id. */
  submit: string[];
  /** Cancels these jobs. */
  cancel: (ids: string[]) => string[];
  /** Lists which of these jobs the scheduler still has (queued or running). */
  list: (ids: string[]) => string[];
  /** Reads the job id from what `submit` printed. */
  parseJobId: (output: string) => string | undefined;
  /** Submit flags that hand this environment variable (set for `submit`) to the job. */
  exportEnv: (name: string) => string[];
  /** Reads the ids of live jobs from what `list` printed. */
  parseList: (output: string) => Set<string>;
}

/** Runs a command to the end; its standard output, or an error with its standard error. */
export async function runCommand(
  words: string[],
  options: { stdin?: string; env?: Record<string, string> } = {},
): Promise<string> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(words[0], {
      args: words.slice(1),
      stdin: options.stdin === undefined ? "null" : "piped",
      stdout: "piped",
      stderr: "piped",
      env: options.env,
    }).spawn();
  } catch (error) {
    throw new Error(
      `cannot run ${words[0]}: ${(error as Error).message} (is the batch system's client ` +
        `installed and on the PATH?)`,
    );
  }
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const out = await child.output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(
      `${shellCommand(words)} failed (exit ${out.code}): ` +
        new TextDecoder().decode(out.stderr).trim(),
    );
  }
  return text;
}

/** Bytes of a memory option. */
export function memoryBytes(memory: string | number): number {
  const bytes = typeof memory === "number"
    ? memory
    : parseMemoryLimit(memory, { nthreads: 1, cores: 1, totalMemory: () => 0 });
  if (!(bytes > 0)) throw new TypeError(`memory must be a positive size like "4GB", got ${memory}`);
  return bytes;
}

/** One job running one worker. */
class JobWorker implements ClusterWorker {
  jobId: string | undefined;
  /** Set once the job left the queue (finished, failed, cancelled). */
  gone = false;
  readonly submitted: Promise<void>;
  #submitError: Error | undefined;

  constructor(
    readonly name: string,
    readonly cluster: JobQueueCluster,
    script: string,
  ) {
    this.submitted = cluster.submit(script).then(
      (id) => void (this.jobId = id),
      (error) => void (this.#submitError = error as Error),
    );
  }

  get logFile(): string | undefined {
    return this.jobId === undefined ? undefined : this.cluster.logFile(this.name, this.jobId);
  }

  failure(): Error | undefined {
    if (this.#submitError !== undefined) return this.#submitError;
    if (!this.gone) return undefined;
    const tail = this.logs().slice(-20);
    return new Error(
      `The job ${this.jobId} (${this.name}) ended before its worker registered. ` +
        (tail.length > 0 ? `Its output:\n  ${tail.join("\n  ")}` : `It wrote nothing.`),
    );
  }

  logs(): string[] {
    const file = this.logFile;
    if (file === undefined) return [];
    try {
      return Deno.readTextFileSync(file).split("\n").filter((l) => l !== "");
    } catch {
      return [];
    }
  }

  async close(): Promise<void> {
    await this.submitted;
    if (this.jobId !== undefined && !this.gone) {
      await this.cluster.cancel([this.jobId]).catch(() => {});
      this.gone = true;
    }
  }
}

/**
 * The shared machinery of Slurm, PBS and SGE clusters.
 *
 * @example
 * ```ts
 * import { type JobQueueCluster, SlurmCluster } from "./mod.ts";
 *
 * const cluster: JobQueueCluster = await SlurmCluster.start({ cores: 4, memory: "8GB" });
 * console.log(cluster.jobScript()); // the script each job runs
 * await cluster.scale({ cores: 16 }); // four jobs
 * console.log(cluster.jobIds);
 * await cluster.close(); // cancels them
 * ```
 */
export abstract class JobQueueCluster extends ClusterManager {
  /** The options as given. */
  readonly options: JobQueueClusterOptions;
  readonly #modules: URL;
  #scheduler: ManagedProcess | undefined;
  #poller: ReturnType<typeof setInterval> | undefined;
  #polling = false;
  /** Where job output goes. */
  readonly logDirectory: string;

  /** The backend's directive lines for one job (without the shebang). */
  protected abstract directives(name: string): string[];
  /** The backend's commands. */
  protected abstract get commands(): JobCommands;

  /**
   * Checks the options and starts nothing: `jobScript()` works at once; the subclasses' static
   * `start()` starts the scheduler.
   */
  constructor(options: JobQueueClusterOptions) {
    const authToken = options.authToken === false ? undefined : options.authToken ?? newAuthToken();
    if (authToken !== undefined) checkAuthToken(authToken);
    if ((options.security as unknown) === true) {
      throw new TypeError(
        "security: true (temporary certificates) is not available for job-queue clusters: the " +
          "nodes the jobs land on are not known when the certificate is made. Pass { caFile, " +
          "cert, key } on a file system the nodes share, naming the nodes' addresses.",
      );
    }
    super({ startTimeout: options.startTimeout ?? 300, authToken, security: options.security });
    memoryBytes(options.memory);
    const cores = options.cores ?? 1;
    if (!Number.isInteger(cores) || cores < 1) {
      throw new TypeError(`cores must be a whole number ≥ 1, got ${options.cores}`);
    }
    this.options = options;
    this.#modules = new URL(options.remoteModules ?? new URL("../", import.meta.url));
    this.logDirectory = options.logDirectory ?? `${Deno.cwd()}/dask-worker-logs`;
  }

  /**
   * Starts the scheduler on this machine (and `nWorkers` jobs; `scale`/`adapt` submit more).
   *
   * @throws {Error} when the scheduler does not start, or a first job cannot be submitted.
   */
  static async start<C extends JobQueueCluster>(
    this: new (options: JobQueueClusterOptions) => C,
    options: JobQueueClusterOptions,
  ): Promise<C> {
    const cluster = new this(options);
    await cluster.startCluster();
    return cluster;
  }

  /** Starts the scheduler here, then `nWorkers` jobs (default none). */
  protected async startCluster(): Promise<void> {
    const nWorkers = this.options.nWorkers ?? 0;
    await this.launch(async () => {
      await Deno.mkdir(this.logDirectory, { recursive: true });
      await this.#startScheduler();
      this.#poller = setInterval(() => void this.#poll(), (this.options.pollInterval ?? 2) * 1000);
    }, nWorkers > 0 ? nWorkers : undefined);
  }

  /** Threads and memory of each worker (one per job). */
  get workerShape(): WorkerShape {
    return { threads: this.options.cores ?? 1, memory: memoryBytes(this.options.memory) };
  }

  /** The name of the jobs. */
  get jobName(): string {
    return this.options.jobName ?? "dask-worker";
  }

  /** Where a job's output goes. */
  logFile(name: string, jobId: string): string {
    return this.outputPattern(name).replace("%j", jobId);
  }

  /** The output file of a job's directives (`%j`: the job id, where the backend expands it). */
  protected outputPattern(name: string): string {
    return `${this.logDirectory}/${name}-%j.out`;
  }

  /** The script a job runs for worker `name` (the next one's by default). */
  jobScript(name = `${this.workerPrefix}-${this.workers.length}`): string {
    const skip = this.options.jobDirectivesSkip ?? [];
    const directives = this.directives(name).filter((line) => !skip.some((s) => line.includes(s)));
    const deno = this.options.remoteDeno ?? Deno.execPath();
    const worker = [
      deno,
      "run",
      "-A",
      ...WORKER_DENO_FLAGS,
      "--no-config",
      new URL("worker/main.ts", this.#modules).href,
      this.schedulerAddress || "tcp://SCHEDULER:8786",
      "--name",
      name,
      ...workerFlags({
        ...this.options.workerOptions,
        nthreads: this.options.cores ?? 1,
        memoryLimit: memoryBytes(this.options.memory),
      }),
      // every interface, advertising the one that reaches the scheduler (peers are elsewhere)
      "--host",
      "0.0.0.0",
      "--death-timeout",
      String(this.options.deathTimeout ?? 60),
      ...tlsFlags(this.security),
    ];
    return [
      "#!/usr/bin/env bash",
      "",
      ...directives,
      "",
      ...(this.options.jobScriptPrologue ?? []),
      `exec ${shellCommand(worker)}`,
      "",
    ].join("\n");
  }

  /** @internal Submits a script; resolves with the job id. */
  async submit(script: string): Promise<string> {
    const commands = this.commands;
    const token = this.authToken;
    // the token goes in the job's environment, handed on by the submit command, not the script
    const output = await runCommand(
      token === undefined ? commands.submit : [
        ...commands.submit,
        ...commands.exportEnv(AUTH_TOKEN_ENV),
      ],
      { stdin: script, env: { ...this.options.env, ...tokenEnvironment(token) } },
    );
    const id = commands.parseJobId(output);
    if (id === undefined) {
      throw new Error(`${commands.submit[0]} printed no job id: ${JSON.stringify(output)}`);
    }
    return id;
  }

  /** @internal Cancels jobs. */
  async cancel(ids: string[]): Promise<void> {
    if (ids.length === 0) return;
    await runCommand(this.commands.cancel(ids), { env: this.options.env });
  }

  /** Job ids of the workers, by worker name (those submitted so far). */
  get jobIds(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [name, worker] of this.workerHandles) {
      const id = (worker as JobWorker).jobId;
      if (id !== undefined) out[name] = id;
    }
    return out;
  }

  /** Marks jobs that left the queue, so a worker that will never come is reported. */
  async #poll(): Promise<void> {
    if (this.#polling) return;
    this.#polling = true;
    try {
      const jobs = [...this.workerHandles.values()] as JobWorker[];
      const ids = jobs.filter((j) => j.jobId !== undefined && !j.gone).map((j) => j.jobId!);
      if (ids.length === 0) return;
      const commands = this.commands;
      const live = commands.parseList(
        await runCommand(commands.list(ids), { env: this.options.env }),
      );
      for (const job of jobs) {
        if (job.jobId !== undefined && !live.has(job.jobId)) job.gone = true;
      }
    } catch {
      // the batch system is busy: next time
    } finally {
      this.#polling = false;
    }
  }

  /** Submits a job for worker `name`. */
  protected override startWorker(name: string): ClusterWorker {
    return new JobWorker(name, this, this.jobScript(name));
  }

  async #startScheduler(): Promise<void> {
    const url = new URL("../scheduler/main.ts", import.meta.url).href;
    const args = [
      "run",
      "-A",
      "--no-config",
      url,
      "--port",
      String(this.options.schedulerPort ?? 0),
    ];
    // Passed always: a scheduler alone listens on 127.0.0.1, which the jobs' nodes cannot reach.
    args.push("--host", this.options.schedulerHost ?? "0.0.0.0");
    args.push(...dashboardFlags(this.options.dashboard ?? true, 0));
    args.push(...tlsFlags(await this.#checkedSecurity()));
    const scheduler = new ManagedProcess("scheduler", {
      args,
      env: tokenEnvironment(this.authToken),
      addressPattern: SCHEDULER_LINE,
      onLine: (_, line) => {
        this.schedulerLine(line);
      },
    });
    this.#scheduler = scheduler;
    this.schedulerAddress = await withDeadline(
      scheduler.address,
      60,
      () => scheduler.failure("did not print its address in time"),
    );
  }

  /** The TLS files, once read here (a file that cannot be read fails the start, not a job). */
  async #checkedSecurity(): Promise<Security | undefined> {
    const tls = await loadSecurity(this.security);
    if (tls !== undefined && (tls.cert === undefined || tls.key === undefined)) {
      throw new TypeError("security needs cert and key too: the scheduler and workers listen.");
    }
    return this.security;
  }

  /** Stops polling and the scheduler (the jobs are cancelled before). */
  protected override async closeScheduler(): Promise<void> {
    clearInterval(this.#poller);
    await this.#scheduler?.stop();
  }
}
