/**
 * Entry point of a worker subprocess of the `processes` scheduler (process_pool.ts). It runs the
 * thread entry itself (thread_entry.ts): the messages a Web Worker would get through
 * `onmessage` arrive framed (net/framing.ts) on stdin, and what it would `postMessage` leaves
 * framed on stdout. The thread entry posts a batch's last results before it starts the next
 * batch, so when a task ends the process the pool knows the batch it was in.
 *
 * stdout carries only messages: a task's console output goes to stderr, which the pool passes
 * on to its own. The process ends when stdin closes (its pool closed, or the script that
 * started it ended).
 *
 * @module
 */

import { encode } from "../core/value_codec.ts";
import { errorMessage } from "../core/errors.ts";
import { FrameReader } from "../net/frame_reader.ts";
import { WriteQueue } from "../net/framing.ts";
import type { FromThread, ProcessNotice, ToThread } from "./thread_protocol.ts";

const channel = Deno.stdout;
/** The most one read from stdin takes (a pipe holds 64 KiB on Linux). */
const READ_BYTES = 64 * 1024;
const queue = new WriteQueue();

/** Writes one framed message to the pool, all of it, before returning. */
function send(header: FromThread | ProcessNotice): void {
  const encoded = encode(header, { rootName: "message" });
  queue.push(encoded.body, encoded.frames, []);
  for (const chunk of queue.take()) {
    for (let at = 0; at < chunk.byteLength;) at += channel.writeSync(chunk.subarray(at));
  }
}

// console output must not mix with the messages on stdout
const toStderr = console.error;
for (const name of ["log", "info", "debug", "dir", "dirxml", "table"] as const) {
  (console as unknown as Record<string, unknown>)[name] = (...args: unknown[]) => {
    if (name === "dir" || name === "dirxml" || name === "table") {
      toStderr(Deno.inspect(args[0], { colors: false }));
    } else toStderr(...args);
  };
}
try {
  Object.defineProperty(Deno, "stdout", { value: Deno.stderr });
} catch { /* the runtime keeps Deno.stdout fixed: a task writing to it directly breaks the pool */ }

// an uncaught error ends this process: say what it was, so the task's error can name it
const reportFatal = (thrown: unknown) => {
  try {
    send({ type: "fatal", message: errorMessage(thrown) });
  } catch { /* stdout is gone: the pool sees the exit alone */ }
};
globalThis.addEventListener("error", (event) => reportFatal(event.error ?? event.message));
globalThis.addEventListener("unhandledrejection", (event) => reportFatal(event.reason));

// the thread entry talks through `self.postMessage` and `self.onmessage`, as in a Web Worker
const host = globalThis as unknown as {
  postMessage(message: FromThread): void;
  onmessage: ((event: { data: ToThread }) => void) | null;
};
const exitProcess = Deno.exit;
host.postMessage = (message) => {
  if (message.type !== "ending") return send(message);
  // self.close() in a task: in a process that ends the process, as Deno.exit does
  send({ type: "fatal", message: `a task called ${message.what}` });
  exitProcess(1);
};
await import("./thread_entry.ts");
// the thread entry keeps a Web Worker alive through Deno.exit; in a process it ends the process,
// and the pool names the task it ended (ProcessDiedError)
Object.assign(Deno, { exit: exitProcess });

send({ type: "ready" });
const reader = new FrameReader();
// read straight from the pipe, not through a ReadableStream: each read is a fresh buffer (the
// reader keeps views of it while a message is incomplete)
for (;;) {
  const chunk = new Uint8Array(READ_BYTES);
  const read = await Deno.stdin.read(chunk);
  if (read === null) break;
  for (const message of reader.push(chunk.subarray(0, read))) {
    host.onmessage?.({ data: message.header as ToThread });
  }
}
// the pool closed stdin: nothing more will come, and no one reads what tasks still running send
Deno.exit(0);
