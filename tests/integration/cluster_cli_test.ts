import assert from "node:assert/strict";
import { CLI, freePort, ManagedProcess, startScheduler, startWorker } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

Deno.test("SIGTERM stops the scheduler with exit 0, and its workers exit too", async () => {
  const { process: scheduler, address } = await startScheduler();
  const workers = [];
  try {
    assert.match(address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    for (const name of ["w0", "w1"]) workers.push(await startWorker(address, { name }));
    scheduler.kill("SIGTERM");
    const status = await scheduler.status;
    assert.equal(status.code, 0, scheduler.output());
    for (const worker of workers) {
      const exited = await worker.process.status;
      assert.equal(exited.code, 0, worker.process.output());
      await worker.process.waitForLine(/asked this worker to close: received SIGTERM/);
    }
  } finally {
    await Promise.all([scheduler.stop(), ...workers.map((w) => w.process.stop())]);
  }
});

Deno.test("a worker started before the scheduler retries until it comes up", async () => {
  const port = freePort();
  const address = `tcp://127.0.0.1:${port}`;
  const worker = await startWorker(address, { name: "early", registered: false });
  let scheduler: ManagedProcess | undefined;
  try {
    await worker.process.waitForLine(/cannot reach the scheduler at .*retrying in 0\.2 s/);
    scheduler = new ManagedProcess("scheduler", [
      "run",
      "-A",
      CLI.scheduler,
      "--host",
      "127.0.0.1",
      "--port",
      String(port),
      "--no-dashboard",
    ]);
    await scheduler.waitForLine(new RegExp(`^Scheduler at tcp://127\\.0\\.0\\.1:${port}$`));
    await worker.process.waitForLine(/registered with the scheduler/);
    await using client = await RawClient.connect(address);
    const [value] = await client.compute([graphTask("sq", (x: number) => x * x, [9])], ["sq"]);
    assert.equal(value, 81);
  } finally {
    await Promise.all([worker.process.stop(), scheduler?.stop()]);
  }
});

Deno.test("the worker CLI without permissions and without a terminal names the flags", async () => {
  const worker = new ManagedProcess("worker", ["run", CLI.worker, "tcp://127.0.0.1:8786"], {
    stdin: "null",
  });
  const status = await worker.status;
  assert.notEqual(status.code, 0);
  assert.equal(worker.lines.length, 1, worker.output());
  assert.match(worker.lines[0], /--allow-net --allow-read --allow-sys=systemMemoryInfo/);
  assert.match(worker.lines[0], /--allow-run/, "the nanny (the default) starts the worker");
  assert.match(worker.lines[0], /\(or -A\)/);
});

Deno.test("the worker CLI rejects a bad memory limit in one line", async () => {
  const worker = new ManagedProcess("worker", [
    "run",
    "-A",
    CLI.worker,
    "tcp://127.0.0.1:8786",
    "--memory-limit",
    "lots",
  ]);
  const status = await worker.status;
  assert.equal(status.code, 2);
  assert.equal(worker.lines.length, 1, worker.output());
  assert.match(worker.lines[0], /Invalid memory limit "lots"/);
});

/** `script` (util-linux) runs a command on a pseudo-terminal, as a person at a terminal would. */
const hasScript = (() => {
  try {
    return new Deno.Command("script", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

Deno.test({
  name: "the worker CLI on a terminal asks for exactly the permissions it needs, then serves",
  ignore: !hasScript,
  fn: async () => {
    const { process: scheduler, address } = await startScheduler();
    const command = `${Deno.execPath()} run ${CLI.worker} ${address} --nthreads 1 --name tty`;
    const terminal = new Deno.Command("script", {
      args: ["-qfec", command, "/dev/null"],
      stdin: "piped",
      stdout: "piped",
      stderr: "null",
      env: { NO_COLOR: "1" },
    }).spawn();
    const answers = terminal.stdin.getWriter();
    const asked: string[] = [];
    // A prompt this test does not recognise would wait forever: give up after a while.
    const deadline = setTimeout(() => terminal.kill("SIGKILL"), 30_000);
    try {
      const reader = terminal.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let screen = "";
      while (!/Worker at tcp:\/\//.test(screen)) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`the worker stopped before serving:\n${screen}`);
        screen += value;
        const prompt = /A = allow all (\w+) permissions\) > $/.exec(screen);
        if (prompt !== null) {
          asked.push(prompt[1]);
          screen = "";
          // Deno clears pending input as it shows a prompt: answer once it is waiting.
          await new Promise((resolve) => setTimeout(resolve, 200));
          await answers.write(new TextEncoder().encode("y\n"));
        }
      }
      reader.releaseLock();
      // run: the command is the worker's nanny and starts the worker process
      assert.deepEqual(asked, ["net", "read", "sys", "write", "run"]);
      await using client = await RawClient.connect(address);
      const [value] = await client.compute([graphTask("cube", (x: number) => x ** 3, [3])], [
        "cube",
      ]);
      assert.equal(value, 27);
      // The scheduler's SIGTERM closes its workers: the worker exits 0, and `script` with it.
      scheduler.kill("SIGTERM");
      assert.equal((await terminal.status).code, 0);
    } finally {
      clearTimeout(deadline);
      try {
        terminal.kill("SIGKILL");
      } catch { /* already exited */ }
      await terminal.status;
      await answers.close().catch(() => {});
      await terminal.stdout.cancel().catch(() => {});
      await scheduler.stop();
    }
  },
});
