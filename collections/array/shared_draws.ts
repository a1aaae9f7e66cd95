/**
 * Blocks that draw the same random blocks are computed by one task. Random blocks are drawn
 * inside each task that reads them (plan.ts: moving a drawn block costs more than drawing it
 * again), so in `x + x.T` the blocks `[i,j]` and `[j,i]` of the sum each draw both `x[i,j]` and
 * `x[j,i]`. Here two blocks whose expressions draw exactly the same set of two or more random
 * blocks become one task that draws each once and gives both results (a list); each block's own
 * task takes its item from it, a small transfer of the result only.
 *
 * Pairs, not larger groups: a block drawn by many readers (a broadcast) would otherwise fold
 * them all into one task and lose their parallelism.
 *
 * @module
 */
import { type Key, TaskRef } from "../../core/task.ts";
import { blockExpr, isBlockExpr } from "./block_expr.ts";

/** The identity of a random draw: its parameters (shape, distribution, seed, stream, dtype). */
export function drawKey(params: unknown): string {
  return JSON.stringify(params);
}

/** The sorted identities of the random draws in `expr`, joined; "" when fewer than two. */
function drawsOf(expr: unknown): string {
  const found = new Set<string>();
  const walk = (e: unknown) => {
    if (!isBlockExpr(e)) return;
    if (e.$op === "random") found.add(drawKey(e.params));
    for (const arg of e.args) walk(arg);
  };
  walk(expr);
  return found.size < 2 ? "" : [...found].sort().join("\n");
}

/** What pairing made: the expressions to put under the original keys, and the shared tasks. */
export interface SharedDraws {
  /** Per block: its expression, or one that takes its item from a shared task. */
  exprs: unknown[];
  /** Shared tasks: their keys and expressions (a list of the pair's expressions). */
  shared: { key: Key; expr: unknown }[];
}

/**
 * Pairs the blocks whose expressions draw the same random blocks. `sharedKey(i)` names the
 * shared task of a pair whose first block is block `i`.
 */
export function shareRandomDraws(
  exprs: readonly unknown[],
  sharedKey: (first: number) => Key,
): SharedDraws {
  const out = [...exprs];
  const shared: { key: Key; expr: unknown }[] = [];
  const waiting = new Map<string, number>();
  exprs.forEach((expr, i) => {
    const draws = drawsOf(expr);
    if (draws === "") return;
    const first = waiting.get(draws);
    if (first === undefined) {
      waiting.set(draws, i);
      return;
    }
    waiting.delete(draws);
    const key = sharedKey(first);
    shared.push({ key, expr: blockExpr("list", null, [exprs[first], expr]) });
    out[first] = blockExpr("field", { name: "0" }, [new TaskRef(key)]);
    out[i] = blockExpr("field", { name: "1" }, [new TaskRef(key)]);
  });
  return { exprs: out, shared };
}
