/**
 * Tasks that launch tasks (Dask's `get_client`, `secede`, `rejoin`, `worker_client`): inside a
 * task, `getClient()` gives a client of the scheduler the task's worker serves; `secede()` gives
 * the task's thread slot back to the worker while it waits on what it submitted, `rejoin()`
 * takes one again.
 *
 * One client per task thread, made on the first `getClient()` and reused by every later task
 * of that thread (docs/architecture.md, "Tasks that launch tasks", says why a thread's own
 * connection rather than a proxy through the worker process). The task context comes from the
 * thread entry (core/task_context.ts).
 *
 * @module
 */

import { currentTask, setRefReviver, type TaskContext, threadSlot } from "../core/task_context.ts";
import { DESCEND, rewriteData, TaskRef } from "../core/task.ts";
import { Client } from "./client.ts";

/** The thread's client: one connection per task thread, shared by its tasks. */
interface ThreadClient {
  connecting: Promise<Client> | null;
}

function insideTask(what: string): TaskContext {
  const task = currentTask();
  if (task === undefined) {
    throw new Error(
      `${what} works inside a task running on a worker; this code runs outside any task. ` +
        `Call it in the function you submit (client.submit(fn)).`,
    );
  }
  return task;
}

/**
 * A client of the cluster this code runs on. Inside a task: a client connected to the
 * scheduler of the task's worker, one per task thread, made on the first call and reused
 * afterwards. Queue, Lock, Variable, Event, Semaphore, MultiLock, Pub and Sub made in a task
 * without `{ client }` use it too, connecting it on their first request. Outside a task:
 * `Client.current()`.
 *
 * A task that waits on tasks it submitted should `secede()` first (or use
 * {@link workerClient}), or it holds a thread those tasks may need.
 *
 * @example
 * ```ts
 * import { Client, getClient, secede, taskModule } from "./mod.ts";
 *
 * // A task function that imports the library travels as a module reference:
 * export const { fib } = taskModule(import.meta.url, {
 *   fib: async (n: number): Promise<number> => {
 *     if (n < 2) return n;
 *     const client = await getClient();
 *     const [a, b] = [client.submit(fib, n - 1), client.submit(fib, n - 2)];
 *     secede(); // wait without holding a thread
 *     return (await a) + (await b);
 *   },
 * });
 *
 * if (import.meta.main) {
 *   await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
 *   console.log(await client.submit(fib, 6)); // 8
 * }
 * ```
 *
 * @throws when the task runs under the local `threads` scheduler (there is no cluster), or no
 *   client exists outside a task.
 */
export async function getClient(): Promise<Client> {
  const task = currentTask();
  return task === undefined ? Client.current() : await threadClient(task);
}

/** The client of the task's thread: made on first use, then shared by the thread's tasks. */
async function threadClient(task: TaskContext): Promise<Client> {
  const scheduler = task.scheduler;
  if (scheduler === null) {
    throw new Error(
      `getClient() in task ${task.key}: this task runs on the local \`threads\` scheduler, which ` +
        `has no cluster to submit to. Run it on a cluster (Client.local() or Client.connect()).`,
    );
  }
  if (task.tenancy === true) return await taskOwnClient(task, scheduler);
  const slot = threadSlot<ThreadClient>("client", () => ({ connecting: null }));
  if (slot.connecting !== null) {
    const client = await slot.connecting;
    if (client.status !== "closed") return client;
  }
  const connecting = Client.connect(scheduler, {
    authToken: task.authToken,
    security: task.security,
  });
  slot.connecting = connecting;
  connecting.catch(() => {
    if (slot.connecting === connecting) slot.connecting = null;
  });
  return await connecting;
}

/** Each task's own client under tenancy (a thread runs tasks of several identities). */
const ownClients = new WeakMap<TaskContext, Promise<Client>>();

/**
 * Under tenancy a task's client acts as the identity that submitted the task, with a credential
 * the scheduler makes for this task alone and ends with it (scheduler/task_delegation.ts): the
 * task never holds its identity's token, nor the cluster's. The client closes when the task ends.
 */
function taskOwnClient(task: TaskContext, scheduler: string): Promise<Client> {
  let connecting = ownClients.get(task);
  if (connecting !== undefined) return connecting;
  if (task.delegate === undefined || task.onEnd === undefined) {
    return Promise.reject(
      new Error(
        `getClient() in task ${task.key}: this cluster has client identities (tenancy), and ` +
          `this task cannot ask for a credential of its own here. Submit follow-up work from ` +
          `your client instead (docs/security.md, tenancy).`,
      ),
    );
  }
  const onEnd = task.onEnd.bind(task);
  connecting = task.delegate().then(
    async (authToken) => {
      // over TLS: the CA alone, to check the scheduler; the credential stands for a certificate
      const client = await Client.connect(scheduler, {
        authToken,
        security: task.security,
        setAsDefault: false,
      });
      onEnd(() => void client.close().catch(() => {}));
      return client;
    },
    (error: unknown) => {
      throw new Error(
        `getClient() in task ${task.key}: the scheduler made this task no credential of its ` +
          `own: ${error instanceof Error ? error.message : String(error)} (docs/security.md, ` +
          `tenancy).`,
        { cause: error },
      );
    },
  );
  ownClients.set(task, connecting);
  return connecting;
}

// A task's inputs that hold Futures (returned by other tasks) get Futures of its thread's client.
setRefReviver(async (values, task) => {
  const client = await threadClient(task);
  return rewriteData(
    values,
    (v) => v instanceof TaskRef ? client.futureOf(v.key) : DESCEND,
  ) as unknown[];
});

/**
 * Gives the running task's thread slot back to its worker (Dask's `secede`): the worker runs
 * other tasks — those this one submitted, say — while it waits, and the scheduler stops
 * counting it as the worker's load. The task goes on running; {@link rejoin} takes a slot again
 * before heavy computing. Calling it twice is harmless.
 *
 * @example
 * ```ts
 * import { getClient, secede, taskModule } from "./mod.ts";
 *
 * export const { sumOfSquares } = taskModule(import.meta.url, {
 *   sumOfSquares: async (n: number) => {
 *     const client = await getClient();
 *     const futures = client.map((i: number) => i * i, Array.from({ length: n }, (_, i) => i));
 *     secede();
 *     const squares = await client.gather(futures);
 *     return squares.reduce((a, b) => a + b, 0);
 *   },
 * });
 * ```
 *
 * @throws outside a task.
 */
export function secede(): void {
  insideTask("secede()").secede();
}

/**
 * Takes a thread slot of the worker again after {@link secede} (Dask's `rejoin`): resolves once
 * one is free on the task's own thread. Without a prior `secede()` it resolves at once.
 *
 * @example
 * ```ts
 * import { getClient, rejoin, secede, taskModule } from "./mod.ts";
 *
 * export const { twoPhases } = taskModule(import.meta.url, {
 *   twoPhases: async (x: number) => {
 *     const client = await getClient();
 *     const part = client.submit((v: number) => v + 1, x);
 *     secede();
 *     const value = await part;
 *     await rejoin(); // computing again: take a slot
 *     return value * 2;
 *   },
 * });
 * ```
 *
 * @throws outside a task.
 */
export async function rejoin(): Promise<void> {
  await insideTask("rejoin()").rejoin();
}

/**
 * The task's client with its thread slot given back for as long as it is in use (Dask's
 * `worker_client`): `await using client = await workerClient()` secedes at once and rejoins at
 * the end of the block. Disposing of it does not close the client (the thread's tasks share it).
 *
 * @example
 * ```ts
 * import { taskModule, workerClient } from "./mod.ts";
 *
 * export const { fanOut } = taskModule(import.meta.url, {
 *   fanOut: async (n: number) => {
 *     await using client = await workerClient();
 *     const futures = client.map((i: number) => i + 1, Array.from({ length: n }, (_, i) => i));
 *     return (await client.gather(futures)).length;
 *   },
 * });
 * ```
 *
 * @throws outside a task, or under the local `threads` scheduler.
 */
export async function workerClient(): Promise<Client> {
  const task = insideTask("workerClient()");
  const client = await getClient();
  task.secede();
  let rejoined: Promise<void> | null = null;
  // A view of the shared client whose disposal rejoins instead of closing it.
  return new Proxy(client, {
    get(target, property) {
      if (property === Symbol.asyncDispose) return () => rejoined ??= task.rejoin();
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
