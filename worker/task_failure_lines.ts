/**
 * The worker's lines about failing tasks, shared with supervisors that show them: a
 * `Client.local` user has no worker terminal, so LocalCluster copies these lines (and only
 * these, unless `logs: true`) to the user's standard error, as Dask's LocalCluster shows its
 * workers' warnings.
 *
 * @module
 */

/** `task <key> failed: <name>: <message> (<first frame>)`. */
export function taskFailureLine(key: string, error: string, frame: string | undefined): string {
  return `task ${key} failed: ${error}` + (frame === undefined ? "" : ` (${frame})`);
}

/** A worker output line (`[worker name] …`) about failing tasks. */
export const TASK_FAILURE_LINE =
  /^\[worker [^\]]*\] (?:task \S+ failed: |\.\.\. \d+ more like these)/;
