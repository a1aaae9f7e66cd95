/**
 * Task functions that launch tasks and use shared state from inside a worker, for
 * tests/integration/task_launch_test.ts. They import the library, so they travel as a module
 * reference (taskModule).
 */

import {
  Event,
  getClient,
  Pub,
  Queue,
  rejoin,
  secede,
  Semaphore,
  Sub,
  taskModule,
  Variable,
  workerClient,
} from "../../mod.ts";
import { currentTask } from "../../core/task_context.ts";

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

export const tasks = taskModule(import.meta.url, {
  /** Which credentials the running task could connect with (tests/integration/tenancy_test.ts). */
  credentials: () => {
    const task = currentTask();
    const security = task?.security;
    return {
      token: task?.authToken !== undefined,
      certificate: security?.cert !== undefined || security?.key !== undefined,
      ca: security?.caFile !== undefined,
    };
  },
  /** The value of `key`, read through the task's own client (tenancy_test.ts: as whom?). */
  readKey: async (key: string): Promise<unknown> => {
    const client = await getClient();
    return await client.futureOf(key).result();
  },
  /** The credential the scheduler made for this task under tenancy (to try it after the task). */
  ownCredential: async (): Promise<string> => await currentTask()!.delegate!(),
  /** Submits `n` subtasks and waits for them, seceded; rejoins to add them up. */
  fanOut: async (n: number): Promise<number> => {
    const client = await getClient();
    const futures = client.map((i: number) => i * 2, range(n));
    secede();
    const values = await client.gather(futures);
    await rejoin();
    return values.reduce((a, b) => a + b, 0);
  },

  /** A tree of tasks `depth` levels below this one, `width` children each: counts its leaves. */
  tree: async (depth: number, width: number, path: string): Promise<number> => {
    if (depth === 0) return 1;
    await using client = await workerClient();
    const children = range(width).map((i) =>
      client.submit(tasks.tree, depth - 1, width, `${path}.${i}`)
    );
    const counts = await client.gather(children);
    return counts.reduce((a, b) => a + b, 0);
  },

  /** Puts 0..n-1 into the queue `name`, then `null`. */
  produce: async (name: string, n: number): Promise<number> => {
    await getClient(); // the thread's client becomes the default of Queue
    const queue = new Queue<number | null>(name);
    for (let i = 0; i < n; i++) await queue.put(i);
    await queue.put(null);
    return n;
  },

  /** Takes the semaphore's lease, says so through an Event, and never returns. */
  holdLease: async (name: string): Promise<never> => {
    const client = await getClient();
    const semaphore = new Semaphore(1, name, { client });
    if (!await semaphore.acquire({ timeout: 30 })) throw new Error(`no lease of ${name}`);
    await new Event(`${name}-held`, { client }).set();
    secede();
    return await new Promise<never>(() => {});
  },

  /** Submits `x + 1` and returns its Future (inside an array: a Future itself is awaited). */
  submitAndReturn: async (x: number) => {
    const client = await getClient();
    return [client.submit((v: number) => v + 1, x)];
  },

  /** Gets a Future inside its input (another task's result) and waits for its value. */
  awaitPassed: async (holder: PromiseLike<number>[]) => {
    secede();
    return (await holder[0]) + 10;
  },

  /** Subscribes to `topic`, says so through an Event, and collects `n` messages. */
  collect: async (topic: string, n: number): Promise<number[]> => {
    const client = await getClient();
    using sub = new Sub<number>(topic, { client });
    await sub.subscribed;
    await new Event(`${topic}-ready`, { client }).set();
    secede();
    const got: number[] = [];
    for (let i = 0; i < n; i++) got.push(await sub.get({ timeout: 30 }));
    return got;
  },

  /** Once `topic` has a subscriber, publishes 0..n-1 on it. */
  publish: async (topic: string, n: number): Promise<number> => {
    const client = await getClient();
    if (!await new Event(`${topic}-ready`, { client }).wait({ timeout: 30 })) {
      throw new Error(`nobody subscribed to ${topic}`);
    }
    const pub = new Pub<number>(topic, { client });
    for (let i = 0; i < n; i++) await pub.put(i);
    return n;
  },

  /**
   * Without getClient() and without `{ client }`: the Queue, Variable and Pub use the task's
   * client, which connects on their first request (Dask: objects made in a task use the worker
   * client).
   */
  sharedWithoutClient: async (name: string): Promise<number> => {
    await new Queue<number>(name).put(1);
    await new Pub<string>(`${name}-topic`).put("from a task");
    const variable = new Variable<number>(name);
    await variable.set(41);
    return (await variable.get({ timeout: 5 })) + 1;
  },

  /** Sets a variable and reads a lock from a task. */
  shareFromTask: async (name: string, value: number): Promise<number> => {
    const client = await getClient();
    const variable = new Variable<number>(name, { client });
    await variable.set(value);
    return await variable.get({ timeout: 5 });
  },
});
