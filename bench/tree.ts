/** The `delayed` tree reduction the benchmarks run: 2 × leaves − 1 tasks. */

import { type Delayed, delayed } from "../mod.ts";

const inc = (x: number) => x + 1;
const add = (x: number, y: number) => x + y;

/** Leaves `inc(i)` for i < leaves, summed pairwise; the result is leaves × (leaves + 1) / 2. */
export function treeReductionOf(leaves: number): Delayed<number> {
  let level: Delayed<number>[] = [];
  for (let i = 0; i < leaves; i++) level.push(delayed(inc)(i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(i + 1 < level.length ? delayed(add)(level[i], level[i + 1]) : level[i]);
    }
    level = next;
  }
  return level[0];
}
