/**
 * Actor handles, the side every process shares: what a handle is (the actor's key, the worker
 * that holds it, its class name and method names), how one travels (the value codec's
 * `EXT_ACTOR`), and the typed proxy that turns `handle.method(...)` into a call and
 * `handle.attribute` into a read. How a call reaches the worker is not known here: a
 * {@link ActorTransport} does it (client/actors.ts, over the caller's peer connections).
 *
 * @module
 */

/** What identifies an actor and what it offers: the payload of the codec's `EXT_ACTOR`. */
export interface ActorRecord {
  /** The key of the task that built it. */
  key: string;
  /** The worker holding it (its peer address). */
  worker: string;
  /** Its class's name, for messages. */
  className: string;
  /** Its methods: these names are calls, every other name is an attribute read. */
  methods: string[];
}

/** How a handle's calls and reads reach the actor's worker. */
export interface ActorTransport {
  /** Calls `method(...args)` on the actor; resolves with what it returned (awaited). */
  call(actor: ActorRecord, method: string, args: unknown[]): Promise<unknown>;
  /** Reads attribute `name` of the actor. */
  read(actor: ActorRecord, name: string): Promise<unknown>;
}

/**
 * A handle to an actor: each method of `T` becomes a call that returns a promise of its
 * (awaited) result, run on the actor's worker; every other property becomes a promise of the
 * attribute's current value there.
 *
 * @example
 * ```ts
 * import { type ActorHandle, Client } from "./mod.ts";
 *
 * class Counter {
 *   n = 0;
 *   increment(by = 1) {
 *     this.n += by;
 *     return this.n;
 *   }
 * }
 * await using client = await Client.local({ nWorkers: 1 });
 * const counter: ActorHandle<Counter> = await client.actor(Counter);
 * await counter.increment(); // 1
 * console.log(await counter.n); // 1
 * ```
 */
export type ActorHandle<T> = {
  readonly [K in keyof T]: T[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : Promise<T[K]>;
};

const RECORDS = new WeakMap<object, ActorRecord>();
const BOUND = new WeakMap<object, { transport: ActorTransport; keepAlive?: unknown }>();

let defaultTransport: ActorTransport | null = null;
/** The transport of the client decoding now (see {@link decodingFor}). */
let decoding: ActorTransport | null = null;

/**
 * Runs `decode` (synchronous) so that the actor handles it makes call through `transport`: a
 * client binds the handles in the values it reads (results, queue items, variables).
 */
export function decodingFor<T>(transport: ActorTransport, decode: () => T): T {
  const outer = decoding;
  decoding = transport;
  try {
    return decode();
  } finally {
    decoding = outer;
  }
}
let transportLoader: (() => Promise<unknown>) | null = null;

/** Sets the transport of handles not bound to one (client/actors.ts, when it loads). */
export function setDefaultActorTransport(transport: ActorTransport): void {
  defaultTransport = transport;
}

/**
 * Where a thread finds the default transport on first use: a task thread imports the client
 * code only when a task calls an actor.
 */
export function setActorTransportLoader(load: () => Promise<unknown>): void {
  transportLoader = load;
}

async function transportOf(handle: object): Promise<ActorTransport> {
  const bound = BOUND.get(handle);
  if (bound !== undefined) return bound.transport;
  if (defaultTransport === null && transportLoader !== null) await transportLoader();
  if (defaultTransport === null) {
    throw new Error(
      "An actor handle was used where no client is loaded; use it through a Client " +
        "(import the library's mod.ts) or inside a task.",
    );
  }
  return defaultTransport;
}

/** The record behind a handle, or undefined when `value` is not one. */
export function actorRecordOf(value: unknown): ActorRecord | undefined {
  return typeof value === "object" && value !== null ? RECORDS.get(value) : undefined;
}

/**
 * Makes a handle's calls go through `transport` (the client that made the actor) and keeps
 * `keepAlive` (its Future, so the actor's key stays held) as long as the handle lives.
 */
export function bindActorHandle(
  handle: object,
  transport: ActorTransport,
  keepAlive?: unknown,
): void {
  BOUND.set(handle, { transport, keepAlive });
}

/** A handle's proxy target: not a plain object, so data walkers and codecs leave it whole. */
class ActorHandleTarget {}

const INSPECT = Symbol.for("Deno.customInspect");
const NODE_INSPECT = Symbol.for("nodejs.util.inspect.custom");

/** The handle of an actor: a proxy whose properties are calls and reads on its worker. */
export function actorHandle<T = unknown>(record: ActorRecord): ActorHandle<T> {
  const methods = new Set(record.methods);
  const describe = () => `Actor<${record.className}>(${record.key} on ${record.worker})`;
  const target = Object.create(ActorHandleTarget.prototype) as Record<PropertyKey, unknown>;
  const callers = new Map<string, (...args: unknown[]) => Promise<unknown>>();
  const handle: object = new Proxy(target, {
    get(_target, name) {
      if (typeof name === "symbol") {
        if (name === INSPECT || name === NODE_INSPECT || name === Symbol.toPrimitive) {
          return describe;
        }
        return undefined;
      }
      // not a thenable: `await handle` gives the handle
      if (name === "then") return undefined;
      if (name === "toString" || name === "toJSON") return describe;
      if (methods.has(name)) {
        let caller = callers.get(name);
        if (caller === undefined) {
          caller = async (...args: unknown[]) =>
            await (await transportOf(handle)).call(record, name, args);
          callers.set(name, caller);
        }
        return caller;
      }
      return transportOf(handle).then((transport) => transport.read(record, name));
    },
    set(_target, name) {
      throw new TypeError(
        `Cannot set ${String(name)} on ${describe()}: an actor's state changes only through ` +
          `its methods; add a method that sets it.`,
      );
    },
    has(_target, name) {
      return typeof name === "string" && methods.has(name);
    },
  });
  RECORDS.set(handle, record);
  if (decoding !== null) BOUND.set(handle, { transport: decoding });
  return handle as ActorHandle<T>;
}

/**
 * The method names of an actor instance: functions on its prototype chain (up to, not
 * including, `Object.prototype`) and function-valued own properties, without `constructor`.
 */
export function actorMethods(instance: object): string[] {
  const names = new Set<string>();
  for (const [name, value] of Object.entries(instance)) {
    if (typeof value === "function") names.add(name);
  }
  for (
    let proto = Object.getPrototypeOf(instance);
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto)
  ) {
    for (const name of Object.getOwnPropertyNames(proto)) {
      if (name === "constructor") continue;
      const descriptor = Object.getOwnPropertyDescriptor(proto, name);
      if (descriptor !== undefined && typeof descriptor.value === "function") names.add(name);
    }
  }
  return [...names];
}
