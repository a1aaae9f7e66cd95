/**
 * Joining two tables inside a task with pandas' `merge` semantics: key columns once, other
 * columns that both sides have get the suffixes (`_x`, `_y` by default), left columns first. A
 * right join is a left join with the sides swapped, its columns put back in pandas' order.
 *
 * @module
 */

import { concatFrames, type Frame } from "./polars.ts";

/** How to join. */
export type JoinHow = "inner" | "left" | "right" | "outer";

/** A join of two frames on key columns of the same names. */
export interface JoinSpec {
  on: string[];
  how: JoinHow;
  suffixes: [string, string];
}

function withSuffixes(left: Frame, right: Frame, spec: JoinSpec): [Frame, Frame] {
  const keys = new Set(spec.on);
  const rightColumns = new Set(right.columns);
  const both = left.columns.filter((c) => !keys.has(c) && rightColumns.has(c));
  if (both.length === 0) return [left, right];
  const rename = (frame: Frame, suffix: string) =>
    frame.rename(Object.fromEntries(both.map((c) => [c, `${c}${suffix}`])));
  return [rename(left, spec.suffixes[0]), rename(right, spec.suffixes[1])];
}

/** `left` merged with `right`. */
export function joinFrames(left: Frame, right: Frame, spec: JoinSpec): Frame {
  const [l, r] = withSuffixes(left, right, spec);
  if (spec.how === "right") {
    const joined = r.join(l, { on: spec.on, how: "left", coalesce: true });
    const order = [...l.columns, ...r.columns.filter((c) => !spec.on.includes(c))];
    return joined.select(...order);
  }
  const how = spec.how === "outer" ? "full" : spec.how;
  return l.join(r, { on: spec.on, how, coalesce: true });
}

/** Joins the pieces of one output of a shuffle join (or one partition with a broadcast side). */
export function joinPieces(spec: JoinSpec, lefts: Frame[], rights: Frame[]): Frame {
  return joinFrames(concatFrames(lefts), concatFrames(rights), spec);
}
