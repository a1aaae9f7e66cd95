/**
 * Execution priority: lower sorts first. `[-userPriority, generation, order]`: a higher user
 * priority first, then older graphs first, then the client's order within a graph.
 */
export type Priority = readonly [number, number, number];

/**
 * A priority kept as three numbers on the item itself (`priority0..2`, the tuple's members): a
 * tuple is an array per item that lives as long as the item (72 bytes), and each comparison of
 * a heap reads it through one more pointer.
 */
export interface FlatPriority {
  readonly priority0: number;
  readonly priority1: number;
  readonly priority2: number;
}

/** Orders flat priorities as {@link comparePriority} orders tuples. */
export function compareFlatPriority(a: FlatPriority, b: FlatPriority): number {
  return a.priority0 - b.priority0 || a.priority1 - b.priority1 || a.priority2 - b.priority2;
}

/** Orders priorities: negative when `a` runs before `b`. */
export function comparePriority(a: Priority, b: Priority): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}
