/**
 * A function spec crosses each link once: the sending end sends it in full the first time and
 * its id afterwards, the receiving end keeps what arrived in full and expands ids back. One
 * idea used at every hop a task's function takes (docs/protocol.md §2, §3): client → scheduler,
 * scheduler → each worker, worker → each of its threads, and the local `threads` scheduler →
 * each thread. A map over a million items then encodes, sends and decodes its function's source
 * once per link, not a million times.
 *
 * A link's two ends must agree on its lifetime: when the link is replaced (a reconnection, a
 * restarted thread), the sender is `reset()` or made anew and the receiver starts empty.
 *
 * @module
 */

import type { FunctionSpec } from "./function_codec.ts";

/** True for a function spec (it has a string `id`); literals' `fn` is `null`. */
function isSpec(fn: unknown): fn is FunctionSpec {
  return fn !== null && typeof fn === "object" && typeof (fn as { id?: unknown }).id === "string";
}

/** The sending end of one link. */
export class FunctionSender {
  readonly #sent = new Set<string>();

  /**
   * The form of `fn` to send on this link: the whole spec the first time, then its id.
   * Anything that is not a spec (`null` for a literal) goes as it is.
   */
  shrink<T>(fn: T): T | string {
    if (!isSpec(fn)) return fn;
    if (this.#sent.has(fn.id)) return fn.id;
    this.#sent.add(fn.id);
    return fn;
  }

  /** The link was replaced: every spec goes in full again. */
  reset(): void {
    this.#sent.clear();
  }
}

/** The receiving end of one link. */
export class FunctionReceiver {
  readonly #specs = new Map<string, FunctionSpec>();

  /**
   * The full spec for what arrived: a spec is kept (and returned), an id gives the spec that
   * came in full before it. An id never sent in full, or anything else, is returned as it is
   * (the task then fails where its function is needed, naming it).
   */
  expand(fn: FunctionSpec | string): FunctionSpec | string;
  /** Expands a message's `fn` field as it arrived (a spec, an id, or `null` for a literal). */
  expand(fn: unknown): unknown;
  expand(fn: unknown): unknown {
    if (typeof fn === "string") return this.#specs.get(fn) ?? fn;
    if (isSpec(fn)) this.#specs.set(fn.id, fn);
    return fn;
  }
}
