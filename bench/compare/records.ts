/**
 * The records of the bag workload, made the same way by `bench/dask/compare.py` (same formula,
 * same values), so both sides count the same data.
 */

/** One flattened event. */
export interface BenchRecord {
  type: string;
  repo: string;
  actor: string;
  size: number;
}

/** Event types, in GitHub's proportions roughly (PushEvent most often). */
export const EVENT_TYPES = [
  "PushEvent",
  "PushEvent",
  "PushEvent",
  "CreateEvent",
  "WatchEvent",
  "IssueCommentEvent",
  "PullRequestEvent",
  "IssuesEvent",
  "ForkEvent",
  "DeleteEvent",
];

/** `n` records: record i is a pure function of i. */
export function makeRecords(n: number): BenchRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    type: EVENT_TYPES[(i * 7) % EVENT_TYPES.length],
    repo: `org${(i * 31) % 97}/repo${(i * 131) % 5003}`,
    actor: `user${(i * 17) % 20011}`,
    size: (i * 13) % 1009,
  }));
}
