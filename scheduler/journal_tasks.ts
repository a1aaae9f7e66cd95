/**
 * Task specs as the journal stores them: in columns, not one msgpack map per task. A 100,000-task
 * graph is then a few strings arrays and byte buffers — every task's argument bytes in one buffer,
 * every distinct function once — which encodes and, above all, decodes (a restarted scheduler
 * reads it before it answers anyone) several times faster than 100,000 small maps. Arguments that
 * are not a plain encoded body (frames, or already another shape) keep their own slot.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { GraphTaskSpec } from "../protocol/messages.ts";

/** The columns of a list of task specs. */
export interface PackedTasks {
  packed: 1;
  keys: Key[];
  /** Each distinct function (or literal marker) once. */
  fns: unknown[];
  /** Per task: its function's index in `fns` (u32, little-endian). */
  fnOf: Uint8Array;
  /** Every task's argument body, back to back. */
  bodies: Uint8Array;
  /** Per task: where its body ends in `bodies` (u32, little-endian). */
  ends: Uint8Array;
  /** Arguments that are not a frameless `{ body, frames: [] }`, by task index. */
  otherArgs: [number, unknown][];
  /** Per task: its dependencies (empty lists are the common case). */
  deps: Key[][];
  /** Options, `returnValue` and fused parts, by task index, for the tasks that have them. */
  extras: [
    number,
    { options?: GraphTaskSpec["options"]; returnValue?: true; parts?: GraphTaskSpec["parts"] },
  ][];
}

interface PlainArgs {
  body: Uint8Array;
  frames: unknown[];
}

function isPlainArgs(args: unknown): args is PlainArgs {
  const a = args as PlainArgs | null;
  return a !== null && typeof a === "object" && a.body instanceof Uint8Array &&
    Array.isArray(a.frames) && a.frames.length === 0;
}

/** Functions are compared by their spec id (the same function has the same id). */
function functionId(fn: unknown): unknown {
  return fn !== null && typeof fn === "object" && typeof (fn as { id?: unknown }).id === "string"
    ? (fn as { id: string }).id
    : fn;
}

export function packTasks(tasks: readonly GraphTaskSpec[]): PackedTasks {
  const n = tasks.length;
  const fnIndex = new Map<unknown, number>();
  const fns: unknown[] = [];
  const fnOf = new Uint32Array(n);
  const ends = new Uint32Array(n);
  let total = 0;
  for (const spec of tasks) if (isPlainArgs(spec.args)) total += spec.args.body.byteLength;
  const bodies = new Uint8Array(total);
  const otherArgs: [number, unknown][] = [];
  const extras: PackedTasks["extras"] = [];
  const keys: Key[] = new Array(n);
  const deps: Key[][] = new Array(n);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const spec = tasks[i];
    keys[i] = spec.key;
    deps[i] = spec.deps;
    const id = functionId(spec.fn);
    let index = fnIndex.get(id);
    if (index === undefined) {
      fnIndex.set(id, index = fns.length);
      fns.push(spec.fn);
    }
    fnOf[i] = index;
    if (isPlainArgs(spec.args)) {
      bodies.set(spec.args.body, at);
      at += spec.args.body.byteLength;
    } else otherArgs.push([i, spec.args]);
    ends[i] = at;
    if (
      spec.options !== undefined || spec.returnValue !== undefined || spec.parts !== undefined
    ) {
      const extra: PackedTasks["extras"][number][1] = {};
      if (spec.options !== undefined) extra.options = spec.options;
      if (spec.returnValue !== undefined) extra.returnValue = spec.returnValue;
      if (spec.parts !== undefined) extra.parts = spec.parts;
      extras.push([i, extra]);
    }
  }
  return {
    packed: 1,
    keys,
    fns,
    fnOf: new Uint8Array(fnOf.buffer),
    bodies,
    ends: new Uint8Array(ends.buffer),
    otherArgs,
    deps,
    extras,
  };
}

/** A little-endian u32 column (copied when its bytes are not aligned for a typed view). */
function u32Column(bytes: Uint8Array): Uint32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

export function unpackTasks(packed: PackedTasks): GraphTaskSpec[] {
  const n = packed.keys.length;
  const fnOf = u32Column(packed.fnOf);
  const ends = u32Column(packed.ends);
  const other = new Map(packed.otherArgs);
  const extras = new Map(packed.extras);
  const tasks: GraphTaskSpec[] = new Array(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i];
    const spec: GraphTaskSpec = {
      key: packed.keys[i],
      fn: packed.fns[fnOf[i]],
      args: other.has(i) ? other.get(i) : { body: packed.bodies.subarray(start, end), frames: [] },
      deps: packed.deps[i],
    };
    start = end;
    const extra = extras.get(i);
    if (extra?.options !== undefined) spec.options = extra.options;
    if (extra?.returnValue !== undefined) spec.returnValue = extra.returnValue;
    if (extra?.parts !== undefined) spec.parts = extra.parts;
    tasks[i] = spec;
  }
  return tasks;
}
