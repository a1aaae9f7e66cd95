/**
 * One running task's call stack as a block of the page (the worker page's call stacks and the
 * Task page): a head line — thread, key, how long it has run, where the stack comes from — then
 * the frames, outermost first. A thread busy in synchronous code cannot answer its sampler; its
 * stack is then read by pausing it for a moment through the worker's inspector, or, where that
 * is not possible, the block says so and names the task and its function.
 *
 * @module
 */

import { formatDuration } from "../../../core/display/format.js";

/**
 * @param {{ thread: number, answered: boolean, busy?: { paused: boolean, reason?: string } }} thread
 * @param {{ key: string, began: number, at: number | null, fn?: string,
 *   frames: { name: string, filename: string, line_number: number }[] }} task
 * @param {number} now ms since the epoch
 * @returns {HTMLElement}
 */
export function stackBlock(thread, task, now) {
  const div = document.createElement("div");
  div.className = "stack";
  div.dataset.thread = String(thread.thread);
  div.dataset.key = task.key;
  const running = `running ${formatDuration(Math.max(0, now - task.began) / 1000)}`;
  const head = document.createElement("div");
  let source;
  if (thread.answered) {
    source = task.at === null
      ? "no sample yet"
      : `sampled ${formatDuration(Math.max(0, now - task.at) / 1000)} ago`;
  } else if (thread.busy?.paused) {
    div.dataset.busy = "paused";
    source = "busy in synchronous code: read by pausing its thread for a moment";
  } else {
    div.dataset.busy = "unreadable";
    source = "this thread is busy in synchronous code; its stack is not sampleable" +
      (thread.busy?.reason ? ` (${thread.busy.reason})` : "");
  }
  const fn = task.fn ? ` · ${task.fn}()` : "";
  head.textContent = `#${thread.thread} · ${task.key}${fn} · ${running} · ${source}`;
  const list = document.createElement("ol");
  for (const frame of task.frames) {
    const li = document.createElement("li");
    li.dataset.name = frame.name;
    li.textContent = `${frame.name}  `;
    const where = document.createElement("span");
    where.className = "muted";
    where.textContent = `${frame.filename}:${frame.line_number}`;
    li.append(where);
    list.append(li);
  }
  div.append(head, list);
  return div;
}
