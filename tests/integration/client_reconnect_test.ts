/**
 * A scheduler that dies and comes back on the same address: the client reconnects with
 * backoff, futures whose keys the new scheduler does not know end as `lost` (saying to
 * resubmit), and new work runs once the worker has reconnected too.
 */

import assert from "node:assert/strict";
import { Client, FutureLostError, wait } from "../../mod.ts";

const repoRoot = new URL("../../", import.meta.url);

function start(args: string[]): { child: Deno.ChildProcess; output: Promise<string> } {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", ...args],
    cwd: repoRoot,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const output = (async () => {
    let text = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      const match = /Scheduler at (tcp:\/\/\S+)|Worker at (tcp:\/\/\S+)/.exec(text);
      if (match !== null) {
        void child.stdout.cancel().catch(() => {});
        return match[1] ?? match[2];
      }
    }
    throw new Error(`the process exited without printing its address: ${text}`);
  })();
  return { child, output };
}

Deno.test("the client reconnects to a restarted scheduler", async () => {
  const first = start([
    "scheduler/main.ts",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-dashboard",
  ]);
  const address = await first.output;
  const port = address.slice(address.lastIndexOf(":") + 1);
  const worker = start(["worker/main.ts", address, "--nthreads", "1"]);
  await worker.output;
  let second: ReturnType<typeof start> | undefined;
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (...args: unknown[]) => warnings.push(args.join(" "));
  try {
    await using client = await Client.connect(address, { reconnectTimeout: 30 });
    const done = client.submit((x: number) => x + 1, 1);
    assert.equal(await done, 2);
    const running = client.submit(async (ms: number) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return "too late";
    }, 8000);

    first.child.kill("SIGKILL"); // a crash: nothing is said to anyone
    await first.child.status;
    const deadline = Date.now() + 5000;
    while (client.status === "running" && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    assert.equal(client.status, "reconnecting");

    second = start([
      "scheduler/main.ts",
      "--host",
      "127.0.0.1",
      "--port",
      port,
      "--no-dashboard",
      "--restart-grace", // no grace: what the scheduler does not know is lost at once
      "0",
    ]);
    assert.equal(await second.output, address);

    const error = await running.exception(20);
    assert.ok(error instanceof FutureLostError, String(error));
    assert.match(error.message, /no longer knew this key.*Submit the task/);
    assert.equal(running.status, "lost");
    assert.equal(client.status, "running");
    assert.ok(warnings.some((w) => w.includes("reconnecting")), warnings.join("\n"));

    // the worker comes back too (with its own backoff): new work runs
    assert.equal(await client.submit((x: number) => x * 2, 21).result(20), 42);
    // a lost key can be submitted again
    const again = client.with({ key: running.key }).submit((x: string) => x, "resubmitted");
    assert.equal(await again, "resubmitted");
  } finally {
    console.warn = warn;
    for (const process of [worker, second, first]) {
      if (process === undefined) continue;
      try {
        process.child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await process.child.status;
    }
  }
});

Deno.test("a client that cannot reconnect closes, and its pending futures are lost", async () => {
  const scheduler = start([
    "scheduler/main.ts",
    "--host",
    "127.0.0.1",
    "--port",
    "0",
    "--no-dashboard",
  ]);
  const address = await scheduler.output;
  const warn = console.warn;
  console.warn = () => {};
  try {
    const client = await Client.connect(address, { reconnectTimeout: 0.5 });
    const pending = client.submit((x: number) => x + 1, 1); // no workers: stays pending
    await client.workers(); // the submission has reached the scheduler
    scheduler.child.kill("SIGKILL");
    await scheduler.child.status;
    const error = await pending.exception(10);
    assert.ok(error instanceof FutureLostError, String(error));
    assert.match(error.message, new RegExp(`Lost the scheduler at ${address}.*Client.connect`));
    assert.equal(client.status, "closed");
    assert.throws(() => client.submit((x: number) => x, 1), /This client is closed/);
    await client.close();
  } finally {
    console.warn = warn;
  }
});

Deno.test("finished futures stay finished across a scheduler restart (the restart grace)", async () => {
  const schedulerArgs = ["scheduler/main.ts", "--host", "127.0.0.1", "--no-dashboard", "--port"];
  const first = start([...schedulerArgs, "0"]);
  const address = await first.output;
  const port = address.slice(address.lastIndexOf(":") + 1);
  const workers = [0, 1].map(() => start(["worker/main.ts", address, "--nthreads", "1"]));
  let second: ReturnType<typeof start> | undefined;
  const warn = console.warn;
  console.warn = () => {};
  try {
    await Promise.all(workers.map((w) => w.output));
    await using client = await Client.connect(address, { reconnectTimeout: 30 });
    // finished on the workers, never fetched: after the restart they must come from the workers
    const kept = client.map((x: number) => x * 10, [1, 2, 3, 4, 5, 6]);
    await wait(kept);

    first.child.kill("SIGKILL");
    await first.child.status;
    second = start([...schedulerArgs, port]);
    assert.equal(await second.output, address);

    assert.deepEqual(await client.gather(kept), [10, 20, 30, 40, 50, 60]);
    assert.ok(kept.every((f) => f.status === "finished"), kept.map((f) => f.status).join());
    // and they serve as inputs of new work
    const total = client.submit((xs: number[]) => xs.reduce((a, b) => a + b, 0), kept);
    assert.equal(await total.result(30), 210);
  } finally {
    console.warn = warn;
    for (const process of [...workers, second, first]) {
      if (process === undefined) continue;
      try {
        process.child.kill("SIGTERM");
      } catch {
        // already exited
      }
      await process.child.status;
    }
  }
});
