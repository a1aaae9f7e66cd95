/**
 * Following a whole graph on a cluster. Only the outputs of a computation report back to the
 * process that submitted it; the intermediate tasks are followed by asking the scheduler where
 * each stands (`GraphExecutor.taskProgress`), a few times a second, about the keys not yet over.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import { TASK_ERRED, TASK_PENDING } from "../protocol/messages.ts";

/** How often a progress display asks the scheduler about a computation's tasks, ms. */
export const PROGRESS_POLL_MS = 100;

/** Keys asked about per millisecond between looks, at most (see {@link followTasks}). */
const KEYS_PER_MS = 100;

/** Asks where each key stands: one of the codes of protocol/messages.ts per key. */
export type TaskProgressSource = (keys: readonly Key[]) => Promise<ArrayLike<number>>;

/**
 * Calls `onDone` once for each of `keys` as it ends, until `finished` settles (the outputs are
 * in); one last look then counts what ended meanwhile. A failing look ends the following
 * quietly: progress is for the eye, the computation does not depend on it.
 */
export async function followTasks(
  source: TaskProgressSource,
  keys: Iterable<Key>,
  onDone: (key: Key, erred: boolean) => void,
  finished: Promise<unknown>,
  intervalMs = PROGRESS_POLL_MS,
): Promise<void> {
  let over = false;
  const settled = finished.then(() => over = true, () => over = true);
  let pending = [...new Set(keys)];
  while (pending.length > 0) {
    const last = over;
    let codes: ArrayLike<number>;
    try {
      codes = await source(pending);
    } catch {
      return;
    }
    const left: Key[] = [];
    for (let i = 0; i < pending.length; i++) {
      if (codes[i] === TASK_PENDING) left.push(pending[i]);
      else onDone(pending[i], codes[i] === TASK_ERRED);
    }
    pending = left;
    if (last) return;
    // Each look sends the keys not yet over: big graphs are looked at less often (1 s per 100,000).
    const wait = Math.max(intervalMs, pending.length / KEYS_PER_MS);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([settled, new Promise((resolve) => timer = setTimeout(resolve, wait))]);
    clearTimeout(timer);
  }
}
