/**
 * Block expressions: what one task of an array computes, as plain data.
 *
 * A block expression is `{ $op, params, args }`: the name of a chunk operation (see
 * chunk_tasks.ts), its static parameters, and its arguments — other block expressions, task
 * references (replaced by blocks of other tasks before the task runs), NDArrays and scalars.
 * Chains of block-by-block operations nest into one expression, so one task computes, say,
 * `sum(add(x[i,j], transpose(x[j,i])))` without sending the intermediates anywhere (Dask's
 * blockwise fusion).
 *
 * @module
 */

/** One chunk operation applied to arguments. */
export interface BlockExpr {
  readonly $op: string;
  readonly params: unknown;
  readonly args: readonly unknown[];
}

/** A block expression. `params` must be plain data (no functions, no class instances). */
export function blockExpr(op: string, params: unknown, args: readonly unknown[]): BlockExpr {
  return { $op: op, params, args };
}

/** True for block expressions (values computed by tasks are never plain objects with `$op`). */
export function isBlockExpr(value: unknown): value is BlockExpr {
  return typeof value === "object" && value !== null && Object.hasOwn(value, "$op") &&
    Object.getPrototypeOf(value) === Object.prototype;
}
