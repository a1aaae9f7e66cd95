/**
 * Joining two tables inside a task with pandas' `merge` semantics: a key that has the same name
 * on both sides appears once, keys of different names (`leftOn`/`rightOn`) both appear; other
 * columns that both sides have get the suffixes (`_x`, `_y` by default), left columns first. A
 * right join is a left join with the sides swapped, its columns put back in pandas' order.
 *
 * @module
 */

import { concatFrames, type Frame, pl } from "./polars.ts";

/** How to join. */
export type JoinHow = "inner" | "left" | "right" | "outer";

/** A join of two frames on key columns, pairwise `leftOn[i]` = `rightOn[i]`. */
export interface JoinSpec {
  leftOn: string[];
  rightOn: string[];
  how: JoinHow;
  suffixes: [string, string];
}

// the name Polars gives the right copy of a same-named key before it is coalesced away
const RIGHT_KEY = "\u0000right";

/** The spec with overlapping non-key columns renamed on both sides (keys renamed along). */
function withSuffixes(left: Frame, right: Frame, spec: JoinSpec): [Frame, Frame, JoinSpec] {
  const shared = new Set(spec.leftOn.filter((k, i) => spec.rightOn[i] === k));
  const rightColumns = new Set(right.columns);
  const both = left.columns.filter((c) => !shared.has(c) && rightColumns.has(c));
  if (both.length === 0) return [left, right, spec];
  const renamed = (suffix: string) => (c: string) => both.includes(c) ? `${c}${suffix}` : c;
  const [toLeft, toRight] = [renamed(spec.suffixes[0]), renamed(spec.suffixes[1])];
  const rename = (frame: Frame, to: (c: string) => string) =>
    frame.rename(Object.fromEntries(both.map((c) => [c, to(c)])));
  return [
    rename(left, toLeft),
    rename(right, toRight),
    { ...spec, leftOn: spec.leftOn.map(toLeft), rightOn: spec.rightOn.map(toRight) },
  ];
}

/** A left or inner/full join; same-named keys once (the value of whichever side has one). */
function joinOnKeys(l: Frame, r: Frame, spec: JoinSpec, how: "left" | "inner" | "full"): Frame {
  const { leftOn, rightOn } = spec;
  if (leftOn.every((k, i) => rightOn[i] === k)) {
    return l.join(r, { on: leftOn, how, coalesce: true });
  }
  const joined = l.join(r, { leftOn, rightOn, how, coalesce: false, suffix: RIGHT_KEY });
  const shared = leftOn.filter((k, i) => rightOn[i] === k);
  if (shared.length === 0) return joined;
  return joined
    .withColumns(
      ...shared.map((k) =>
        pl.when(pl.col(k).isNull()).then(pl.col(`${k}${RIGHT_KEY}`)).otherwise(pl.col(k)).alias(k)
      ),
    )
    .drop(shared.map((k) => `${k}${RIGHT_KEY}`));
}

/** `left` merged with `right`. */
export function joinFrames(left: Frame, right: Frame, spec: JoinSpec): Frame {
  const [l, r, renamed] = withSuffixes(left, right, spec);
  const shared = new Set(renamed.rightOn.filter((k, i) => renamed.leftOn[i] === k));
  if (spec.how === "right") {
    const swapped = { ...renamed, leftOn: renamed.rightOn, rightOn: renamed.leftOn };
    const joined = joinOnKeys(r, l, swapped, "left");
    return joined.select(...l.columns, ...r.columns.filter((c) => !shared.has(c)));
  }
  return joinOnKeys(l, r, renamed, spec.how === "outer" ? "full" : spec.how);
}

/**
 * Joins the pieces of one output of a shuffle join (or one partition with a broadcast side).
 * Each input is a list of sub-pieces (a broadcast partition is a list of one): sub-piece s of
 * every left input holds the same keys as sub-piece s of every right input, so the output is the
 * join of each sub-piece's rows, concatenated — smaller hash tables, which stay in the cache
 * (measured 2026-12-05, one thread, 500,000 × 500,000 rows on an int64 key: 166–204 ms as one
 * join, 84–102 ms as 8).
 */
export function joinPieces(spec: JoinSpec, lefts: Frame[][], rights: Frame[][]): Frame {
  const sub = Math.max(...lefts.map((l) => l.length), ...rights.map((r) => r.length));
  if ([...lefts, ...rights].some((pieces) => pieces.length !== sub)) {
    throw new Error(`internal: join inputs of different sub-piece counts (expected ${sub}).`);
  }
  const joined = Array.from(
    { length: sub },
    (_, s) =>
      joinFrames(concatFrames(lefts.map((l) => l[s])), concatFrames(rights.map((r) => r[s])), spec),
  );
  return concatFrames(joined);
}
