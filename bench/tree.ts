/** The `delayed` tree reduction the benchmarks run: 2 × leaves − 1 tasks. */

import { type Delayed, delayed } from "../mod.ts";

const inc = (x: number) => x + 1;
const add = (x: number, y: number) => x + y;

/**
 * Leaves `leaf(i)` for i < leaves, summed pairwise; with the default leaf (`inc`) the result is
 * leaves × (leaves + 1) / 2. The chaos tests pass a leaf that takes some CPU.
 */
export function treeReductionOf(
  leaves: number,
  leaf: (i: number) => number = inc,
): Delayed<number> {
  let level: Delayed<number>[] = [];
  for (let i = 0; i < leaves; i++) level.push(delayed(leaf)(i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? delayed(add)(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}
