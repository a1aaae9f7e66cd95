/**
 * The nanny: runs worker processes on this machine and keeps them running, as Dask's `Nanny`
 * does for `dask worker` (one process by default, `--nworkers N`). A worker process that was
 * killed, crashed, was terminated for memory (deploy/memory_watch.ts) or ended itself to be
 * replaced (a task thread it could not stop, protocol/exit_codes.ts) starts again under its name
 * (spaced out while it keeps dying, deploy/restart_policy.ts); one that was told to stop or
 * refused stays stopped, and once none runs the nanny ends with {@link Nanny.exitCode}. With a
 * lifetime, each worker is retired through the scheduler once it is up that long (its unique
 * data moves to other workers first, then the scheduler tells it to close) and, with
 * `lifetimeRestart`, a fresh process takes its place.
 *
 * No worker outlives its nanny: each worker's standard input is a pipe from the nanny that the
 * nanny never writes to, and a worker whose input closes (the nanny ended, even by SIGKILL)
 * stops (`STOP_WITH_STDIN_ENV`).
 *
 * The workers' output lines pass through to this process's standard output and error unchanged,
 * so tools that read `Worker at ...` lines see one per worker.
 *
 * @module
 */

import { SchedulerSession } from "../client/scheduler_connection.ts";
import type { TlsConfig } from "../net/tls.ts";
import { WORKER_LINE } from "./cluster.ts";
import { ManagedProcess } from "./process.ts";
import { RestartPolicy } from "./restart_policy.ts";
import { watchMemory } from "./memory_watch.ts";
import { REFUSED_EXIT_CODE, STOP_WITH_STDIN_ENV, SUPERVISED_ENV } from "../protocol/exit_codes.ts";

/** How the nanny runs its workers. */
export interface NannyOptions {
  /** The scheduler's address, for retiring workers whose lifetime ended. */
  scheduler: string;
  /** The cluster's token, for that session (docs/security.md). */
  authToken?: string;
  /** TLS settings, for a `tls://` scheduler. */
  tls?: TlsConfig;
  /** Worker processes to keep running. */
  nworkers: number;
  /** The arguments of `deno` that start worker `index` (permissions, module, its own flags). */
  workerArgs: (index: number) => string[];
  /** Seconds each worker lives before it is retired; undefined: no limit. */
  lifetime?: number;
  /** Lifetimes vary by a random amount up to ± this many seconds. */
  lifetimeStagger?: number;
  /** Start a fresh worker once one's lifetime ended. */
  lifetimeRestart?: boolean;
  /**
   * Each worker's memory limit in bytes: past 95 % of it the worker is terminated and replaced
   * (deploy/memory_watch.ts). 0 or absent: no limit.
   */
  memoryLimit?: number;
  /** Log lines of the nanny itself. Standard error by default. */
  log?: (line: string) => void;
  /** A worker's output lines. Passed through to this process's stdout/stderr by default. */
  onWorkerLine?: (label: string, line: string, stream: "stdout" | "stderr") => void;
}

/** Seconds a retirement (moving data away) may take before the worker is stopped anyway. */
const RETIRE_TIMEOUT_S = 60;

interface Slot {
  process: ManagedProcess;
  lifetimeTimer?: ReturnType<typeof setTimeout>;
  /** Its lifetime ended: its exit is expected. */
  retiring: boolean;
}

function passThrough(_label: string, line: string, stream: "stdout" | "stderr"): void {
  if (stream === "stdout") console.log(line);
  else console.error(line);
}

/** Supervises `nworkers` worker processes until {@link Nanny.close}. */
export class Nanny {
  readonly #options: NannyOptions;
  readonly #slots: (Slot | undefined)[];
  readonly #policy = new RestartPolicy();
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #closing = false;
  #resolveStopped!: () => void;
  /** Resolves once no worker runs and none will start again. */
  readonly stopped: Promise<void>;
  /** How many worker processes were started, replacements included. */
  started = 0;
  /**
   * 0 while every worker that stopped for good was told to stop (or the nanny was closed);
   * otherwise the exit code of the first that did not start or was refused by the scheduler.
   */
  exitCode = 0;

  constructor(options: NannyOptions) {
    this.#options = options;
    this.#slots = new Array(options.nworkers).fill(undefined);
    this.stopped = new Promise((resolve) => (this.#resolveStopped = resolve));
    for (let i = 0; i < options.nworkers; i++) this.#spawn(i);
  }

  #log(line: string): void {
    (this.#options.log ?? ((l: string) => console.error(l)))(`[nanny] ${line}`);
  }

  /** Process ids of the running workers. */
  get pids(): number[] {
    return this.#slots.filter((s) => s !== undefined).map((s) => s.process.child.pid);
  }

  #spawn(index: number): void {
    const process = new ManagedProcess(`worker ${index}`, {
      args: this.#options.workerArgs(index),
      // restarted when it ends: it may end itself to be replaced (protocol/exit_codes.ts)
      env: { [SUPERVISED_ENV]: "1", [STOP_WITH_STDIN_ENV]: "1" },
      // never written: it closes when this process ends, and the worker stops with it
      stdin: "piped",
      addressPattern: WORKER_LINE,
      onLine: this.#options.onWorkerLine ?? passThrough,
    });
    this.started++;
    watchMemory(process, this.#options.memoryLimit ?? 0, (line) => this.#log(line));
    const slot: Slot = { process, retiring: false };
    this.#slots[index] = slot;
    void process.status.then((status) => this.#ended(index, slot, status));
    const lifetime = this.#options.lifetime;
    if (lifetime !== undefined) {
      void process.address.then((address) => {
        const stagger = this.#options.lifetimeStagger ?? 0;
        const seconds = Math.max(0, lifetime + (Math.random() * 2 - 1) * stagger);
        slot.lifetimeTimer = setTimeout(() => void this.#retire(slot, address), seconds * 1000);
      }, () => {});
    }
  }

  /**
   * The worker's lifetime ended: the scheduler moves its data away and tells it to close. When
   * the scheduler refuses (no other worker could take the data yet, say while the other workers
   * are being replaced too), it asks again every second; only after RETIRE_TIMEOUT_S is the
   * worker stopped anyway (its data is then recomputed where needed).
   */
  async #retire(slot: Slot, address: string): Promise<void> {
    if (this.#closing || slot.process.exited) return;
    slot.retiring = true;
    this.#log(`${slot.process.label} (${address}) reached its lifetime: retiring it`);
    const deadline = Date.now() + RETIRE_TIMEOUT_S * 1000;
    let session: SchedulerSession | undefined;
    let refusal: string | undefined;
    try {
      session = await SchedulerSession.open(
        this.#options.scheduler,
        `Nanny-${crypto.randomUUID()}`,
        { message() {}, disconnected() {}, reconnected() {}, failed() {} },
        {
          timeout: 10,
          reconnectTimeout: 0,
          authToken: this.#options.authToken,
          tls: this.#options.tls,
        },
      );
      while (!this.#closing && !slot.process.exited) {
        try {
          await session.request("retire-workers", {
            workers: [address],
            timeout: RETIRE_TIMEOUT_S,
          });
          return;
        } catch (error) {
          const message = (error as Error).message;
          if (refusal === undefined) this.#log(`retiring ${address} waits: ${message}`);
          refusal = message;
          if (Date.now() >= deadline) throw error;
          await new Promise((resolve) => setTimeout(resolve, 1000));
        }
      }
    } catch (error) {
      this.#log(`could not retire ${address} (${(error as Error).message}); stopping it`);
      await slot.process.stop();
    } finally {
      await session?.close(new Error("done"));
    }
  }

  #ended(index: number, slot: Slot, status: Deno.CommandStatus): void {
    clearTimeout(slot.lifetimeTimer);
    if (this.#slots[index] !== slot) return;
    if (this.#closing) {
      this.#slots[index] = undefined;
      this.#checkStopped();
      return;
    }
    if (slot.retiring && this.#options.lifetimeRestart) {
      this.#log(`${slot.process.label} retired after its lifetime; starting a fresh one`);
      this.#spawn(index);
      return;
    }
    const decision = slot.process.started
      ? this.#policy.ended(String(index), status, Date.now())
      : { restart: false as const };
    if (!decision.restart) {
      if (!slot.process.started) {
        this.#log(slot.process.failure(`did not start (code ${status.code})`).message);
      } else if (status.code === REFUSED_EXIT_CODE) {
        this.#log(
          `${slot.process.label} was refused by the scheduler (exit code ${status.code}, its ` +
            `log says why): not starting it again`,
        );
      }
      if (this.exitCode === 0) this.exitCode = status.code;
      this.#slots[index] = undefined;
      this.#checkStopped();
      return;
    }
    this.#log(
      `${slot.process.label} ${decision.why}; starting it again in ${decision.delayMs / 1000} s`,
    );
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#closing && this.#slots[index] === slot) this.#spawn(index);
    }, decision.delayMs);
    this.#timers.add(timer);
  }

  #checkStopped(): void {
    if (this.#slots.every((s) => s === undefined) && this.#timers.size === 0) {
      this.#resolveStopped();
    }
  }

  /** Stops every worker (SIGTERM, then SIGKILL after a grace period) and restarts none. */
  async close(): Promise<void> {
    this.#closing = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await Promise.all(this.#slots.map((slot) => slot?.process.stop()));
    this.#slots.fill(undefined);
    this.#resolveStopped();
  }
}
