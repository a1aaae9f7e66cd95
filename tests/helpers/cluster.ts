/**
 * Starts a real scheduler and real worker processes on 127.0.0.1 (random ports) for integration
 * tests, reads the addresses they print, and always stops them:
 *
 * ```ts
 * await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
 * ```
 *
 * Processes get SIGTERM on dispose, and SIGKILL if they linger; their output is kept so a
 * failing test can show it (`cluster.logs()`).
 */

const SCHEDULER_MAIN = new URL("../../scheduler/main.ts", import.meta.url).pathname;
const WORKER_MAIN = new URL("../../worker/main.ts", import.meta.url).pathname;
const REPO = new URL("../../", import.meta.url).pathname;

/** A child process whose output lines are collected and can be waited for. */
export class ManagedProcess {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #waiters = new Set<() => void>();
  readonly #pumps: Promise<void>[];
  #status: Deno.CommandStatus | null = null;
  readonly status: Promise<Deno.CommandStatus>;

  constructor(
    readonly label: string,
    args: string[],
    options: { stdin?: "null" | "piped"; program?: string; env?: Record<string, string> } = {},
  ) {
    this.child = new Deno.Command(options.program ?? Deno.execPath(), {
      args,
      env: options.env,
      cwd: REPO,
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#pumps = [this.#pump(this.child.stdout), this.#pump(this.child.stderr)];
    this.status = this.child.status.then(async (status) => {
      await Promise.all(this.#pumps);
      this.#status = status;
      this.#wake();
      return status;
    });
  }

  get pid(): number {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.#status !== null;
  }

  async #pump(stream: ReadableStream<Uint8Array>): Promise<void> {
    let partial = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      const parts = (partial + text).split("\n");
      partial = parts.pop()!;
      for (const line of parts) this.lines.push(line);
      this.#wake();
    }
    if (partial !== "") this.lines.push(partial);
    this.#wake();
  }

  #wake(): void {
    for (const wake of this.#waiters) wake();
  }

  /** Waits for an output line matching `pattern` (from the start of the output). */
  async waitForLine(pattern: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    let seen = 0;
    for (;;) {
      for (; seen < this.lines.length; seen++) {
        const match = this.lines[seen].match(pattern);
        if (match !== null) return match;
      }
      if (this.exited) {
        throw new Error(`${this.label} exited before printing ${pattern}:\n${this.output()}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `${this.label} did not print ${pattern} in ${timeoutMs} ms:\n${this.output()}`,
        );
      }
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#waiters.delete(done);
          resolve();
        };
        const timer = setTimeout(done, left);
        this.#waiters.add(done);
      });
    }
  }

  output(): string {
    return this.lines.map((line) => `  ${this.label}| ${line}`).join("\n");
  }

  kill(signal: Deno.Signal = "SIGTERM"): void {
    if (this.exited) return;
    try {
      this.child.kill(signal);
    } catch {
      // already gone
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit status. */
  async stop(graceMs = 3000): Promise<Deno.CommandStatus> {
    this.kill("SIGTERM");
    const timer = setTimeout(() => this.kill("SIGKILL"), graceMs);
    try {
      return await this.status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Starts `deno run -A scheduler/main.ts` on a random loopback port; resolves with its address. */
export async function startScheduler(
  extraArgs: string[] = [],
  options: { dashboard?: boolean; timeoutMs?: number } = {},
): Promise<{ process: ManagedProcess; address: string; dashboardUrl?: string }> {
  const process = new ManagedProcess("scheduler", [
    "run",
    "-A",
    SCHEDULER_MAIN,
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    ...(options.dashboard ? ["--dashboard-port", "0"] : ["--no-dashboard"]),
    ...extraArgs,
  ]);
  try {
    const [, address] = await process.waitForLine(
      /^Scheduler at ((?:tcp|tls):\/\/\S+)$/,
      options.timeoutMs,
    );
    if (!options.dashboard) return { process, address };
    const [, dashboardUrl] = await process.waitForLine(/^Dashboard at (http:\/\/\S+)$/);
    return { process, address, dashboardUrl };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/** A worker process and what it printed about itself. */
export interface WorkerProcess {
  process: ManagedProcess;
  address: string;
  name: string;
}

/**
 * Test workers' tasks may read and write the temporary folder (tests hand tasks temp files) and
 * read the current directory, as a LocalCluster's tasks may; a test that gives `--task-*` flags
 * of its own, or `taskGrants: false`, gets exactly those.
 */
function testTaskGrants(args: readonly string[]): string[] {
  if (args.some((a) => a.startsWith("--task-"))) return [];
  const tmp = Deno.env.get("TMPDIR") || "/tmp";
  return [`--task-allow-read=${tmp},${Deno.cwd()}`, `--task-allow-write=${tmp}`];
}

/**
 * Starts `deno run -A worker/main.ts <scheduler> --no-nanny` (the worker is this process: tests
 * kill, stop and measure it); resolves once it printed its address and, unless `registered` is
 * false, registered with the scheduler. `nanny: true` starts it under its nanny instead (the
 * command's default): `process` is then the nanny's.
 */
export async function startWorker(
  scheduler: string,
  options: {
    name: string;
    nthreads?: number;
    args?: string[];
    registered?: boolean;
    /** Default true: see {@link testTaskGrants}. */
    taskGrants?: boolean;
    /** Default false: `--no-nanny`. */
    nanny?: boolean;
    /** The process's environment, besides this one's. */
    env?: Record<string, string>;
  },
): Promise<WorkerProcess> {
  const process = new ManagedProcess(options.name, [
    "run",
    "-A",
    "--unstable-worker-options",
    WORKER_MAIN,
    scheduler,
    "--nthreads",
    String(options.nthreads ?? 1),
    "--name",
    options.name,
    "--memory-limit",
    "1GB",
    ...(options.args ?? []),
    ...(options.taskGrants === false ? [] : testTaskGrants(options.args ?? [])),
    ...(options.nanny === true ? [] : ["--no-nanny"]),
  ], { env: options.env });
  try {
    const [, address] = await process.waitForLine(
      /^Worker at ((?:tcp|tls):\/\/\S+) \(\d+ threads?, memory limit [^)]+\), scheduler \S+$/,
    );
    if (options.registered !== false) {
      await process.waitForLine(/registered with the scheduler/);
    }
    return { process, address, name: options.name };
  } catch (error) {
    await process.stop();
    throw error;
  }
}

/** A running cluster; disposing it stops every process. */
export interface Cluster extends AsyncDisposable {
  scheduler: ManagedProcess;
  schedulerAddress: string;
  workers: WorkerProcess[];
  /** Everything the processes printed, for assertion messages. */
  logs(): string;
  stop(): Promise<void>;
}

/** Starts a scheduler and `nWorkers` workers named `w0`, `w1`, ... */
export async function startCluster(
  options: { nWorkers: number; nthreads?: number; workerArgs?: string[]; schedulerArgs?: string[] },
): Promise<Cluster> {
  const { process: scheduler, address } = await startScheduler(options.schedulerArgs);
  const workers: WorkerProcess[] = [];
  const stop = async () => {
    await Promise.all(workers.map((w) => w.process.stop()));
    await scheduler.stop();
  };
  try {
    const started = await Promise.allSettled(
      Array.from({ length: options.nWorkers }, (_, i) =>
        startWorker(address, {
          name: `w${i}`,
          nthreads: options.nthreads,
          args: options.workerArgs,
        })),
    );
    for (const outcome of started) if (outcome.status === "fulfilled") workers.push(outcome.value);
    const failed = started.find((o) => o.status === "rejected");
    if (failed !== undefined) throw (failed as PromiseRejectedResult).reason;
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    scheduler,
    schedulerAddress: address,
    workers,
    logs: () => [scheduler, ...workers.map((w) => w.process)].map((p) => p.output()).join("\n"),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

/** A port that was free a moment ago (for a process that must be started on a known port). */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Paths of the CLIs, for tests that start processes with their own flags. */
export const CLI = { scheduler: SCHEDULER_MAIN, worker: WORKER_MAIN, repo: REPO };
