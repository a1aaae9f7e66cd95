/**
 * Entry point of a worker's actor thread: the actors built on this worker live here, with the
 * task threads' permissions. Each message runs at once, in arrival order, so a method's
 * synchronous part finishes before the next call starts; an async method's awaits let later
 * calls start (as Dask's async actor methods do).
 *
 * @module
 */

/// <reference lib="deno.worker" />

import { actorHandle, actorMethods, setActorTransportLoader } from "../core/actor_ref.ts";
import { recordFromError } from "../core/errors.ts";
import { FunctionCache } from "../core/function_cache.ts";
import type { FunctionSpec } from "../core/function_codec.ts";
import { substituteRefs } from "../core/task.ts";
import { runInTask, type TaskContext } from "../core/task_context.ts";
import { explainPermissionError } from "../core/task_permissions.ts";
import { decode, encode, type Encoded, transferables } from "../core/value_codec.ts";
import type { ActorOutcome } from "../protocol/actors.ts";
import type { FromActorThread, ToActorThread } from "./actor_protocol.ts";
import type { RunItem, ThreadSetup } from "./thread_protocol.ts";

/**
 * A call from a method to another actor loads the client code on first use (by a computed URL,
 * so that Deno does not read its graph ahead as the thread starts: threads/thread_entry.ts).
 */
const ACTOR_TRANSPORT = new URL("../client/actors.ts", import.meta.url).href;
setActorTransportLoader(() => import(ACTOR_TRANSPORT));

const functions = new FunctionCache();
const actors = new Map<string, { instance: Record<string, unknown>; className: string }>();
let setup: ThreadSetup | null = null;
const now = () => performance.timeOrigin + performance.now();

// an actor must not end the thread every actor of the worker lives in
const refuseEnd = (what: string) => () => {
  throw new Error(`An actor called ${what}; actors cannot end their worker's actor thread.`);
};
Object.assign(Deno, { exit: (code?: number) => refuseEnd(`Deno.exit(${code ?? ""})`)() });
self.close = refuseEnd("self.close()");

/** What a method sees as its task (getClient() inside it reaches the cluster). */
function contextOf(key: string): TaskContext {
  return {
    key,
    scheduler: setup?.scheduler ?? null,
    worker: setup?.worker ?? null,
    authToken: setup?.authToken,
    seceded: true, // an actor holds no task slot
    secede() {},
    rejoin: () => Promise.resolve(),
  };
}

function post(message: FromActorThread, encoded?: Encoded): void {
  self.postMessage(message, encoded === undefined ? [] : transferables(encoded));
}

async function create(item: RunItem): Promise<void> {
  const start = now();
  try {
    const spec = item.fn as FunctionSpec;
    let made = functions.get(spec) as unknown;
    if (made instanceof Promise) made = await made;
    const Class = made as new (...args: unknown[]) => Record<string, unknown>;
    if (typeof Class !== "function" || Class.prototype === undefined) {
      throw new TypeError(
        `An actor is built from a class (or a function called with new); ${spec.name} cannot ` +
          `be constructed.`,
      );
    }
    let args = decode(item.args) as unknown[];
    if (item.depKeys.length > 0) {
      const deps = new Map(item.depKeys.map((k, i) => [k, decode(item.depValues[i])]));
      args = args.map((a) => substituteRefs(a, (k) => deps.get(k)));
    }
    const instance = runInTask(contextOf(item.key), () => new Class(...args));
    actors.set(item.key, { instance, className: spec.name });
    const handle = actorHandle({
      key: item.key,
      worker: setup?.worker ?? "",
      className: spec.name,
      methods: actorMethods(instance),
    });
    const value = encode(handle);
    post({
      type: "created",
      result: { id: item.id, ok: true, value, nbytes: 64, typeName: "Actor", start, stop: now() },
    }, value);
  } catch (thrown) {
    const error = recordFromError(explainPermissionError(thrown), item.key);
    post({ type: "created", result: { id: item.id, ok: false, error, start, stop: now() } });
  }
}

function missing(key: string): Error {
  return new Error(
    `There is no actor ${key} on worker ${setup?.worker ?? "(unknown)"}: it was released (no ` +
      `Future or handle of it was held) or lost with its worker's actor thread.`,
  );
}

async function answer(id: number, key: string, run: () => unknown): Promise<void> {
  let outcome: ActorOutcome;
  try {
    let value = runInTask(contextOf(key), run);
    if (value !== null && typeof (value as PromiseLike<unknown>)?.then === "function") {
      value = await value;
    }
    outcome = { ok: true, value: encode(value, { rootName: `the answer of actor ${key}` }) };
  } catch (thrown) {
    outcome = { ok: false, error: recordFromError(explainPermissionError(thrown), key) };
  }
  post({ type: "answer", id, outcome }, outcome.ok ? outcome.value : undefined);
}

self.onmessage = (event: MessageEvent<ToActorThread>) => {
  const message = event.data;
  switch (message.type) {
    case "setup":
      setup = message;
      break;
    case "create":
      void create(message.item);
      break;
    case "call": {
      const { key, method } = message;
      void answer(message.id, key, () => {
        const actor = actors.get(key);
        if (actor === undefined) throw missing(key);
        const fn = actor.instance[method];
        if (typeof fn !== "function") {
          throw new TypeError(`${actor.className}.${method} is not a method of actor ${key}.`);
        }
        return fn.apply(actor.instance, decode(message.args) as unknown[]);
      });
      break;
    }
    case "read": {
      const { key, name } = message;
      void answer(message.id, key, () => {
        const actor = actors.get(key);
        if (actor === undefined) throw missing(key);
        if (!(name in actor.instance)) {
          throw new TypeError(`Actor ${key} (${actor.className}) has no attribute '${name}'.`);
        }
        return actor.instance[name];
      });
      break;
    }
    case "release":
      for (const key of message.keys) actors.delete(key);
      break;
  }
};
