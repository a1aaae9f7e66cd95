/**
 * The process-wide stray watch (threads/stray_threads.ts), which works on every OS, on a real Web
 * Worker spinning in a synchronous loop after `terminate()`; the worker's inspector
 * (worker/thread_inspector.ts `halt`) then ends that loop, and the same watch finds the process
 * quiet.
 */

import assert from "node:assert/strict";
import { watchStrayByProcessCpu } from "../../threads/stray_threads.ts";
import { ThreadInspector } from "../../worker/thread_inspector.ts";

const SPIN = `data:text/javascript,${
  encodeURIComponent("postMessage('started'); let n = 0; for (;;) n++;")
}`;

/** What the watch decides: the core share of a stray, or "quiet". */
async function watchOnce(): Promise<number | "quiet"> {
  // the watch's own timers do not keep a process alive
  const keepAlive = setInterval(() => {}, 1000);
  try {
    return await new Promise((resolve) => {
      watchStrayByProcessCpu(() => 0, resolve, { graceMs: 100, quiet: () => resolve("quiet") });
    });
  } finally {
    clearInterval(keepAlive);
  }
}

Deno.test("a terminated spinning thread is seen from process CPU time, and the inspector stops it", async () => {
  const name = `stray-test-${Date.now()}`;
  const inspector = new ThreadInspector(() => false);
  const spinner = new Worker(SPIN, { type: "module", name });
  // the ended execution surfaces as an error event of the terminated thread
  spinner.onerror = (event) => event.preventDefault();
  try {
    await new Promise((resolve) => spinner.onmessage = resolve);
    spinner.terminate();
    const share = await watchOnce();
    assert.notEqual(share, "quiet", "a terminated busy loop keeps the process busy (deno#35657)");
  } finally {
    // ends the loop, or the test process could not exit
    await inspector.halt(name, () => spinner.terminate());
    inspector.close();
  }
  assert.equal(await watchOnce(), "quiet");
});
