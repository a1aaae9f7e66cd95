/**
 * Helpers of the benchmarks that run two checkouts side by side in one run (new against old,
 * alternating): a checkout's folder from a flag, and the summary of the rounds' ratios.
 *
 * @module
 */

import { median } from "./measure.ts";

/** A checkout's folder as an absolute path ending in "/" (relative to the working folder). */
export function treePath(path: string): string {
  return new URL(path.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`).pathname;
}

/** One round's figures of one tree, by name. */
export type Row = Record<string, number>;

/**
 * Prints, per figure, each tree's median over the rounds and the median and range of the
 * rounds' ratios (new / old; round i of one tree beside round i of the other).
 */
export function printRatios(rows: Record<"old" | "new", Row[]>, digits = 2): void {
  for (const name of Object.keys(rows.new[0])) {
    const oldValues = rows.old.map((row) => row[name]);
    const newValues = rows.new.map((row) => row[name]);
    const ratios = newValues.map((value, i) => value / oldValues[i]);
    console.log(
      `${name}: new ${median(newValues).toFixed(digits)}, old ${
        median(oldValues).toFixed(digits)
      }; ratio median ${median(ratios).toFixed(2)}× (pairs ${Math.min(...ratios).toFixed(2)}–${
        Math.max(...ratios).toFixed(2)
      }×)`,
    );
  }
}
