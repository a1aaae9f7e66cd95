/**
 * The worker's link to the scheduler (I/O only): connects (retrying with backoff until the
 * scheduler is up, and again whenever the connection drops), registers, heartbeats, and hands
 * every scheduler message to the state machine. What a message means — including `close`,
 * `restart`, `run` and malformed messages — is the state machine's decision; the session carries
 * out the ones that end it ({@link SchedulerSession.end}) and answers `run`.
 *
 * Each registration is a new session: the worker starts a fresh state machine, seeded with the
 * data in its store (which survives reconnects and is reported in `register-worker`).
 *
 * @module
 */

import { uploadProblem } from "../protocol/uploads.ts";
import { FunctionReceiver } from "../core/function_link.ts";
import { errorMessage } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import type { Encoded } from "../core/value_codec.ts";
import { BatchSender, Connection, unbatch } from "../net/wire.ts";
import { isEncoded } from "../protocol/message_checks.ts";
import { REFUSED_EXIT_CODE } from "../protocol/exit_codes.ts";
import type { TransferTotals } from "../protocol/messages.ts";
import {
  DEFAULT_HEARTBEAT_INTERVAL,
  type DelegateTaskMsg,
  type RegisterWorkerMsg,
  type RunMsg,
  type RunResultMsg,
  SESSION_PROTOCOL,
  type TaskDelegatedMsg,
  type WorkerLeavingMsg,
  type WorkerStatusMsg,
  type WorkerTerminatedMsg,
} from "../protocol/session.ts";
import type { ReceivedData, SchedulerMessage, WorkerEvent } from "./events.ts";
import type { RunOutcome } from "./run_thread.ts";
import { CpuMeter, openFileCount } from "../core/process_stats.ts";

/** Backoff between attempts to reach the scheduler: 0.1 s doubling to 5 s. */
const FIRST_RETRY_S = 0.1;
const MAX_RETRY_S = 5;
/** At the longest backoff, a failed attempt is logged once per this many seconds. */
const RETRY_LOG_EVERY_S = 60;
/** At shutdown, how long the scheduler connection may take to write what is queued. */
const CLOSE_GRACE_MS = 2000;

const now = () => (performance.timeOrigin + performance.now()) / 1000;

/** Why the worker stopped: `code` is the exit code a CLI should use. */
export interface StopInfo {
  reason: string;
  code: number;
  /** Stopped against its will (terminated for memory): the scheduler blames its tasks. */
  terminated?: boolean;
}

/** How a session ends, as the state machine decided. */
export type SessionEnd =
  | { type: "close"; reason: string }
  | { type: "restart"; reason: string }
  | { type: "abort-session"; problem: string };

/** What the session needs from the worker around it. */
export interface SessionHost {
  address(): string;
  name(): string;
  /** Where the scheduler is, and how connections are set up. */
  readonly scheduler: string;
  connectOptions(): Parameters<typeof Connection.connect>[1];
  /** The first connection tells which local address routes to the scheduler. */
  learnAddress(connection: Connection): void;
  /** Starts a session: a fresh state machine; returns the data held (for the registration). */
  beginSession(): ReceivedData[];
  /** What `register-worker` says besides the address, name and keys. */
  registration(): Pick<RegisterWorkerMsg, "nthreads" | "memoryLimit" | "resources">;
  handle(event: WorkerEvent): void;
  /** Tasks of a burst of messages are held, then posted together. */
  holdRuns(): void;
  releaseRuns(): void;
  /** Drops every task, thread and value (before registering again as new). */
  restart(): void;
  stop(info: StopInfo): Promise<void>;
  stopping(): boolean;
  paused(): boolean;
  /** Paused, idle and unable to spill: it will not resume by itself. */
  exhausted(): boolean;
  metrics(): Record<string, number>;
  /** Log lines since the last call (they travel with the heartbeat). */
  recentLogs(): [number, string][];
  /** Bytes received from peers since the last call (they travel with the heartbeat). */
  transfers(): TransferTotals | null;
  /** How many keys the store holds (for the log). */
  heldKeys(): number;
  /** The scheduler said whether it has client identities (tenancy; at every registration). */
  tenancy(on: boolean): void;
  /** Calls a `run` function where the task permissions hold (worker/run_thread.ts). */
  runFunction(fn: FunctionSpec, args: Encoded | undefined): Promise<RunOutcome>;
  /** A module a client uploaded (`client.uploadFile`): tasks may import it from now on. */
  uploaded(name: string, source: string): void;
  log(line: string): void;
}

export class SchedulerSession {
  #toScheduler: BatchSender | null = null;
  #scheduler: Connection | null = null;
  #registeredOnce = false;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #wakeRetry: (() => void) | null = null;
  /** Set by the state machine's decision while a message is handled. */
  #end: SessionEnd | null = null;
  /** Task function specs the scheduler sent, by id (later compute-tasks carry the id alone). */
  /** The scheduler link's receiving end: compute-tasks after the first carry a spec's id. */
  readonly #functions = new FunctionReceiver();
  /** Process CPU time and wall time at the last heartbeat, µs, for the `cpu` metric. */
  readonly #cpu = new CpuMeter();
  /** Tasks' credential requests waiting for the scheduler (`delegate-task`), by request id. */
  readonly #delegations = new Map<number, (answer: TaskDelegatedMsg) => void>();
  #nextDelegation = 1;

  constructor(private readonly host: SessionHost) {}

  /** True while registered with the scheduler. */
  get connected(): boolean {
    return this.#scheduler !== null && !this.#scheduler.isClosed;
  }

  /** Queues a message for the scheduler (dropped when there is no session). */
  send(msg: unknown): void {
    this.#toScheduler?.send(msg);
  }

  /** The state machine decided the session ends: carried out after the current message. */
  end(how: SessionEnd): void {
    this.#end ??= how;
  }

  /** Connects, serves, and reconnects until the worker stops. */
  async run(): Promise<void> {
    const host = this.host;
    let delay = FIRST_RETRY_S;
    let lastLogged = -Infinity;
    while (!host.stopping()) {
      let connection: Connection;
      try {
        connection = await Connection.connect(host.scheduler, host.connectOptions());
      } catch (error) {
        if (host.stopping()) return;
        const t = now();
        if (delay < MAX_RETRY_S || t - lastLogged >= RETRY_LOG_EVERY_S) {
          lastLogged = t;
          host.log(
            `cannot reach the scheduler at ${host.scheduler} (${errorMessage(error)}); ` +
              `retrying in ${delay} s`,
          );
        }
        await this.#sleep(delay);
        delay = Math.min(MAX_RETRY_S, Math.round(delay * 2 * 10) / 10);
        continue;
      }
      delay = FIRST_RETRY_S;
      lastLogged = -Infinity;
      host.learnAddress(connection);
      const registered = await this.#serve(connection);
      if (host.stopping()) return;
      if (!registered) await this.#sleep(delay);
    }
  }

  /** Registers on `connection` and serves it until it closes; false when refused. */
  async #serve(connection: Connection): Promise<boolean> {
    const host = this.host;
    const held = host.beginSession();
    const register: RegisterWorkerMsg = {
      op: "register-worker",
      address: host.address(),
      name: host.name(),
      ...host.registration(),
      keys: held,
      pid: Deno.pid,
      protocol: SESSION_PROTOCOL,
      batches: true,
    };
    connection.send({ header: register });
    let registered = false;
    serving: for await (const message of connection) {
      if (!registered) {
        const msg = message.header as { op?: unknown } & Record<string, unknown>;
        if (msg?.op === "worker-registered") {
          registered = true;
          host.tenancy(msg.tenancy === true);
          this.#registered(connection, Number(msg.heartbeatInterval), held.length);
          continue;
        }
        const reason = msg?.op === "refused"
          ? String(msg.reason)
          : `unexpected first answer ${JSON.stringify(msg?.op)}`;
        await connection.close(reason);
        if (!this.#registeredOnce) {
          // A first refusal (a name already taken) will not change by retrying.
          host.log(`the scheduler refused this worker: ${reason}`);
          await host.stop({
            reason: `refused by the scheduler: ${reason}`,
            code: REFUSED_EXIT_CODE,
          });
        } else {
          host.log(`the scheduler refused the reconnection: ${reason}; retrying`);
        }
        return false;
      }
      const msgs = unbatch(message.header);
      if (msgs === null) {
        const problem = "a batch without a list of messages (msgs)";
        host.log(`closing the scheduler connection: it sent ${problem}`);
        await connection.abort(`protocol error: ${problem}`);
        break;
      }
      const t = now();
      for (const header of msgs) {
        const msg = header as SchedulerMessage;
        if (msg !== null && typeof msg === "object" && msg.op === "compute-task") {
          this.#resolveFunction(msg as unknown as Record<string, unknown>);
        }
        if ((msg as { op?: unknown } | null)?.op === "task-delegated") {
          const answer = msg as unknown as TaskDelegatedMsg;
          const answered = this.#delegations.get(answer.requestId);
          this.#delegations.delete(answer.requestId);
          answered?.(answer);
          continue;
        }
        // not the state machine's: the threads get it before any task that follows
        if ((msg as { op?: unknown } | null)?.op === "upload-file") {
          const { name, source } = msg as unknown as Record<string, unknown>;
          const problem = uploadProblem(name, source);
          if (problem === null) host.uploaded(name as string, source as string);
          else host.log(`ignoring an upload from the scheduler: ${problem}`);
          continue;
        }
        // Tasks of every message already read go to the threads together.
        host.holdRuns();
        host.handle({ type: "scheduler-message", msg, now: t });
        const end = this.#end;
        if (end === null) continue;
        this.#end = null;
        switch (end.type) {
          case "close":
            host.log(`the scheduler asked this worker to close: ${end.reason}`);
            await host.stop({ reason: `scheduler: ${end.reason}`, code: 0 });
            return true;
          case "restart":
            host.log(`restarting at the scheduler's request: ${end.reason}`);
            host.restart();
            this.#toScheduler?.flush();
            await connection.close("restarting");
            break serving;
          case "abort-session":
            host.log(`closing the scheduler connection: it sent ${end.problem}`);
            await connection.abort(`protocol error: ${end.problem}`);
            break serving;
        }
      }
      if (connection.buffered === 0) host.releaseRuns();
    }
    host.releaseRuns();
    const info = await connection.closed;
    if (this.#scheduler === connection) {
      this.#scheduler = null;
      this.#toScheduler = null;
    }
    clearInterval(this.#heartbeat);
    if (!host.stopping() && registered) {
      host.log(
        `lost the scheduler (${info.reason}); reconnecting, keeping ${host.heldKeys()} keys`,
      );
    }
    return registered;
  }

  /**
   * A compute-task carries its function in full the first time the scheduler sends it to this
   * worker, then only its id: the spec is kept here and put back.
   */
  #resolveFunction(msg: Record<string, unknown>): void {
    msg.fn = this.#functions.expand(msg.fn);
  }

  #registered(connection: Connection, heartbeatInterval: number, heldKeys: number): void {
    const host = this.host;
    this.#scheduler = connection;
    this.#toScheduler = new BatchSender(
      connection,
      (error) => host.log(`could not send a message to the scheduler: ${error.message}`),
    );
    this.#registeredOnce = true;
    const interval = heartbeatInterval > 0 ? heartbeatInterval : DEFAULT_HEARTBEAT_INTERVAL;
    host.log(
      `registered with the scheduler at ${host.scheduler}` +
        (heldKeys > 0 ? ` (holding ${heldKeys} keys)` : ""),
    );
    clearInterval(this.#heartbeat);
    this.#heartbeat = setInterval(() => this.#sendHeartbeat(), interval * 1000);
    if (host.paused()) this.sendStatus();
    this.#sendHeartbeat();
  }

  #sendHeartbeat(): void {
    if (this.#toScheduler === null) return;
    const logs = this.host.recentLogs();
    const transfers = this.host.transfers();
    this.#toScheduler.send({
      op: "heartbeat",
      metrics: { ...this.host.metrics(), cpu: this.#cpu.read(), ...processMetrics() },
      ...(logs.length > 0 ? { logs } : {}),
      ...(transfers !== null ? { transfers } : {}),
    });
  }

  /** Tells the scheduler whether this worker is paused. */
  sendStatus(): void {
    const msg: WorkerStatusMsg = {
      op: "worker-status",
      status: this.host.exhausted() ? "exhausted" : this.host.paused() ? "paused" : "running",
    };
    this.#toScheduler?.send(msg);
  }

  /** Calls a `run` function (on the run thread) and answers with its result. */
  async runFunction(msg: RunMsg): Promise<void> {
    const connection = this.#scheduler;
    const outcome = await this.host.runFunction(
      msg.fn as FunctionSpec,
      isEncoded(msg.args) ? msg.args : undefined,
    );
    const reply: RunResultMsg = outcome.ok
      ? { op: "run-result", runRequestId: msg.runRequestId, ok: true, value: outcome.value }
      : { op: "run-result", runRequestId: msg.runRequestId, ok: false, error: outcome.error };
    // On the session it came on, behind what is queued for the scheduler.
    const toScheduler = this.#toScheduler;
    if (toScheduler !== null && toScheduler.connection === connection) toScheduler.send(reply);
    else if (connection !== null) connection.send({ header: reply });
  }

  /**
   * A credential for the client of running task `key`, acting as the identity that submitted it
   * (tenancy: scheduler/task_delegation.ts); rejects with the scheduler's reason.
   */
  delegate(key: string): Promise<string> {
    const toScheduler = this.#toScheduler;
    if (toScheduler === null) {
      return Promise.reject(new Error("this worker is not connected to its scheduler"));
    }
    const requestId = this.#nextDelegation++;
    const msg: DelegateTaskMsg = { op: "delegate-task", requestId, key };
    return new Promise((resolve, reject) => {
      this.#delegations.set(requestId, (answer) => {
        if ("token" in answer && typeof answer.token === "string") resolve(answer.token);
        else reject(new Error(String((answer as { error?: unknown }).error)));
      });
      toScheduler.send(msg);
      toScheduler.connection.closed.then(() => {
        if (!this.#delegations.delete(requestId)) return;
        reject(new Error("the scheduler connection closed before it answered"));
      });
    });
  }

  /** Waits `seconds`, or less when the worker stops. */
  #sleep(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      this.#wakeRetry = resolve;
      this.#retryTimer = setTimeout(resolve, seconds * 1000);
    });
  }

  /**
   * Stops heartbeats and retries; says `worker-leaving` (the scheduler moves this worker's tasks
   * without blaming it) or, when `terminated`, `worker-terminated` (its running tasks count the
   * death), and closes the connection, giving what is queued a moment to go out.
   */
  leave(reason: string, terminated = false): Promise<unknown> | null {
    clearInterval(this.#heartbeat);
    clearTimeout(this.#retryTimer);
    this.#wakeRetry?.();
    const toScheduler = this.#toScheduler;
    if (toScheduler === null) return null;
    const scheduler = toScheduler.connection;
    const leaving: WorkerLeavingMsg | WorkerTerminatedMsg = terminated
      ? { op: "worker-terminated", reason }
      : { op: "worker-leaving", reason };
    toScheduler.send(leaving);
    toScheduler.flush();
    // A scheduler that stopped reading cannot hold us.
    const timer = setTimeout(() => scheduler.abort("the worker stopped"), CLOSE_GRACE_MS);
    return scheduler.close("the worker stopped").finally(() => clearTimeout(timer));
  }
}

/** The `pid` and `openFiles` heartbeat metrics (the latter where the OS tells). */
function processMetrics(): { pid: number; openFiles?: number } {
  const n = openFileCount();
  return n === null ? { pid: Deno.pid } : { pid: Deno.pid, openFiles: n };
}
