/**
 * Co-ownership under tenancy (tenancy.ts, docs/security.md): keys are content addresses, so two
 * identities computing the same pure task (`inc(1)`) name the same key. An identity that submits,
 * for a key another identity owns, exactly the spec the scheduler stores — the same function,
 * arguments and inputs — becomes one more owner: it could compute the value itself, so sharing it
 * gives away nothing but timing. Any other spec under that key is an overwrite, refused as before,
 * and so is a graph that reads a foreign key it does not submit. A key joins only with its whole
 * lineage: each input must be readable by the joining identity already, or join in the same graph
 * (else the joiner could make the owner's task fail by naming inputs it may not read).
 *
 * Pure functions over the scheduler's records; client_intake.ts applies them.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { GraphTaskSpec } from "../protocol/messages.ts";
import { unpackArgs } from "./args_arena.ts";
import type { TaskRecord } from "./records.ts";

/**
 * Whether `spec` asks for exactly what `task` stores: the same function (where it was written,
 * `origin`, aside: it only labels tracebacks), the same encoded arguments byte for byte, and the
 * same inputs. Data that was scattered has no spec to match, and an actor is never shared.
 */
export function sameTaskSpec(task: TaskRecord, spec: GraphTaskSpec): boolean {
  if (!task.runnable || task.lostLineage) return false;
  // an actor is state its holders change, not a value anyone could compute: never shared
  if (task.actor || spec.options?.actor === true) return false;
  if (!sameValue(contentOf(task.fn), contentOf(spec.fn))) return false;
  if (!sameValue(unpackArgs(task.args), spec.args)) return false;
  const stored = task.dependencies;
  const named = new Set<Key>(spec.deps);
  if (named.size !== stored.length) return false;
  for (let i = 0; i < stored.length; i++) if (!named.has(stored[i].key)) return false;
  return true;
}

/**
 * Of `candidates` (foreign tasks whose spec matched), those an identity may join: each of their
 * inputs is readable by it (`readable`) or a candidate it may join too. Iterative, so a long
 * chain needs no deep stack; an input met again while its own inputs are being looked at (a cycle,
 * which an accepted graph does not have) counts as refused.
 */
export function joinableTasks(
  candidates: ReadonlySet<TaskRecord>,
  readable: (task: TaskRecord) => boolean,
): Set<TaskRecord> {
  const verdicts = new Map<TaskRecord, boolean>();
  const examining = new Set<TaskRecord>(); // on the stack with inputs still undecided
  for (const root of candidates) {
    const stack = [root];
    while (stack.length > 0) {
      const at = stack.length - 1;
      const task = stack[at];
      if (verdicts.has(task)) {
        stack.pop();
        continue;
      }
      examining.add(task);
      let verdict: boolean | undefined = true;
      for (const dep of task.dependencies) {
        if (readable(dep)) continue;
        const known = verdicts.get(dep);
        if (known === true) continue;
        if (known === false || !candidates.has(dep) || examining.has(dep)) {
          verdict = false;
          break;
        }
        stack.push(dep);
        verdict = undefined; // decided once its inputs are
      }
      if (verdict === undefined) continue;
      verdicts.set(task, verdict);
      examining.delete(task);
      stack.length = at; // with any inputs pushed before a refusal
    }
  }
  const joinable = new Set<TaskRecord>();
  for (const [task, verdict] of verdicts) if (verdict === true) joinable.add(task);
  return joinable;
}

/**
 * A function spec without its `origin` and `id` (also inside a bound function's parts, to a
 * depth): the id is derived from the rest (function_identity.ts), so the rest decides.
 */
function contentOf(fn: unknown, depth = 0): unknown {
  if (fn === null || typeof fn !== "object" || Array.isArray(fn)) return fn;
  if (depth > MAX_COMPARED_DEPTH) return fn; // then compared as it is (and found too deep)
  const { origin: _origin, id: _id, ...rest } = fn as Record<string, unknown>;
  if (Array.isArray(rest.fns)) rest.fns = rest.fns.map((part) => contentOf(part, depth + 1));
  if (rest.factory !== undefined) rest.factory = contentOf(rest.factory, depth + 1);
  return rest;
}

/**
 * Nesting deeper than this is not compared (not the same: refused). Specs are shallow — a bound
 * function's parts, an `Encoded` — and a hostile pair of deep ones must not exhaust the stack.
 */
const MAX_COMPARED_DEPTH = 64;

/** Structural equality of decoded msgpack values: bytes by content, objects by their entries. */
function sameValue(a: unknown, b: unknown, depth = 0): boolean {
  if (a === b) return true;
  if (depth > MAX_COMPARED_DEPTH) return false;
  if (a === null || b === null || typeof a !== "object" || typeof b !== "object") return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return false;
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length !== bKeys.length) return false;
  const bRecord = b as Record<string, unknown>;
  for (const key of aKeys) {
    if (!Object.hasOwn(bRecord, key)) return false;
    if (!sameValue((a as Record<string, unknown>)[key], bRecord[key], depth + 1)) return false;
  }
  return true;
}
