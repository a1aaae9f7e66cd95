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
 * the same object and keeps its id. A spec whose content equals that of the last spec sent under
 * the same client id (compared field by field, `id` and `origin` left out as above) takes that
 * one's derived id; else a canonical text seen before (by any client) gives the id derived then;
 * else the text is hashed. Building the text and hashing it for every message was ~15 % of the
 * scheduler's CPU in a profiled cold submit → result round trip (2026-12-06). Equal content
 * gives equal text and the same text the same digest, so neither table changes an id; a client
 * id sent with other content finds no equal spec and gets that content's own id.
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
/** The last spec (without parts) sent under each client id, with its derived id. */
const lastByClientId = new Map<string, { spec: Record<string, unknown>; id: string }>();
/** The table is emptied when it holds this many client ids. */
const MAX_CLIENT_IDS = 10_000;
/** Canonical texts built and texts hashed so far (tests read them). */
const work = { texts: 0, digests: 0 };

/** How many canonical texts this process built and how many it hashed so far. */
export function functionIdWork(): { texts: number; digests: number } {
  return { ...work };
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
      if (sameAsLast(fn) || assignId(fn, 0)) vouched.add(fn);
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

/**
 * Gives `spec` the derived id of the last spec sent under its client id when their contents are
 * equal (a spec without parts only: a bound function's parts need ids of their own); true then.
 */
function sameAsLast(spec: Record<string, unknown>): boolean {
  const clientId = spec.id;
  if (typeof clientId !== "string" || "factory" in spec || "fns" in spec) return false;
  const last = lastByClientId.get(clientId);
  if (last === undefined || !sameContent(spec, last.spec, 0)) return false;
  spec.id = last.id;
  return true;
}

/** Sets `spec.id` (and its parts' ids) from its content; false when it nests too deep. */
function assignId(spec: Record<string, unknown>, depth: number): boolean {
  const clientId = spec.id;
  const text = canonical(spec, depth);
  if (text === undefined) return false;
  work.texts++;
  spec.id = idOfText(text);
  if (
    depth === 0 && typeof clientId === "string" && !("factory" in spec) && !("fns" in spec)
  ) {
    if (lastByClientId.size >= MAX_CLIENT_IDS) lastByClientId.clear();
    lastByClientId.set(clientId, { spec, id: spec.id as string });
  }
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
  work.digests++;
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
 * Whether two decoded msgpack values have equal canonical texts, compared without building them
 * (specs' `id` and `origin` left out at every level); false past MAX_DEPTH. Stricter than the
 * texts where they blur kinds (`1` and `1n`): such a pair is only sent the long way.
 */
function sameContent(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (depth > MAX_DEPTH || typeof a !== "object" || typeof b !== "object") return false;
  if (a === null || b === null) return false;
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array && b instanceof Uint8Array)) return false;
    if (a.byteLength !== b.byteLength) return false;
    for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!(Array.isArray(a) && Array.isArray(b)) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameContent(a[i], b[i], depth + 1)) return false;
    return true;
  }
  const x = a as Record<string, unknown>;
  const y = b as Record<string, unknown>;
  let count = 0;
  for (const key of Object.keys(x)) {
    if (key === "id" || key === "origin") continue;
    if (!Object.hasOwn(y, key) || !sameContent(x[key], y[key], depth + 1)) return false;
    count++;
  }
  for (const key of Object.keys(y)) if (key !== "id" && key !== "origin") count--;
  return count === 0;
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
