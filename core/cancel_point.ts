/**
 * Cancellation points in our own long loops. When a running task is cancelled (or withdrawn),
 * its thread's owner raises a flag in memory the thread shares (threads/thread_protocol.ts
 * `ThreadStatus`); the kernels of this library look at it between blocks of work with
 * {@link throwIfCancelled} and end the task with a {@link TaskStoppedError}. The thread is kept:
 * only a task that never reaches such a point (a user's own busy loop) costs its thread, which
 * the owner terminates after a short grace.
 *
 * Off a task thread (the `sync` scheduler, the client) no check is installed and a point costs
 * one comparison. The check is kept under a global symbol so that a second copy of this module
 * (a task module importing the library from another URL) sees the same one.
 *
 * @module
 */

/** Elements a kernel may walk between two looks at the flag: ~1 ms of the slowest loops. */
export const CANCEL_CHECK_ELEMENTS = 1 << 20;

const CHECK = Symbol.for("dask-deno.cancel-check");

type Holder = { [CHECK]?: () => boolean };

/** The task was stopped by its worker (cancelled or withdrawn) at one of our cancellation points. */
export class TaskStoppedError extends Error {
  override name = "TaskStoppedError";
  constructor() {
    super("the task was stopped by its worker (it was cancelled or is no longer wanted)");
  }
}

/** Installs the thread's check: true once the task running now was asked to stop. */
export function setCancelCheck(check: (() => boolean) | undefined): void {
  (globalThis as Holder)[CHECK] = check;
}

/** Throws {@link TaskStoppedError} when the task running on this thread was asked to stop. */
export function throwIfCancelled(): void {
  const check = (globalThis as Holder)[CHECK];
  if (check !== undefined && check()) throw new TaskStoppedError();
}
