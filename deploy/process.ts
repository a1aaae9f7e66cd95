/**
 * A child process that a cluster manager or the nanny runs: its output read line by line (copied
 * to a log sink, the last lines kept to explain a failure), the address it prints awaited, and a
 * stop that asks first (SIGTERM) and kills after a grace period.
 *
 * @module
 */

import { withHugePageAllocator } from "../core/allocator_env.ts";

/** Lines of a process's output kept to explain its failure. */
const TAIL_LINES = 40;
/** Seconds a process gets to stop after SIGTERM before it is killed. */
export const STOP_GRACE_SECONDS = 5;

/** How a {@link ManagedProcess} is started. */
export interface ManagedProcessOptions {
  /** The program; the running Deno by default. */
  program?: string;
  args: string[];
  /** Its first output line matching this gives its address (group 1). */
  addressPattern?: RegExp;
  /** Every output line goes here, with the stream it came from. */
  onLine?: (label: string, line: string, stream: "stdout" | "stderr") => void;
  env?: Record<string, string>;
  cwd?: string;
  /** Keep its standard input open (for {@link ManagedProcess.closeStdin}). Default: none. */
  stdin?: "piped" | "null";
  /**
   * Whether the child (its exit and its output) keeps this process alive once it is up. Default
   * true; a LocalCluster's children do not, so a script that never closes its cluster still ends
   * (and the cluster is closed at exit, core/at_exit.ts). While it starts and while it stops,
   * it always does: someone waits for it then.
   */
  holdProcess?: boolean;
}

/** One child process: its output read line by line, the last lines kept. */
export class ManagedProcess {
  readonly child: Deno.ChildProcess;
  readonly tail: string[] = [];
  readonly output: Promise<void>;
  /** Resolves with the address the process printed, or rejects if it exits before. */
  readonly address: Promise<string>;
  /** How it ended. */
  readonly status: Promise<Deno.CommandStatus>;
  exited = false;
  /** True once the process printed its address: it started, whatever happens later. */
  started = false;
  #addressFound!: (address: string) => void;

  constructor(readonly label: string, options: ManagedProcessOptions) {
    this.child = new Deno.Command(options.program ?? Deno.execPath(), {
      args: options.args,
      stdin: options.stdin ?? "null",
      stdout: "piped",
      stderr: "piped",
      // our own Deno processes (scheduler, workers) get huge pages for large buffers
      env: options.program === undefined ? withHugePageAllocator(options.env) : options.env,
      cwd: options.cwd,
    }).spawn();
    const detach = options.holdProcess === false;
    let failed!: (error: Error) => void;
    this.address = new Promise<string>((resolve, reject) => {
      this.#addressFound = resolve;
      failed = reject;
    });
    this.address.catch(() => {}); // observed by whoever awaits it
    const onLine = (line: string, stream: "stdout" | "stderr") => {
      this.tail.push(line);
      if (this.tail.length > TAIL_LINES) this.tail.shift();
      options.onLine?.(label, line, stream);
      const match = options.addressPattern?.exec(line);
      if (match !== null && match !== undefined && !this.started) {
        this.started = true;
        if (detach) this.child.unref();
        this.#addressFound(match[1]);
      }
    };
    this.output = Promise.all([
      readLines(this.child.stdout, (line) => onLine(line, "stdout")),
      readLines(this.child.stderr, (line) => onLine(line, "stderr")),
    ]).then(() => {});
    this.status = this.child.status.then((status) => {
      this.exited = true;
      failed(this.failure(`exited with code ${status.code}`));
      return status;
    });
  }

  /** An error naming the process, what happened, and its last output lines. */
  failure(what: string): Error {
    const output = this.tail.length === 0
      ? "(it printed nothing)"
      : `Its last output:\n  ${this.tail.join("\n  ")}`;
    return new Error(`The ${this.label} process ${what}. ${output}`);
  }

  /** Writes `text` to its standard input (opened with `stdin: "piped"`), leaving it open. */
  async writeStdin(text: string): Promise<void> {
    const writer = this.child.stdin.getWriter();
    try {
      await writer.write(new TextEncoder().encode(text));
    } finally {
      writer.releaseLock();
    }
  }

  /** Closes its standard input (opened with `stdin: "piped"`): it reads the end of input. */
  async closeStdin(): Promise<void> {
    try {
      await this.child.stdin.close();
    } catch {
      // not piped, or already closed
    }
  }

  /** Sends a signal unless it already exited. */
  signal(name: Deno.Signal): void {
    if (this.exited) return;
    try {
      this.child.kill(name);
    } catch {
      // already exited
    }
  }

  /** Asks the process to stop, then kills it if it does not within the grace period. */
  async stop(graceSeconds = STOP_GRACE_SECONDS): Promise<Deno.CommandStatus> {
    if (!this.exited) this.child.ref(); // this process waits for it now
    this.signal("SIGTERM");
    const timer = setTimeout(() => this.signal("SIGKILL"), graceSeconds * 1000);
    try {
      const status = await this.status;
      await this.output;
      return status;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Calls `onLine` for each line of `stream` (without its line break) until it ends. */
export async function readLines(
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

/** `promise`, or the error `onTimeout` makes once `seconds` pass. */
export function withDeadline<T>(
  promise: Promise<T>,
  seconds: number,
  onTimeout: () => Error,
): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(onTimeout()), seconds * 1000);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}
