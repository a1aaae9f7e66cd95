import assert from "node:assert/strict";
import { compute, type Delayed, delayed, ProcessDiedError, shutdownProcesses } from "../../mod.ts";
import { runDeno } from "../helpers/run_deno.ts";

const inc = (x: number) => x + 1;
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
const slowInc = async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  return x + 1;
};

Deno.test("processes: tasks run in worker subprocesses, reused across computations", async () => {
  try {
    const pid = () => Deno.pid;
    const first = await compute(...Array.from({ length: 8 }, () => delayed(pid)()), {
      scheduler: "processes",
      numWorkers: 2,
    });
    const pids = new Set(first);
    assert.ok(!pids.has(Deno.pid), "tasks ran in this process");
    assert.ok(pids.size >= 1 && pids.size <= 2, `pids: ${[...pids]}`);
    const again = await compute(...Array.from({ length: 8 }, () => delayed(pid)()), {
      scheduler: "processes",
      numWorkers: 2,
    });
    for (const p of again) assert.ok(pids.has(p) || pids.size < 2, "a new process was started");
    // a result built from many tasks, and persist keeps the values here
    const total = delayed(sum)(Array.from({ length: 100 }, (_, i) => delayed(inc)(i)));
    assert.equal(await total.compute({ scheduler: "processes", numWorkers: 2 }), 5050);
    const kept = await total.persist({ scheduler: "processes", numWorkers: 2 });
    assert.equal(await kept.compute({ scheduler: "sync" }), 5050);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: typed arrays travel both ways intact", async () => {
  try {
    const make = (n: number) => Float64Array.from({ length: n }, (_, i) => i * 0.5);
    const total = (a: Float64Array) => a.reduce((s, v) => s + v, 0);
    const big = delayed(make)(1_000_000);
    const [s, value] = await compute(delayed(total)(big), big, { scheduler: "processes" });
    assert.equal(s, (999_999 * 1_000_000) / 4);
    assert.ok(value instanceof Float64Array);
    assert.equal(value[999_999], 999_999 * 0.5);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: a task that calls Deno.exit fails alone; the pool replaces the process", async () => {
  try {
    const quit = (code: number) => Deno.exit(code);
    const error = await delayed(quit)(3).compute({ scheduler: "processes", numWorkers: 1 })
      .then(() => null, (e) => e);
    assert.ok(error instanceof ProcessDiedError, String(error));
    assert.equal(error.exitCode, 3);
    assert.match(error.key ?? "", /^quit-/);
    assert.match(error.message, /The worker process running task 'quit-[^']+' ended/);
    assert.match(error.message, /exited with code 3 \(a call to Deno\.exit ends the process\)/);
    assert.match(error.message, /started a new process/);
    // the same pool (one process) serves the next computation
    assert.equal(await delayed(inc)(41).compute({ scheduler: "processes", numWorkers: 1 }), 42);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: tasks queued behind a crashing one run again on the new process", async () => {
  try {
    const quit = () => Deno.exit(5);
    const options = { scheduler: "processes", numWorkers: 1 } as const;
    // both computations share the one process: the second's tasks wait behind the crash
    const crashing = delayed(quit)().compute(options).then(() => null, (e) => e);
    const parts: Delayed<number>[] = Array.from({ length: 20 }, (_, i) => delayed(slowInc)(i));
    const survivor = delayed(sum)(parts).compute(options);
    const [error, total] = await Promise.all([crashing, survivor]);
    assert.ok(error instanceof ProcessDiedError, String(error));
    assert.equal(error.exitCode, 5);
    assert.equal(total, 210);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: work goes to the processes that are up, not to one still starting", async () => {
  try {
    const options = { scheduler: "processes", numWorkers: 2 } as const;
    const pids = async (n: number, fn: (i: number) => unknown) =>
      new Set(
        await compute(...Array.from({ length: n }, (_, i) => delayed(fn)(i)), options) as number[],
      );
    // both processes up: each has answered (tasks of 20 ms go one a process at a time)
    const slowPid = async (_i: number) => {
      await new Promise((resolve) => setTimeout(resolve, 20));
      return Deno.pid;
    };
    const up = new Set<number>();
    for (let tries = 0; up.size < 2 && tries < 50; tries++) {
      for (const p of await pids(8, slowPid)) up.add(p);
    }
    assert.equal(up.size, 2, "both processes answered");
    const quit = () => Deno.exit(9);
    const error = await delayed(quit)().compute(options).then(() => null, (e) => e);
    assert.ok(error instanceof ProcessDiedError, String(error));
    // the crashed process's replacement is starting (~0.1 s); the survivor takes this work at
    // once instead of leaving part of it in the new process's pipe
    const after = await pids(4, (_i: number) => Deno.pid);
    assert.equal(after.size, 1, `ran on ${[...after]}`);
    assert.ok(up.has([...after][0]), "it ran on the process that was up");
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: shutting down a pool still starting fails the computation waiting for it", async () => {
  const running = delayed(inc)(1).compute({ scheduler: "processes", numWorkers: 3 })
    .then(() => null, (e) => e);
  await shutdownProcesses(); // at once: its processes have not loaded their entry yet
  const error = await running;
  assert.ok(error instanceof Error, String(error));
  assert.match(error.message, /shut down/);
});

Deno.test("processes: chained tasks lost with a crashed process run again in order", async () => {
  const add = (a: number, b: number) => a + b;
  const tree = (leaves: number) => {
    let level: Delayed<number>[] = Array.from({ length: leaves }, (_, i) => delayed(inc)(i));
    while (level.length > 1) {
      const next: Delayed<number>[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
      level = next;
    }
    return level[0];
  };
  const quitLater = () => {
    const until = Date.now() + 50;
    while (Date.now() < until) { /* the other computation's batch queues behind this one */ }
    Deno.exit(5);
  };
  try {
    const options = { scheduler: "processes", numWorkers: 1 } as const;
    // a first run teaches the scheduler these tasks are tiny: then a batch carries whole
    // subtrees, each sum right after its two inputs, which never travel back in between
    assert.equal(await tree(64).compute(options), 64 * 65 / 2);
    const crashing = delayed(quitLater)().compute(options).then(() => null, (e) => e);
    const survivor = tree(64).compute(options);
    const [error, total] = await Promise.all([crashing, survivor]);
    assert.ok(error instanceof ProcessDiedError, String(error));
    assert.equal(total, 64 * 65 / 2);
    // threads carry the same chains
    assert.equal(await tree(256).compute({ scheduler: "threads", numWorkers: 2 }), 256 * 257 / 2);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes and threads: results asked for, or read outside their batch, still come back", async () => {
  const add = (a: number, b: number) => a + b;
  // a tree whose inner sums are also outputs, and whose first leaf is read again by the root:
  // a runner may keep to itself only results no output and no later batch needs
  const leaves = Array.from({ length: 128 }, (_, i) => delayed(inc)(i));
  const levels: Delayed<number>[][] = [leaves];
  while (levels.at(-1)!.length > 1) {
    const level = levels.at(-1)!;
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    levels.push(next);
  }
  const root = delayed(add)(levels.at(-1)![0], leaves[0]);
  const inner = levels[3][5]; // leaves 40..47 + 1 each
  try {
    for (const scheduler of ["processes", "threads"] as const) {
      const options = { scheduler, numWorkers: 2 } as const;
      await root.compute(options); // teaches the pool these tasks are tiny: batches chain
      const [total, part, leaf] = await compute(root, inner, leaves[7], options);
      assert.equal(total, 128 * 129 / 2 + 1, scheduler);
      assert.equal(part, 8 * 41 + 28, scheduler);
      assert.equal(leaf, 8, scheduler);
    }
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: an uncaught error or a signal that ends the process is named", async () => {
  try {
    const throwLater = () => {
      setTimeout(() => {
        throw new RangeError("thrown from a timer");
      }, 0);
      return new Promise(() => {}); // never settles: only the uncaught error ends it
    };
    const error = await delayed(throwLater)().compute({ scheduler: "processes", numWorkers: 1 })
      .then(() => null, (e) => e);
    assert.ok(error instanceof ProcessDiedError, String(error));
    assert.match(error.message, /an uncaught error ended it: .*thrown from a timer/);

    const killSelf = () => Deno.kill(Deno.pid, "SIGKILL");
    const killed = await delayed(killSelf)().compute({ scheduler: "processes", numWorkers: 1 })
      .then(() => null, (e) => e);
    assert.ok(killed instanceof ProcessDiedError, String(killed));
    assert.equal(killed.signal, "SIGKILL");
    assert.match(killed.message, /killed by SIGKILL/);
    // errors a task throws are ordinary task errors, as on the other schedulers
    const thrown = await delayed(() => {
      throw new TypeError("plain");
    })().compute({ scheduler: "processes" }).then(() => null, (e) => e);
    assert.ok(thrown instanceof TypeError);
    assert.equal(thrown.message, "plain");
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: console output of a task leaves the message channel alone", async () => {
  try {
    const chatty = (x: number) => {
      console.log("a line a task prints", x);
      console.info({ nested: [x] });
      return x * 2;
    };
    const results = await compute(
      ...Array.from({ length: 5 }, (_, i) => delayed(chatty)(i)),
      { scheduler: "processes", numWorkers: 1 },
    );
    assert.deepEqual(results, [0, 2, 4, 6, 8]);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: worker processes get the script's permissions, and let it end", async () => {
  const script = new URL("../fixtures/processes_script.ts", import.meta.url).pathname;
  const limited = await runDeno(["run", "--allow-run", "--allow-read", script], Deno.cwd());
  assert.equal(limited.code, 0, limited.stderr);
  const seen = JSON.parse(limited.stdout);
  assert.deepEqual(seen.seen.slice(0, 3), ["granted", "prompt", "prompt"]);
  assert.notEqual(seen.seen[3], seen.parentPid);
  const all = await runDeno(["run", "-A", script], Deno.cwd());
  assert.equal(all.code, 0, all.stderr);
  assert.deepEqual(JSON.parse(all.stdout).seen.slice(0, 3), ["granted", "granted", "granted"]);
});

Deno.test("processes: a crash inside a batch of many tasks is traced to its task", async () => {
  try {
    const maybeQuit = (i: number, quitAt: number) => {
      if (i === quitAt) Deno.exit(7);
      return i;
    };
    const options = { scheduler: "processes", numWorkers: 1 } as const;
    // a first run teaches the scheduler these tasks are tiny, so they then travel many a batch
    const harmless = Array.from({ length: 200 }, (_, i) => delayed(maybeQuit)(i, -1));
    assert.equal((await compute(...harmless, options)).length, 200);
    const parts = Array.from({ length: 200 }, (_, i) => delayed(maybeQuit)(i, 120));
    const error = await compute(...parts, options).then(() => null, (e) => e);
    assert.ok(error instanceof ProcessDiedError, String(error));
    assert.equal(error.exitCode, 7);
    assert.equal(error.key, parts[120].key);
    // and the pool goes on
    assert.deepEqual(await compute(...parts.slice(0, 3), options), [0, 1, 2]);
  } finally {
    await shutdownProcesses();
  }
});

Deno.test("processes: without --allow-run the error says which permission to grant", async () => {
  const script = new URL("../fixtures/processes_script.ts", import.meta.url).pathname;
  const denied = await runDeno(["run", "--allow-read", script], Deno.cwd());
  assert.notEqual(denied.code, 0);
  assert.match(denied.stderr, /could not start a Deno subprocess/);
  assert.match(denied.stderr, /It needs --allow-run and --allow-read \(or -A\)/);
});

Deno.test("processes: shutting the pool down fails the computations it was running", async () => {
  const sleepy = () => new Promise((resolve) => setTimeout(resolve, 60_000));
  const running = delayed(sleepy)().compute({ scheduler: "processes", numWorkers: 1 })
    .then(() => null, (e) => e);
  // wait until the task is out on the process, then shut down
  await new Promise((resolve) => setTimeout(resolve, 300));
  await shutdownProcesses();
  const error = await running;
  assert.ok(error instanceof Error, String(error));
  assert.match(error.message, /shut down/);
});
