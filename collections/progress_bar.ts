/**
 * A progress display for local computations: a bar redrawn in place when stderr is a terminal,
 * plain periodic lines when it is not (CI logs, pipes).
 *
 * @module
 */

import type { Key } from "../core/task.ts";

const encoder = new TextEncoder();
const BAR_WIDTH = 40;

/** Writes to stderr without waiting; a display must never slow the computation. */
function write(text: string): void {
  Deno.stderr.writeSync(encoder.encode(text));
}

/** Formats seconds as `1.2s` / `3m04s`. */
export function formatSeconds(seconds: number): string {
  if (seconds < 60) return `${seconds.toFixed(1)}s`;
  const m = Math.floor(seconds / 60);
  return `${m}m${String(Math.floor(seconds % 60)).padStart(2, "0")}s`;
}

/** One line describing progress: a bar, the percentage, the counts, the elapsed time. */
export function progressLine(done: number, total: number, seconds: number): string {
  const fraction = total === 0 ? 1 : done / total;
  const filled = Math.round(fraction * BAR_WIDTH);
  return `[${"#".repeat(filled)}${" ".repeat(BAR_WIDTH - filled)}] ` +
    `${(fraction * 100).toFixed(0).padStart(3)}% | ${done}/${total} tasks | ` +
    formatSeconds(seconds);
}

/**
 * A task-completion callback that draws progress. Redraws at most every `intervalMs` (100 ms
 * on a terminal, 2 s in plain mode) and always once at the end.
 */
export function progressReporter(
  options: { terminal?: boolean; intervalMs?: number } = {},
): (key: Key | null, total: number) => void {
  const terminal = options.terminal ?? Deno.stderr.isTerminal();
  const interval = options.intervalMs ?? (terminal ? 100 : 2000);
  const start = performance.now();
  let done = 0;
  let last = -Infinity;
  return (key, total) => {
    if (key !== null) done++;
    const now = performance.now();
    const finished = done >= total && key !== null;
    if (!finished && now - last < interval) return;
    last = now;
    const line = progressLine(done, total, (now - start) / 1000);
    if (terminal) write(`\r${line}${finished ? "\n" : ""}`);
    else write(`${line}\n`);
  };
}
