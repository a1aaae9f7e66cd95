/**
 * Cancel points: where our own long-running kernels (array loops, bag partition loops) stop a
 * task that was cancelled, so its thread is kept rather than terminated and replaced.
 *
 * Each task thread shares an Int32 cancel slot with its owner (threads/thread_protocol.ts
 * `ThreadStatus`). The owner writes the tag of the run it cancels there; a kernel calls
 * {@link cancelPoint} every ~{@link CANCEL_CHECK_ELEMENTS} elements, which is one
 * `Atomics.load` and a compare, and throws {@link TaskCancelledError} when the run executing now
 * is the cancelled one. Outside a task thread (the local `sync` scheduler, the client) no slot is
 * bound and a cancel point is a single compare.
 *
 * @module
 */

/** Elements a kernel walks between two cancel points (one `Atomics.load` each). */
export const CANCEL_CHECK_ELEMENTS = 65_536;

/** The error a cancelled run ends with when a cancel point stopped it. */
export class TaskCancelledError extends Error {
  constructor() {
    super("the task was cancelled (stopped at a cancel point; its thread is kept)");
    this.name = "CancelledError";
  }
}

let slots: Int32Array | null = null;
let slotIndex = 0;
/** The tag of the run executing on this thread, or 0. */
let currentTag = 0;
/** Whether the run executing now reached a cancel point (its owner learns it once per run). */
let polled = false;
let pollIndex = 0;

/** The int32 tag a run id is written as in the cancel slot (never 0). */
export function cancelTag(runId: number): number {
  return (runId % 0x7fff_ffff) + 1;
}

/**
 * Binds this thread's cancel slot (`shared[index]`) and the slot where it marks that the run
 * executing now polls (`shared[pollAt]`). Called once by a task thread.
 */
export function bindCancelSlot(shared: Int32Array, index: number, pollAt: number): void {
  slots = shared;
  slotIndex = index;
  pollIndex = pollAt;
}

/** Run `runId` starts (0: none runs) on this thread. */
export function runStarts(runId: number): void {
  currentTag = runId === 0 ? 0 : cancelTag(runId);
  polled = false;
}

/** Throws {@link TaskCancelledError} when the run executing on this thread was cancelled. */
export function cancelPoint(): void {
  if (currentTag === 0) return;
  if (!polled) {
    // the owner lets a run that polls stop itself before it terminates the thread
    polled = true;
    Atomics.store(slots!, pollIndex, currentTag);
  }
  if (Atomics.load(slots!, slotIndex) === currentTag) throw new TaskCancelledError();
}
