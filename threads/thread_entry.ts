/**
 * Entry point of a Web Worker thread that runs tasks. The local `threads` scheduler and the
 * distributed worker both start their threads from this file; the `processes` scheduler's
 * subprocesses run the same {@link TaskRunner} (process_entry.ts).
 *
 * Results are posted back with their buffers transferred, not copied.
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { transferables } from "../core/value_codec.ts";
import type { RunBatch, RunResult, RunResults } from "./thread_protocol.ts";
import { TaskRunner } from "./task_runner.ts";

/** Results are flushed at the end of a batch, or sooner when a batch runs long. */
const FLUSH_AFTER_MS = 5;

function post(results: RunResult[]): void {
  // results may share a buffer; a transfer list must name each buffer once
  const transfer = new Set<ArrayBuffer>();
  for (const r of results) if (r.ok) { for (const b of transferables(r.value)) transfer.add(b); }
  const message: RunResults = { type: "results", results };
  self.postMessage(message, [...transfer]);
}

const runner = new TaskRunner({ post, flushAfterMs: FLUSH_AFTER_MS });

self.onmessage = (event: MessageEvent<RunBatch>) => {
  const message = event.data;
  if (message.type === "run") runner.enqueue(message.batch);
};
