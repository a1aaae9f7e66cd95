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

/**
 * A long list of keys as one UTF-8 buffer, the keys joined by NUL: one native encode and one
 * split instead of a msgpack string per key (the journal's largest cost per task was encoding
 * keys). Lists with a key that holds a NUL stay plain.
 */
export interface PackedKeys {
  joined: Uint8Array;
}

/** Below this many keys a plain list is as cheap. */
const PACK_KEYS_FROM = 64;
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
/** Reused: `encodeInto` a scratch buffer then one copy costs ~60 % of `encode` here. */
let scratch = new Uint8Array(64 * 1024);

export function packKeys(keys: readonly Key[]): Key[] | PackedKeys {
  if (keys.length < PACK_KEYS_FROM) return keys as Key[];
  for (const key of keys) if (key.includes("\0")) return keys as Key[];
  const joined = keys.join("\0");
  if (scratch.byteLength < 3 * joined.length) scratch = new Uint8Array(3 * joined.length);
  const { written } = utf8.encodeInto(joined, scratch);
  const bytes = scratch.slice(0, written);
  if (scratch.byteLength > 16 * 1024 * 1024) scratch = new Uint8Array(64 * 1024);
  return { joined: bytes };
}

/** Keys as {@link packKeys} left them (a plain list passes through). */
export function unpackKeys(keys: Key[] | PackedKeys): Key[] {
  return Array.isArray(keys) ? keys : fromUtf8.decode(keys.joined).split("\0");
}

/** The columns of a list of task specs. */
export interface PackedTasks {
  packed: 1;
  keys: Key[] | PackedKeys;
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
  /** Per task: how many dependencies it has (u32, little-endian). */
  depCounts?: Uint8Array;
  /** Every task's dependencies, back to back. */
  depKeys?: Key[] | PackedKeys;
  /** Per task: its dependencies (the layout before `depCounts`, still read). */
  deps?: Key[][];
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
  const depCounts = new Uint32Array(n);
  const depKeys: Key[] = [];
  let at = 0;
  for (let i = 0; i < n; i++) {
    const spec = tasks[i];
    keys[i] = spec.key;
    depCounts[i] = spec.deps.length;
    for (const dep of spec.deps) depKeys.push(dep);
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
    keys: packKeys(keys),
    fns,
    fnOf: new Uint8Array(fnOf.buffer),
    bodies,
    ends: new Uint8Array(ends.buffer),
    otherArgs,
    depCounts: new Uint8Array(depCounts.buffer),
    depKeys: packKeys(depKeys),
    extras,
  };
}

/** A little-endian u32 column (copied when its bytes are not aligned for a typed view). */
function u32Column(bytes: Uint8Array): Uint32Array {
  const aligned = bytes.byteOffset % 4 === 0 ? bytes : bytes.slice();
  return new Uint32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
}

/** Each task's dependency list, from either layout. */
function depLists(packed: PackedTasks, n: number): Key[][] {
  if (packed.deps !== undefined) return packed.deps;
  const counts = u32Column(packed.depCounts!);
  const all = unpackKeys(packed.depKeys!);
  const lists: Key[][] = new Array(n);
  for (let i = 0, at = 0; i < n; i++) {
    const count = counts[i];
    lists[i] = count === 0 ? [] : all.slice(at, at += count);
  }
  return lists;
}

export function unpackTasks(packed: PackedTasks): GraphTaskSpec[] {
  const keys = unpackKeys(packed.keys);
  const n = keys.length;
  const fnOf = u32Column(packed.fnOf);
  const ends = u32Column(packed.ends);
  const depsOf = depLists(packed, n);
  const other = new Map(packed.otherArgs);
  const extras = new Map(packed.extras);
  const tasks: GraphTaskSpec[] = new Array(n);
  let start = 0;
  for (let i = 0; i < n; i++) {
    const end = ends[i];
    const spec: GraphTaskSpec = {
      key: keys[i],
      fn: packed.fns[fnOf[i]],
      args: other.has(i) ? other.get(i) : { body: packed.bodies.subarray(start, end), frames: [] },
      deps: depsOf[i],
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
