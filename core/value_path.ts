/**
 * Paths into values (`args[0].config.items[3]`) and the error for a value that has no end: a
 * reference cycle, or nesting deeper than any message may be. Every walk over task arguments
 * (core/task.ts, core/tokenize.ts, core/value_codec.ts) ends in {@link endlessValueError} when it
 * goes too deep, so a cyclic argument is answered with the path of its cycle, never with a stack
 * overflow.
 *
 * @module
 */

import { MAX_NESTING_DEPTH } from "./codec_kinds.ts";
import { UnserializableError } from "./errors.ts";

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** The path segment of an object property: `.name`, or `["odd key"]`. */
export function keySegment(key: string): string {
  return IDENTIFIER.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** How a Map key is shown in a `.get(…)` segment. */
export function mapKeyText(key: unknown): string {
  if (typeof key === "string") return JSON.stringify(key);
  if (typeof key === "bigint") return `${key}n`;
  if (key === null || typeof key !== "object" && typeof key !== "function") return String(key);
  return Array.isArray(key) ? "[…]" : "{…}";
}

/** `rootName` followed by `segments`, with the middle left out when it is very long. */
export function pathText(rootName: string, segments: readonly string[]): string {
  const MAX_SHOWN = 24;
  if (segments.length <= MAX_SHOWN) return rootName + segments.join("");
  const head = segments.slice(0, 12).join("");
  const tail = segments.slice(-8).join("");
  return `${rootName}${head}…(${segments.length - 20} more levels)…${tail}`;
}

/** What to do about a cycle. */
export const HINT_CYCLE = "Messages are trees of data: replace the back reference by an " +
  "identifier (for example a key) and rebuild the link after receiving.";
/** What to do about a value nested too deeply. */
export const HINT_DEPTH = "Flatten the structure, for example into an array of records.";
/** What a value nested too deeply is. */
export const TOO_DEEP = `nested more than ${MAX_NESTING_DEPTH} levels deep`;

/** The error for a cycle: `path` refers back to `target`, one of its own containers. */
export function cycleError(path: string, target: string): UnserializableError {
  return new UnserializableError(path, `a reference back to ${target} (a cycle)`, HINT_CYCLE);
}

/** A reference cycle found in a value: where the back reference sits and what it points to. */
export interface FoundCycle {
  /** Path of the back reference, e.g. `args[0].self`. */
  path: string;
  /** Path of the container it refers back to, e.g. `args[0]`. */
  target: string;
}

/**
 * The first reference cycle inside `root` through arrays, plain objects, Maps and Sets (the
 * containers that travel), or undefined. Shared (acyclic) references are no cycle; each container
 * is explored once, so the search is linear in the size of the value.
 */
export function findCycle(root: unknown, rootName: string): FoundCycle | undefined {
  const onPath = new Map<object, number>(); // container → its depth on the current path
  const explored = new Set<object>();
  const segments: string[] = [];
  const visit = (value: unknown): FoundCycle | undefined => {
    if (value === null || typeof value !== "object") return undefined;
    const depth = onPath.get(value);
    if (depth !== undefined) {
      return {
        path: pathText(rootName, segments),
        target: pathText(rootName, segments.slice(0, depth)),
      };
    }
    if (explored.has(value) || segments.length > MAX_NESTING_DEPTH) return undefined;
    const children = childrenOf(value);
    if (children === undefined) return undefined;
    onPath.set(value, segments.length);
    for (const [segment, child] of children) {
      segments.push(segment);
      const found = visit(child);
      segments.pop();
      if (found !== undefined) return found;
    }
    onPath.delete(value);
    explored.add(value);
    return undefined;
  };
  return visit(root);
}

/** The containers a walk over task arguments looks into, with each child's path segment. */
function childrenOf(value: object): Iterable<[string, unknown]> | undefined {
  if (Array.isArray(value)) return value.map((v, i) => [`[${i}]`, v]);
  if (value instanceof Map) {
    return [...value].flatMap(([k, v], i) => [[`.keys()[${i}]`, k], [`.get(${mapKeyText(k)})`, v]]);
  }
  if (value instanceof Set) return [...value].map((v, i) => [`.values()[${i}]`, v]);
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return undefined;
  return Object.keys(value).map((k) => [keySegment(k), (value as Record<string, unknown>)[k]]);
}

/**
 * The error for a value a walk found nested deeper than {@link MAX_NESTING_DEPTH}: the path of
 * its cycle when it has one, else that it is too deep.
 */
export function endlessValueError(root: unknown, rootName: string): UnserializableError {
  const cycle = findCycle(root, rootName);
  if (cycle !== undefined) return cycleError(cycle.path, cycle.target);
  return new UnserializableError(rootName, `a value ${TOO_DEEP}`, HINT_DEPTH);
}

/**
 * Thrown inside a recursive walk that went deeper than {@link MAX_NESTING_DEPTH}; the walk's
 * entry, which knows the root, turns it into {@link endlessValueError}.
 */
export class TooDeep {}
