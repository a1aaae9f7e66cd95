/**
 * The task context (core/task_context.ts): each task sees its own across its awaits — directly,
 * and on real `threads`, `processes` and a cluster worker, with a seceded task's waits overlapping
 * a later task's — and a task runner's start does not load `node:async_hooks` for it.
 */

import assert from "node:assert/strict";
import { AsyncLocalStorage } from "node:async_hooks";
import { Client, compute, delayed, shutdownProcesses, shutdownThreads } from "../../mod.ts";
import {
  currentTask,
  runInTask,
  type TaskContext,
  taskContextMechanism,
} from "../../core/task_context.ts";
import { startCluster } from "../helpers/cluster.ts";
import {
  keyAfterWait,
  keyInLaterCallback,
  secededKeyAfterWait,
} from "../fixtures/async_context_tasks.ts";

const contextOf = (key: string): TaskContext => ({
  key,
  scheduler: null,
  worker: null,
  seceded: false,
  secede() {},
  rejoin: () => Promise.resolve(),
});
const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Runs `code` in a fresh `deno eval` and gives the JSON it printed (failing on a non-zero exit). */
async function evalJson(code: string): Promise<unknown> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--ext=js", code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

Deno.test("a task runner's modules do not load node:async_hooks at start", async () => {
  // Deno's own async context carries them here (AsyncLocalStorage is built on it)
  assert.equal(taskContextMechanism(), "deno-core");
  for (const entry of ["threads/thread_entry.ts", "threads/process_entry.ts"]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", new URL(`../../${entry}`, import.meta.url).pathname],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const graph = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: { specifier: string; dependencies?: { specifier: string; code?: unknown }[] }[];
    };
    const loaders = graph.modules.filter((module) =>
      (module.dependencies ?? []).some((dep) =>
        dep.specifier === "node:async_hooks" &&
        !(dep as { isDynamic?: boolean }).isDynamic
      )
    ).map((module) => module.specifier);
    assert.deepEqual(loaders, [], `${entry}: modules importing node:async_hooks statically`);
  }
});

Deno.test("interleaved async tasks each see their own context after their awaits", async () => {
  assert.equal(currentTask(), undefined);
  const seen: string[] = [];
  const run = (key: string, ms: number) =>
    runInTask(contextOf(key), async () => {
      await tick(ms);
      seen.push(`${key}:${currentTask()?.key}`);
      await tick(ms);
      return currentTask()?.key;
    });
  const results = await Promise.all([run("a", 20), run("b", 5), run("c", 12)]);
  assert.deepEqual(results, ["a", "b", "c"]);
  assert.deepEqual(seen.sort(), ["a:a", "b:b", "c:c"]);
  assert.equal(currentTask(), undefined, "outside every task there is none");
});

Deno.test("a callback a task schedules without awaiting it sees that task's context", async () => {
  let later!: Promise<string | undefined>;
  const returned = runInTask(contextOf("fire"), () => {
    later = Promise.resolve().then(() => tick(5)).then(() => currentTask()?.key);
    return currentTask()?.key;
  });
  assert.equal(returned, "fire");
  assert.equal(currentTask(), undefined, "restored once the synchronous part returned");
  runInTask(contextOf("other"), () => {}); // another task in between
  assert.equal(await later, "fire");
});

Deno.test("nested contexts restore the outer one; a user's AsyncLocalStorage coexists", async () => {
  const user = new AsyncLocalStorage<string>();
  await user.run("user value", () =>
    runInTask(contextOf("outer"), async () => {
      runInTask(contextOf("inner"), () => assert.equal(currentTask()?.key, "inner"));
      assert.equal(currentTask()?.key, "outer");
      await tick(1);
      assert.equal(currentTask()?.key, "outer");
      assert.equal(user.getStore(), "user value", "the user's store is not disturbed");
      await user.run("inside", async () => {
        await tick(1);
        assert.equal(user.getStore(), "inside");
        assert.equal(currentTask()?.key, "outer");
      });
    }));
});

Deno.test("a Deno whose async context primitives do not carry values falls back to AsyncLocalStorage", async () => {
  const module = new URL("../../core/task_context.ts", import.meta.url).href;
  const code = `
    // the internal primitives exist but entering a value does nothing (their contract changed)
    const real = Deno[Deno.internal].core;
    const changed = Symbol("internal");
    Object.defineProperty(Deno, "internal", { value: changed });
    Deno[changed] = { core: { getAsyncContext: () => real.getAsyncContext(), setAsyncContext() {} } };
    const { currentTask, runInTask, taskContextMechanism } = await import(${
    JSON.stringify(module)
  });
    const context = (key) => ({ key, scheduler: null, worker: null, seceded: false,
      secede() {}, rejoin: () => Promise.resolve() });
    const key = await runInTask(context("a"), async () => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return currentTask()?.key;
    });
    console.log(JSON.stringify([taskContextMechanism(), key]));
  `;
  assert.deepEqual(await evalJson(code), ["node:async_hooks", "a"]);
});

Deno.test("where Deno offers no async context of its own, AsyncLocalStorage carries the contexts", async () => {
  const module = new URL("../../core/task_context.ts", import.meta.url).href;
  const code = `
    // a Deno without its internal namespace: the module must fall back before any task runs
    Object.defineProperty(Deno, "internal", { value: undefined });
    const { currentTask, runInTask, taskContextMechanism } = await import(${
    JSON.stringify(module)
  });
    const context = (key) => ({ key, scheduler: null, worker: null, seceded: false,
      secede() {}, rejoin: () => Promise.resolve() });
    const run = (key, ms) => runInTask(context(key), async () => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return currentTask()?.key;
    });
    const keys = await Promise.all([run("a", 20), run("b", 5)]);
    console.log(JSON.stringify([taskContextMechanism(), ...keys, currentTask() ?? null]));
  `;
  assert.deepEqual(await evalJson(code), [
    "node:async_hooks",
    "a",
    "b",
    null,
  ]);
});

for (const scheduler of ["threads", "processes"] as const) {
  Deno.test(`${scheduler}: async and seceded tasks see their own context after awaiting`, async () => {
    try {
      // one runner: the seceded task waits while the others run in its slot
      const seceded = delayed(secededKeyAfterWait)(150);
      const waiting = delayed(keyAfterWait)(20);
      const callback = delayed(keyInLaterCallback)(10);
      const results = await compute(seceded, waiting, callback, {
        scheduler,
        numWorkers: 1,
        optimizeGraph: false,
      });
      assert.deepEqual(results, [[seceded.key, true], waiting.key, callback.key]);
    } finally {
      if (scheduler === "threads") shutdownThreads();
      else shutdownProcesses();
    }
  });
}

Deno.test("cluster worker: async and seceded tasks see their own context after awaiting", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const seceded = client.submit(secededKeyAfterWait, 300);
  await tick(50); // it runs and secedes first; the others take its thread meanwhile
  const waiting = client.submit(keyAfterWait, 20);
  const callback = client.submit(keyInLaterCallback, 10);
  assert.deepEqual(await seceded.result(), [seceded.key, true], cluster.logs());
  assert.equal(await waiting.result(), waiting.key);
  assert.equal(await callback.result(), callback.key);
});
