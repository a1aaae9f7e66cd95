/**
 * Execution priority: lower sorts first. `[-userPriority, generation, order]`: a higher user
 * priority first, then older graphs first, then the client's order within a graph.
 */
export type Priority = readonly [number, number, number];

/** Orders priorities: negative when `a` runs before `b`. */
export function comparePriority(a: Priority, b: Priority): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
