/**
 * Which thread of a worker gets the next task. Tasks are posted to one thread each (a thread
 * runs its queue in order), so a task posted behind a running one waits for it even when
 * another thread is idle — the estimates the load is counted in are only estimates, and a task
 * that runs far longer than its prefix's learned duration (one long call among short ones)
 * still counts as short. So an idle thread (nothing posted to it that has not come back) is
 * always chosen first; only when every thread has work does the least estimated load decide.
 *
 * @module
 */

/**
 * The thread for the next task: the first with no run in flight, else the one with the least
 * expected seconds of work.
 *
 * @param load expected seconds of work posted to each thread and not yet over
 * @param runs tasks posted to each thread and not yet over
 */
export function chooseThread(load: readonly number[], runs: readonly number[]): number {
  let best = 0;
  for (let t = 0; t < load.length; t++) {
    if (runs[t] === 0) return t;
    if (load[t] < load[best]) best = t;
  }
  return best;
}
