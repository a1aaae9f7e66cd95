/**
 * Task threads are supervised, on real scheduler and worker processes: a task that calls
 * `Deno.exit`, closes its thread or crashes it errs at once naming what it did, and the thread is
 * replaced; cancelling a running endless task (a busy loop, a promise that never settles) or
 * running past a `timeout` stops its thread, so the next task on a one-thread worker gets its
 * answer. Before, each left the thread occupied for ever.
 */

import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import {
  startCluster,
  startScheduler,
  startWorker,
  type WorkerProcess,
} from "../helpers/cluster.ts";
import { killMarked, processesWithMarker } from "../helpers/marked_processes.ts";

/** An environment variable that marks the processes of one test's worker (and its nanny's). */
const MARKER = "THREAD_SUPERVISION_MARKER";

const add = (a: number, b: number) => a + b;
const exitWith = (code: number) => {
  Deno.exit(code);
  return "went on after Deno.exit";
};
const closeOwnThread = () => {
  (globalThis as unknown as { close(): void }).close();
  return "went on after self.close()";
};
const crashFromTimer = () =>
  new Promise(() => {
    setTimeout(() => {
      throw new Error("boom from a timer");
    }, 0);
  });
/** Writes `marker`, then spins for ever. */
const spin = (marker: string) => {
  Deno.writeTextFileSync(marker, "started");
  let n = 0;
  for (;;) n++;
};
/** Writes `marker`, then waits on a promise that never settles. */
const hang = (marker: string) => {
  Deno.writeTextFileSync(marker, "started");
  return new Promise(() => {});
};

async function untilExists(path: string): Promise<void> {
  for (;;) {
    try {
      await Deno.stat(path);
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }
}

Deno.test("a one-thread worker survives tasks that end, crash, hang or spin in its thread", async (t) => {
  const dir = Deno.makeTempDirSync();
  try {
    await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
    await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
    const fresh = client.with({ pure: false });
    let answers = 0;
    const nextTaskAnswers = async () => {
      answers++;
      assert.equal(await fresh.submit(add, answers, 1), answers + 1);
    };
    const worker = cluster.workers[0].process;

    await t.step("Deno.exit(3) in a task errs naming it; the worker logs and runs on", async () => {
      const exiting = fresh.submit(exitWith, 3);
      await assert.rejects(exiting.result(), (error: Error) => {
        assert.equal(error.name, "ThreadDiedError");
        assert.match(error.message, /the task called Deno\.exit\(3\)/);
        assert.match(error.message, new RegExp(`while running ${exiting.key}`));
        return true;
      });
      await nextTaskAnswers();
      await worker.waitForLine(/thread 0 was replaced \(running exitWith-.*Deno\.exit\(3\)/);
    });

    await t.step("self.close() in a task errs naming it", async () => {
      await assert.rejects(
        fresh.submit(closeOwnThread).result(),
        /the task called self\.close\(\)/,
      );
      await nextTaskAnswers();
    });

    await t.step(
      "an error thrown from a task's timer crashes its thread, and is reported",
      async () => {
        await assert.rejects(
          fresh.submit(crashFromTimer).result(),
          /an uncaught error ended its thread: .*boom from a timer/,
        );
        await nextTaskAnswers();
      },
    );

    await t.step("cancelling a busy loop stops it; the next task gets its answer", async () => {
      const marker = `${dir}/spin`;
      const spinning = fresh.submit(spin, marker);
      await untilExists(marker);
      await client.cancel(spinning);
      await nextTaskAnswers();
    });

    await t.step("cancelling a promise that never settles frees its thread", async () => {
      const marker = `${dir}/hang`;
      const hanging = fresh.submit(hang, marker);
      await untilExists(marker);
      await client.cancel(hanging);
      await nextTaskAnswers();
    });

    await t.step("a task past its timeout errs with TimeoutError naming it", async () => {
      const slow = fresh.with({ timeout: "300ms" }).submit(spin, `${dir}/timeout`);
      await assert.rejects(slow.result(), (error: Error) => {
        assert.equal(error.name, "TimeoutError");
        assert.match(
          error.message,
          new RegExp(
            `task ${slow.key} did not finish within its ` +
              `timeout of 300 ms`,
          ),
        );
        return true;
      });
      await nextTaskAnswers();
      // a timeout longer than the task changes nothing
      assert.equal(await fresh.with({ timeout: 30_000 }).submit(add, 20, 22), 42);
    });

    await t.step("a bad timeout is refused where it is written", () => {
      assert.throws(() => client.with({ timeout: "soon" }), /timeout/);
      assert.throws(() => client.with({ timeout: -5 }), /positive number of milliseconds/);
    });
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** User + system CPU seconds of process `pid` so far, or null once it is gone (Linux). */
function processCpu(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return null;
  }
}

/** CPU seconds process `pid` uses over the next `ms` (0 if it ended meanwhile). */
async function cpuOver(pid: number, ms: number): Promise<number> {
  const before = processCpu(pid) ?? 0;
  await new Promise((resolve) => setTimeout(resolve, ms));
  return Math.max(0, (processCpu(pid) ?? before) - before);
}

/**
 * Starts {@link spin} on the client's one-thread worker: its pid, the running future, and the CPU
 * seconds the worker used in 2 s of spinning (a loaded machine gives it less than one core).
 */
async function startSpinning(client: Client, dir: string) {
  const fresh = client.with({ pure: false });
  const pidOf = () => fresh.submit(() => Deno.pid).result(60);
  const pid = await pidOf();
  const marker = `${dir}/spin`;
  const spinning = fresh.submit(spin, marker);
  await untilExists(marker);
  const busy = await cpuOver(pid, 2000);
  return { fresh, pidOf, pid, spinning, busy };
}

Deno.test({
  name: "a cancelled busy loop is stopped inside the worker process: its CPU returns to idle " +
    "without a restart (the worker's inspector ends the terminated thread's execution)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    try {
      // no token, no TLS: the worker may open its inspector on loopback
      await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
      await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
      const { fresh, pidOf, pid: workerPid, spinning, busy } = await startSpinning(client, dir);
      await client.cancel(spinning);
      assert.equal(await fresh.submit(add, 20, 22).result(60), 42);
      // the halt runs after the slot is freed: give it the inspector's step time to land
      await new Promise((resolve) => setTimeout(resolve, 3000));
      const after = await cpuOver(workerPid, 2000);
      assert.equal(await pidOf(), workerPid, "the worker process was not replaced");
      assert.ok(
        after < busy / 2,
        `the worker used ${after.toFixed(2)} CPU s in 2 s after the cancel, ` +
          `against ${busy.toFixed(2)} s while the loop ran`,
      );
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a cancelled busy loop in a worker without an inspector (auth token) gives its CPU back: " +
    "the supervised worker is replaced by a fresh process (LocalCluster)",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    const { LocalCluster } = await import("../../deploy/local_cluster.ts");
    const warn = console.warn;
    try {
      await using cluster = await LocalCluster.start({ nWorkers: 1, threadsPerWorker: 1 });
      await using client = await Client.connect(cluster, { setAsDefault: false });
      const { fresh, pidOf, pid: spinningPid, spinning, busy } = await startSpinning(client, dir);
      console.warn = () => {}; // the cluster's line about the worker it starts again
      await client.cancel(spinning);
      // the worker notices its terminated thread still spinning and ends to be replaced
      const deadline = Date.now() + 60_000;
      while (processCpu(spinningPid) !== null) {
        if (Date.now() > deadline) {
          assert.fail(`the worker (pid ${spinningPid}) still runs 60 s after the cancel`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const freshPid = await pidOf();
      assert.notEqual(freshPid, spinningPid);
      const after = await cpuOver(freshPid, 2000);
      assert.ok(
        after < busy / 2,
        `the worker used ${after.toFixed(2)} CPU s in 2 s after the cancel, ` +
          `against ${busy.toFixed(2)} s while the loop ran`,
      );
      assert.equal(await fresh.submit(add, 20, 22).result(60), 42);
    } finally {
      console.warn = warn;
      Deno.removeSync(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "a cancelled busy loop in a hand-started worker with an auth token gives its CPU back: " +
    "its nanny (the worker command's default) replaces the spinning process",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const dir = Deno.makeTempDirSync();
    const bytes = crypto.getRandomValues(new Uint8Array(32));
    const token = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
    const tokenFile = `${dir}/token`;
    Deno.writeTextFileSync(tokenFile, token);
    const marker = crypto.randomUUID();
    const { process: scheduler, address } = await startScheduler(["--auth-token-file", tokenFile]);
    let worker: WorkerProcess | undefined;
    try {
      // `deno run -A worker/main.ts <address> --auth-token-file …`, as by hand: no LocalCluster
      worker = await startWorker(address, {
        name: "by-hand",
        nthreads: 1,
        nanny: true,
        args: ["--auth-token-file", tokenFile],
        env: { [MARKER]: marker },
      });
      await using client = await Client.connect(address, { setAsDefault: false, authToken: token });
      const { fresh, pidOf, pid: spinningPid, spinning, busy } = await startSpinning(client, dir);
      await client.cancel(spinning);
      // the next task answers (a fresh thread) ...
      assert.equal(await fresh.submit(add, 20, 22).result(60), 42);
      // ... and within seconds the process whose terminated thread spins is gone
      const deadline = Date.now() + 30_000;
      while (processCpu(spinningPid) !== null) {
        if (Date.now() > deadline) {
          assert.fail(
            `the worker process ${spinningPid} still runs 30 s after the cancel:\n` +
              worker.process.output(),
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const freshPid = await pidOf();
      assert.notEqual(freshPid, spinningPid);
      assert.notEqual(freshPid, worker.process.pid, "the worker runs under its nanny");
      // no process of this worker (the nanny and what it runs) spins
      const processes = processesWithMarker(MARKER, marker);
      assert.ok(processes.includes(freshPid) && processes.includes(worker.process.pid));
      const used = await Promise.all(processes.map((pid) => cpuOver(pid, 2000)));
      const after = used.reduce((a, b) => a + b, 0);
      assert.ok(
        after < busy / 2,
        `the worker's processes used ${after.toFixed(2)} CPU s in 2 s after the cancel, ` +
          `against ${busy.toFixed(2)} s while the loop ran`,
      );
      assert.equal(await fresh.submit(add, 1, 2).result(60), 3);
      assert.match(worker.process.output(), /\[nanny\] worker 0 exited with code 5; starting it/);
    } finally {
      await worker?.process.stop(); // the nanny stops its worker
      await scheduler.stop();
      killMarked(MARKER, marker); // whatever a failure left
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
