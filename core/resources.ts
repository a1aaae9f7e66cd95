/**
 * Abstract resources (`{ GPU: 1 }`): whether a worker's free amounts cover a task's needs. One
 * rule for the scheduler (placing a task) and the worker (starting it), so they never disagree.
 *
 * @module
 */

/** Amounts by resource name. */
export type ResourceAmounts = Readonly<Record<string, number>>;

/** True when `total - used` covers `required` for every resource `required` names. */
export function resourcesFree(
  total: ResourceAmounts,
  used: ResourceAmounts,
  required: ResourceAmounts,
): boolean {
  for (const name in required) {
    const free = (total[name] ?? 0) - (used[name] ?? 0);
    // Tolerate float error from repeated += / -= of fractional amounts.
    if (free + 1e-9 < required[name]) return false;
  }
  return true;
}
