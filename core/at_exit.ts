/**
 * Dask's `atexit` for Deno: what a script left open (a Client, a LocalCluster's processes) is
 * closed when the script ends, so it ends cleanly without an explicit `close()`.
 *
 * Deno dispatches `beforeunload` when the event loop has nothing left to do; cancelling it keeps
 * the loop running. The first time, the registered closers of the first stage that has any run
 * (clients before the clusters they use) and the event is cancelled; once they are done the loop
 * empties again and the next stage runs, until none is left and the process exits. `Deno.exit()`
 * and an uncaught error skip `beforeunload`: an `unload` listener (LocalCluster's) covers those.
 *
 * @module
 */

/** Clients close before the clusters they run on. */
export type ExitStage = "clients" | "clusters";

const STAGES: readonly ExitStage[] = ["clients", "clusters"];
const closers = new Map<ExitStage, Set<() => Promise<unknown>>>(
  STAGES.map((stage) => [stage, new Set()]),
);
let listening = false;

/**
 * Runs `close` when the script ends without having called it. Returns the function that
 * forgets it (call it when the object is closed by hand).
 */
export function closeAtExit(stage: ExitStage, close: () => Promise<unknown>): () => void {
  if (!listening && typeof globalThis.addEventListener === "function") {
    listening = true;
    globalThis.addEventListener("beforeunload", closeLeftOpen);
  }
  const set = closers.get(stage)!;
  set.add(close);
  return () => set.delete(close);
}

function closeLeftOpen(event: Event): void {
  for (const stage of STAGES) {
    const set = closers.get(stage)!;
    if (set.size === 0) continue;
    const due = [...set];
    set.clear();
    event.preventDefault(); // keep the event loop running while they close
    void Promise.allSettled(due.map((close) => close())).then((outcomes) => {
      for (const outcome of outcomes) {
        if (outcome.status === "rejected") {
          console.error("Closing at exit failed:", outcome.reason);
        }
      }
    });
    return;
  }
}
