/**
 * Function ids the scheduler vouches for. A function spec's `id` names it in every cache it
 * crosses after the scheduler: the scheduler → worker link sends a spec in full once and its id
 * afterwards, a worker's threads compile it once per id (core/function_link.ts,
 * core/function_cache.ts). A client chooses the id it sends, so a client that sent another
 * function under an id a second client uses would have its code run in place of the other's —
 * across identities under tenancy (docs/security.md), or by mistake. So the scheduler replaces
 * each spec's id with one derived from the spec's content (SHA-256; the client's own id is a
 * fast, non-cryptographic hash only fit to name functions within one client's message), and an
 * id a message names without sending its spec cannot name a function the scheduler knows.
 *
 * What counts as content: everything a worker uses to build the function — its kind, name,
 * source, module URL and export, a bound function's parts — and not where it was written
 * (`origin`, which only labels tracebacks, as co_ownership.ts compares specs).
 *
 * Cost: each message sends its functions' specs in full once (the client → scheduler link lasts
 * one message), so each message's specs are new objects. A spec named again within a message is
 * the same object and keeps its id; a spec's canonical text seen before (by any client) gives
 * the id derived then, from a bounded table: hashing every message's spec anew cost a cold
 * submit → result round trip about 30 µs of the scheduler's CPU (2026-12-06). The same text
 * gives the same digest, so the table changes no id.
 *
 * @module
 */

import { createHash } from "node:crypto";
import type { GraphTaskSpec } from "../protocol/messages.ts";

/** Every id the scheduler derives starts with this; a client's ids never reach a worker. */
const DERIVED = "sha256:";
/** A message named a function by an id it did not send: kept unresolvable (it fails the task). */
const UNSENT = "unsent:";
/** Specs nest shallowly (a bound function's parts); a deeper one is not hashed but refused. */
const MAX_DEPTH = 64;

/** Specs whose ids this module derived: each keeps its id (nothing else changes a spec). */
const vouched = new WeakSet<object>();
/** Derived ids by canonical text, for specs that arrive again in later messages. */
const idsByText = new Map<string, string>();
/** The table is emptied when its texts pass this many characters (a few MB at most). */
const MAX_TEXT_CHARS = 4_000_000;
let textChars = 0;
/** How many specs were hashed so far (tests read it). */
let hashed = 0;

/** How many function specs this process hashed so far. */
export function specsHashed(): number {
  return hashed;
}

/**
 * Gives every function spec of one `update-graph` message (already expanded: function_link.ts)
 * its content-derived id, in place. A `fn` left as a string (an id the message never sent in
 * full) is one no worker knows — a string naming a derived id is made into one — so its task
 * fails on the worker naming it.
 */
export function deriveFunctionIds(specs: GraphTaskSpec[]): void {
  for (let i = 0; i < specs.length; i++) {
    const fn = specs[i].fn;
    if (typeof fn === "string") {
      // only a derived id could name a function a worker knows (its specs all came from here)
      if (fn.startsWith(DERIVED)) specs[i].fn = UNSENT + fn;
    } else if (isSpecLike(fn) && !vouched.has(fn)) {
      // a refused spec is refused again wherever it is named (it never keeps the client's id)
      if (assignId(fn, 0)) vouched.add(fn);
      else specs[i].fn = `${UNSENT}too deep`;
    }
  }
}

/**
 * A function spec, or something sent as one (a `kind` or an `id`): anything else in `fn` is no
 * function a worker caches (the state machine's tests carry opaque payloads there).
 */
function isSpecLike(fn: unknown): fn is Record<string, unknown> {
  return fn !== null && typeof fn === "object" && ("id" in fn || "kind" in fn);
}

/** Sets `spec.id` (and its parts' ids) from its content; false when it nests too deep. */
function assignId(spec: Record<string, unknown>, depth: number): boolean {
  const text = canonical(spec, depth);
  if (text === undefined) return false;
  spec.id = idOfText(text);
  // a bound function's parts are cached by their own ids in the threads: derive them too
  for (const part of [spec.factory, ...(Array.isArray(spec.fns) ? spec.fns : [])]) {
    if (part !== null && typeof part === "object" && !Array.isArray(part)) {
      if (!assignId(part as Record<string, unknown>, depth + 1)) return false;
    }
  }
  return true;
}

/** The derived id of a canonical text: the one derived before, or its digest now. */
function idOfText(text: string): string {
  const known = idsByText.get(text);
  if (known !== undefined) return known;
  hashed++;
  const id = DERIVED + createHash("sha256").update(text).digest("base64url");
  if (textChars + text.length > MAX_TEXT_CHARS) {
    idsByText.clear();
    textChars = 0;
  }
  idsByText.set(text, id);
  textChars += text.length;
  return id;
}

/**
 * An unambiguous text of a decoded msgpack value, object keys sorted, specs' `id` and `origin`
 * left out (at every level: a bound function's parts are specs). Undefined past MAX_DEPTH.
 */
function canonical(value: unknown, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return undefined;
  if (value === null || value === undefined) return "n";
  switch (typeof value) {
    case "string":
      return JSON.stringify(value);
    case "number":
    case "bigint":
      return `d${value}`;
    case "boolean":
      return value ? "t" : "f";
    case "object":
      break;
    default:
      return "n";
  }
  if (value instanceof Uint8Array) {
    let hex = "";
    for (let i = 0; i < value.byteLength; i++) hex += value[i].toString(16).padStart(2, "0");
    return `b${hex}`;
  }
  const parts: string[] = [];
  if (Array.isArray(value)) {
    for (const item of value) {
      const text = canonical(item, depth + 1);
      if (text === undefined) return undefined;
      parts.push(text);
    }
    return `[${parts.join(",")}]`;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record).sort()) {
    if (key === "id" || key === "origin") continue;
    const text = canonical(record[key], depth + 1);
    if (text === undefined) return undefined;
    parts.push(`${JSON.stringify(key)}:${text}`);
  }
  return `{${parts.join(",")}}`;
}
