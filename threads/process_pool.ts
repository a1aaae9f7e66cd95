/**
 * A pool of Deno subprocesses that run tasks (process_entry.ts), for the `processes`
 * scheduler: the same batches and results as a {@link ThreadPool}'s threads, framed
 * (net/framing.ts) over each process's stdin and stdout.
 *
 * A process that ends (`Deno.exit`, an uncaught error, out of memory, a signal) is replaced at
 * once, and the owner is told how it ended and which batch was running (a process runs batches
 * in order and sends a batch's last results before starting the next).
 * While the pool is idle its processes do not keep the script alive; when the script ends, their
 * stdin closes and they exit.
 *
 * @module
 */

import { withHugePageAllocator } from "../core/allocator_env.ts";
import { errorMessage } from "../core/errors.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import { FunctionSender } from "../core/function_link.ts";
import { encode } from "../core/value_codec.ts";
import { FrameReader } from "../net/frame_reader.ts";
import { WriteQueue } from "../net/framing.ts";
import { describeExit, ProcessDiedError } from "./process_exit.ts";
import { inheritedPermissionFlags } from "./process_permissions.ts";
import type {
  FromThread,
  ProcessNotice,
  RunBatch,
  RunItem,
  RunResult,
  ToThread,
} from "./thread_protocol.ts";
import type { ResultHandler, SlotFailureHandler, TaskPool } from "./task_pool.ts";

const PROCESS_ENTRY = new URL("./process_entry.ts", import.meta.url).href;
/** How much of a process's stderr is kept to explain its end. */
const STDERR_TAIL_CHARS = 4096;
/** Writes of one turn up to this size are joined into one buffer (larger ones go as they are). */
const JOIN_MAX_BYTES = 1 << 20;

/** One running subprocess and what the pool knows about it. */
interface WorkerProcess {
  child: Deno.ChildProcess;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** This process's end of the function link (a replacement gets a new one). */
  functions: FunctionSender;
  /** It has loaded its entry and reads batches. */
  ready: boolean;
  /** The uncaught error it reported before ending. */
  fatal?: string;
  stderrTail: string;
  /**
   * The ids of the items of each batch posted and not yet returned, oldest batch first (a
   * process runs batches in order; only a task that secedes returns after a later batch's).
   */
  batches: Set<number>[];
  /** Bytes posted in this turn of the event loop, written together at its end. */
  unwritten: Uint8Array[];
  /** Settles once the process has ended and its output is read to the end. */
  ended: Promise<void>;
}

/** A fixed set of Deno worker subprocesses. */
export class ProcessPool implements TaskPool {
  readonly #processes: WorkerProcess[] = [];
  readonly #flags: string[];
  readonly #queue = new WriteQueue();
  #closed = false;
  #busy = false;
  /** Why a process could not start; every later post fails with it. */
  #startupError: Error | undefined;
  /** Told when a process has loaded its entry (and, at close, for those that had not). */
  onSlotReady: ((slot: number) => void) | undefined;

  /**
   * @throws {Error} when a subprocess cannot be spawned (no `--allow-run`), saying which
   *   permission to grant.
   */
  constructor(
    readonly size: number,
    private readonly onResults: ResultHandler,
    private readonly onFailure: SlotFailureHandler,
  ) {
    if (!Number.isInteger(size) || size < 1) {
      throw new RangeError(`A process pool needs at least one process; got ${size}.`);
    }
    if (PROCESS_ENTRY.includes("/deno-compile-")) {
      // Deno.execPath() is this program itself: it cannot run another module
      throw new Error(
        'The "processes" scheduler is not available in a `deno compile`d program (it starts ' +
          '`deno run` subprocesses); use the "threads" scheduler.',
      );
    }
    this.#flags = inheritedPermissionFlags();
    try {
      for (let i = 0; i < size; i++) this.#start(i);
    } catch (error) {
      void this.close();
      throw error;
    }
  }

  #start(i: number): void {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(Deno.execPath(), {
        args: ["run", ...this.#flags, "--quiet", "--no-prompt", PROCESS_ENTRY],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
        env: withHugePageAllocator(),
      }).spawn();
    } catch (error) {
      throw new Error(
        `The "processes" scheduler could not start a Deno subprocess (${
          errorMessage(error)
        }). It needs --allow-run and --allow-read (or -A); or use the "threads" scheduler.`,
        { cause: error },
      );
    }
    if (!this.#busy) child.unref();
    const process: WorkerProcess = {
      child,
      writer: child.stdin.getWriter(),
      functions: new FunctionSender(),
      ready: false,
      stderrTail: "",
      batches: [],
      unwritten: [],
      ended: Promise.resolve(),
    };
    process.ended = Promise.all([this.#readMessages(i, process), this.#passOnStderr(process)])
      .then(() => child.status)
      .then((status) => this.#ended(i, process, status));
    this.#processes[i] = process;
  }

  async #readMessages(i: number, process: WorkerProcess): Promise<void> {
    const reader = new FrameReader();
    try {
      for await (const chunk of process.child.stdout) {
        // the results of one read go to the owner together (it dispatches once per call)
        const results: RunResult[] = [];
        for (const message of reader.push(chunk)) {
          const header = message.header as FromThread | ProcessNotice;
          if (header.type === "results") results.push(...header.results);
          else if (header.type === "ready") {
            process.ready = true;
            this.onSlotReady?.(i);
          } else if (header.type === "fatal") process.fatal = header.message;
          // a task that gave its slot back may take it again at once: slots are not counted here
          else if (header.type === "rejoin") {
            this.#send(process, { type: "rejoined", id: header.id });
          }
          // "secede" needs no answer; publish/subscribe has no peers without a cluster
        }
        if (results.length > 0) {
          this.#returned(process, results);
          this.onResults(i, results);
        }
      }
    } catch (error) {
      // unreadable output: the process cannot be trusted any more
      if (!this.#closed) {
        process.fatal = `its output could not be read (${errorMessage(error)})`;
        try {
          process.child.kill("SIGKILL");
        } catch { /* already gone */ }
      }
    }
  }

  /** Marks results as returned; batches with nothing left out are done. */
  #returned(process: WorkerProcess, results: readonly RunResult[]): void {
    const batches = process.batches;
    for (const { id } of results) {
      for (const batch of batches) if (batch.delete(id)) break;
    }
    while (batches.length > 0 && batches[0].size === 0) batches.shift();
  }

  /** Copies the process's stderr (its tasks' console output) to ours, keeping the tail. */
  async #passOnStderr(process: WorkerProcess): Promise<void> {
    const text = new TextDecoder();
    for await (const chunk of process.child.stderr) {
      for (let at = 0; at < chunk.byteLength;) at += Deno.stderr.writeSync(chunk.subarray(at));
      const tail = process.stderrTail + text.decode(chunk, { stream: true });
      process.stderrTail = tail.slice(-STDERR_TAIL_CHARS);
    }
  }

  #ended(i: number, process: WorkerProcess, status: Deno.CommandStatus): void {
    process.writer.close().catch(() => {});
    if (this.#closed) return;
    const how = describeExit(status, process.fatal, process.stderrTail);
    if (!process.ready) {
      // a process that cannot start will not start the next time either: no restart loop
      this.#startupError = new Error(
        `The "processes" scheduler's worker subprocess could not start: ${how}`,
      );
      void this.close();
      for (let slot = 0; slot < this.size; slot++) {
        this.onFailure(slot, { error: this.#startupError });
      }
      return;
    }
    const error = new ProcessDiedError(how, undefined, status.code, status.signal);
    try {
      this.#start(i);
    } catch (startError) {
      this.#startupError = startError as Error;
      void this.close();
    }
    const suspects = [...(process.batches[0] ?? [])];
    this.onFailure(i, { error, suspects });
  }

  /** The form of `spec` to send to a process: the whole spec the first time, then its id. */
  functionFor(slot: number, spec: FunctionSpec): FunctionSpec | string {
    return this.#processes[slot].functions.shrink(spec);
  }

  /**
   * Whether `slot`'s process has loaded its entry: the first batches go to the processes that
   * are up, not into the pipe of one still starting (their start times differ by 100 ms and
   * more on a busy machine). A closed pool's slots count as ready: a post then says why.
   */
  isReady(slot: number): boolean {
    return this.#closed || this.#processes[slot].ready;
  }

  /** Writes a batch of tasks to one process's stdin (buffers are copied into the pipe). */
  post(slot: number, batch: RunItem[]): void {
    if (this.#startupError !== undefined) throw this.#startupError;
    if (this.#closed) {
      throw new Error(
        "the process pool was shut down (shutdownProcesses()) before these tasks could run",
      );
    }
    const message: RunBatch = { type: "run", batch };
    const process = this.#processes[slot];
    process.batches.push(new Set(batch.map((item) => item.id)));
    this.#send(process, message);
  }

  /** Queues a message to a process; what one turn of the event loop sends goes together. */
  #send(process: WorkerProcess, message: ToThread): void {
    const encoded = encode(message, { rootName: "message" });
    this.#queue.push(encoded.body, encoded.frames, []);
    if (process.unwritten.length === 0) queueMicrotask(() => this.#write(process));
    for (const chunk of this.#queue.take()) process.unwritten.push(chunk);
  }

  /** Writes what was posted to a process, small pieces joined (one write, not one per batch). */
  #write(process: WorkerProcess): void {
    const chunks = process.unwritten;
    process.unwritten = [];
    let bytes = 0;
    for (const chunk of chunks) bytes += chunk.byteLength;
    let joined = chunks;
    if (chunks.length > 1 && bytes <= JOIN_MAX_BYTES) {
      const buffer = new Uint8Array(bytes);
      let at = 0;
      for (const chunk of chunks) {
        buffer.set(chunk, at);
        at += chunk.byteLength;
      }
      joined = [buffer];
    }
    // a failed write means the process ended: #ended reports it
    for (const chunk of joined) process.writer.write(chunk).catch(() => {});
  }

  /** While busy, the processes keep the script alive; idle, they let it end. */
  setBusy(busy: boolean): void {
    if (this.#closed && !busy) return; // closing waits for the processes to end
    this.#busy = busy;
    for (const { child } of this.#processes) busy ? child.ref() : child.unref();
  }

  /** Ends every process (running tasks are abandoned); settles once all have exited. */
  async close(): Promise<void> {
    const wasOpen = !this.#closed;
    const waiting = this.#processes.flatMap((process, slot) => process.ready ? [] : [slot]);
    this.#closed = true;
    // waiting for them to end must keep the script alive
    this.setBusy(true);
    for (const { child } of this.#processes) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
    }
    if (wasOpen && this.#startupError === undefined) {
      // computations waiting on these processes fail now rather than wait forever
      this.#processes.forEach((process, slot) => {
        if (process.batches.length === 0) return;
        process.batches = [];
        this.onFailure(slot, {
          error: new Error(
            "the process pool was shut down (shutdownProcesses()) while it ran tasks",
          ),
        });
      });
    }
    // computations that waited for a process to start post now, and learn why they cannot
    if (wasOpen) {
      for (const slot of waiting) this.onSlotReady?.(slot);
    }
    await Promise.all(this.#processes.map((p) => p.ended));
  }

  get closed(): boolean {
    return this.#closed;
  }
}
