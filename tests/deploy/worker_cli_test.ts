/**
 * The worker and scheduler command lines' deployment flags, with real processes on loopback:
 * the scheduler file, the nanny (`--nworkers`) with lifetimes, the pid file, the death timeout,
 * preload modules, `--help` and `--version`.
 */
import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { CLI, ManagedProcess, startScheduler, startWorker } from "../helpers/cluster.ts";
import { WORKER_CLI } from "../../worker/options.ts";
import { SCHEDULER_CLI } from "../../scheduler/options.ts";
import { VERSION } from "../../core/version.ts";
import { SchedulerSession } from "../../client/scheduler_connection.ts";
import { killMarked, processesWithMarker } from "../helpers/marked_processes.ts";

const tempDir = () => Deno.makeTempDir({ prefix: "dask-deno-cli-" });

/** `deno run -A worker/main.ts ...args`. */
const workerCli = (label: string, ...args: string[]) =>
  new ManagedProcess(label, ["run", "-A", CLI.worker, ...args]);

Deno.test("--scheduler-file connects a worker and a client without an address", async () => {
  const dir = await tempDir();
  const file = `${dir}/scheduler.json`;
  // The worker starts first and waits for the file, as on a batch system.
  const worker = workerCli(
    "worker",
    "--scheduler-file",
    file,
    "--nthreads",
    "1",
    "--memory-limit",
    "none",
  );
  let scheduler: ManagedProcess | undefined;
  try {
    ({ process: scheduler } = await startScheduler(["--scheduler-file", file]));
    const contents = JSON.parse(await Deno.readTextFile(file));
    assert.equal(contents.type, "Scheduler");
    assert.match(contents.address, /^tcp:\/\/127\.0\.0\.1:\d+$/);
    await worker.waitForLine(new RegExp(`scheduler ${contents.address}$`));
    await worker.waitForLine(/registered with the scheduler/);
    await using client = await Client.connect({ schedulerFile: file }, { setAsDefault: false });
    assert.equal(client.schedulerAddress, contents.address);
    assert.equal(await client.submit((x: number) => x * 3, 14), 42);
  } finally {
    await Promise.all([worker.stop(), scheduler?.stop()]);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--nworkers 2 with --lifetime 5s --lifetime-restart: workers are replaced while a long graph runs, the result is exact", async () => {
  const { process: scheduler, address } = await startScheduler();
  const nanny = workerCli(
    "nanny",
    address,
    "--nworkers",
    "2",
    "--nthreads",
    "1",
    "--memory-limit",
    "none",
    "--lifetime",
    "5s",
    "--lifetime-stagger",
    "1s",
    "--lifetime-restart",
  );
  try {
    await nanny.waitForLine(/^Worker at /);
    await using client = await Client.connect(address, { setAsDefault: false });
    const first = new Set((await client.workers()).map((w) => w.address));
    // 320 tasks of 60 ms (about 10 s on two workers, lifetimes end after 4 to 6 s) whose results
    // are summed at the end: they live on workers that retire meanwhile and must move.
    const slow = (i: number) => {
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60);
      return i * i;
    };
    const squares = client.map(slow, Array.from({ length: 320 }, (_, i) => i));
    const total = client.submit((xs: number[]) => xs.reduce((a, b) => a + b, 0), squares);
    const expected = Array.from({ length: 320 }, (_, i) => i * i).reduce((a, b) => a + b, 0);
    assert.equal(await total, expected);
    const replacedDuringTheGraph = nanny.lines.some((l) => /retired after its lifetime/.test(l));
    // every task ran once: retiring moved the results instead of losing them
    const session = await SchedulerSession.open(address, "stream-reader", {
      message() {},
      disconnected() {},
      reconnected() {},
      failed() {},
    }, { timeout: 10, reconnectTimeout: 0 });
    const stream = await session.request<{ total: number }>("task-stream", { since: 0 });
    await session.close(new Error("done"));
    assert.equal(stream.total, 321, nanny.output());
    assert.ok(
      replacedDuringTheGraph,
      `no worker was replaced while the graph ran:\n${nanny.output()}`,
    );
    await nanny.waitForLine(/\[nanny\] worker \d retired after its lifetime; starting a fresh one/);
    const now = (await client.workers()).map((w) => w.address);
    assert.ok(now.some((a) => !first.has(a)), `no new worker among ${now}:\n${nanny.output()}`);
    assert.ok(
      !nanny.lines.some((l) => /was killed|exited with code [1-9]/.test(l)),
      nanny.output(),
    );
  } finally {
    await nanny.stop();
    await scheduler.stop();
  }
  // the nanny's workers are gone with it
  assert.ok(nanny.exited);
});

Deno.test("the nanny starts again a worker that was killed; SIGTERM stops it and its workers", async () => {
  const { process: scheduler, address } = await startScheduler();
  const dir = await tempDir();
  const nanny = workerCli(
    "nanny",
    address,
    "--nworkers",
    "2",
    "--nthreads",
    "1",
    "--name",
    "box",
    "--pid-file",
    `${dir}/nanny.pid`,
  );
  try {
    await nanny.waitForLine(/registered with the scheduler/);
    assert.equal(Number(await Deno.readTextFile(`${dir}/nanny.pid`)), nanny.pid);
    await using client = await Client.connect(address, { setAsDefault: false });
    const waitForNames = async (count: number) => {
      for (;;) {
        const workers = await client.workers();
        if (workers.length === count) return workers;
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    const workers = await waitForNames(2);
    assert.deepEqual(workers.map((w) => w.name).sort(), ["box-0", "box-1"]);
    const pids = await client.run(() => Deno.pid);
    Deno.kill(pids[workers.find((w) => w.name === "box-1")!.address], "SIGKILL");
    await nanny.waitForLine(/worker 1 was killed \(SIGKILL\); starting it again/);
    await nanny.waitForLine(/\[worker box-1\] registered with the scheduler/);
    const status = await nanny.stop();
    assert.equal(status.code, 0, nanny.output());
    await assert.rejects(Deno.stat(`${dir}/nanny.pid`), Deno.errors.NotFound);
  } finally {
    await nanny.stop();
    await scheduler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a worker refused by the scheduler (its name is taken) is not started again: its nanny exits 3", async () => {
  const { process: scheduler, address } = await startScheduler();
  const first = workerCli("first", address, "--name", "twin", "--nthreads", "1", "--no-nanny");
  let second: ReturnType<typeof workerCli> | undefined;
  try {
    // the second starts once the first holds the name: started together, either could win it
    await first.waitForLine(/registered with the scheduler/);
    const refused = second = workerCli("second", address, "--name", "twin", "--nthreads", "1");
    const deadline = setTimeout(() => refused.kill("SIGKILL"), 30_000);
    const status = await refused.status;
    clearTimeout(deadline);
    assert.equal(status.code, 3, refused.output());
    assert.match(refused.output(), /the scheduler refused this worker: .*twin|already/);
    assert.match(refused.output(), /was refused by the scheduler .*: not starting it again/);
    assert.equal(refused.lines.filter((l) => /^Worker at /.test(l)).length, 1, refused.output());
    // the first worker still serves
    await using client = await Client.connect(address, { setAsDefault: false });
    assert.equal(await client.submit((x: number) => x + 1, 41), 42);
  } finally {
    await Promise.all([first.stop(), second?.stop(), scheduler.stop()]);
  }
});

Deno.test({
  name: "a worker does not outlive its nanny: after the nanny's SIGKILL its worker stops and " +
    "leaves the scheduler",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const { process: scheduler, address } = await startScheduler();
    const marker = crypto.randomUUID();
    const env = { NANNY_TEST_MARKER: marker };
    const nanny = (await startWorker(address, { name: "orphan", nanny: true, env })).process;
    try {
      await using client = await Client.connect(address, { setAsDefault: false });
      assert.equal((await client.workers()).length, 1);
      const [workerPid] = Object.values(await client.run(() => Deno.pid));
      assert.notEqual(workerPid, nanny.pid, "the worker runs in a child of its nanny");
      assert.deepEqual(
        processesWithMarker("NANNY_TEST_MARKER", marker).sort(),
        [
          nanny.pid,
          workerPid,
        ].sort(),
      );
      nanny.kill("SIGKILL");
      await nanny.status;
      const deadline = Date.now() + 20_000;
      while (processesWithMarker("NANNY_TEST_MARKER", marker).length > 0) {
        assert.ok(Date.now() < deadline, `the worker ${workerPid} outlived its nanny by 20 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
      while ((await client.workers()).length > 0) {
        assert.ok(Date.now() < deadline, "the scheduler still lists the orphaned worker");
        await new Promise((r) => setTimeout(r, 100));
      }
    } finally {
      await nanny.stop();
      await scheduler.stop();
      killMarked("NANNY_TEST_MARKER", marker); // whatever a failure left
    }
  },
});

Deno.test("--no-nanny runs the worker in this process, and is refused with --nworkers", async () => {
  const { process: scheduler, address } = await startScheduler();
  const worker = workerCli("worker", address, "--nthreads", "1", "--no-nanny");
  try {
    await worker.waitForLine(/registered with the scheduler/);
    await using client = await Client.connect(address, { setAsDefault: false });
    assert.deepEqual(Object.values(await client.run(() => Deno.pid)), [worker.pid]);
  } finally {
    await Promise.all([worker.stop(), scheduler.stop()]);
  }
  const refused = workerCli("refused", address, "--no-nanny", "--nworkers", "2");
  const status = await refused.status;
  assert.equal(status.code, 2);
  assert.match(refused.output(), /--no-nanny runs one worker in this process.*--nworkers/);
});

Deno.test("--death-timeout: a worker without a scheduler stops with exit 0", async () => {
  const worker = workerCli(
    "worker",
    "tcp://127.0.0.1:9",
    "--death-timeout",
    "1",
    "--memory-limit",
    "none",
  );
  const status = await worker.status;
  assert.equal(status.code, 0, worker.output());
  assert.match(worker.output(), /no scheduler at tcp:\/\/127\.0\.0\.1:9 for 1 s/);
});

Deno.test("--preload runs a module's daskSetup with the worker's details", async () => {
  const dir = await tempDir();
  const out = `${dir}/setup.json`;
  const module = `${dir}/preload.ts`;
  await Deno.writeTextFile(
    module,
    `export async function daskSetup(worker) {
       await Deno.writeTextFile(${JSON.stringify(out)}, JSON.stringify(worker));
     }`,
  );
  const { process: scheduler, address } = await startScheduler();
  const worker = workerCli(
    "worker",
    address,
    "--name",
    "pre",
    "--nthreads",
    "2",
    "--preload",
    module,
  );
  try {
    const [, workerAddress] = await worker.waitForLine(/^Worker at (\S+)/);
    for (let i = 0; i < 200; i++) {
      if (await Deno.stat(out).then(() => true, () => false)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const seen = JSON.parse(await Deno.readTextFile(out));
    assert.equal(seen.name, "pre");
    assert.equal(seen.address, workerAddress);
    assert.equal(seen.scheduler, address);
    assert.equal(seen.nthreads, 2);
  } finally {
    await worker.stop();
    await scheduler.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a --preload that does not import stops the worker with a message naming it", async () => {
  const worker = workerCli("worker", "tcp://127.0.0.1:9", "--preload", "./no/such/module.ts");
  const status = await worker.status;
  assert.equal(status.code, 1);
  assert.match(worker.output(), /--preload \.\/no\/such\/module\.ts: cannot import/);
});

Deno.test("a worker of a scheduler on another machine needs --host; TLS flags need each other", async () => {
  const remote = workerCli("worker", "tcp://10.255.255.1:8786");
  assert.equal((await remote.status).code, 2);
  assert.match(remote.output(), /is on another machine.*pass --host/);
  const tls = workerCli("worker", "tls://127.0.0.1:9");
  assert.equal((await tls.status).code, 2);
  assert.match(tls.output(), /speaks TLS: give --tls-ca-file, --tls-cert and --tls-key/);
  const half = workerCli("worker", "tls://127.0.0.1:9", "--tls-ca-file", CLI.worker);
  assert.equal((await half.status).code, 2);
  assert.match(half.output(), /--tls-ca-file .*it holds no PEM certificate/);
});

Deno.test("--help describes every option with its default; --version is the package's", async () => {
  for (const [path, spec] of [[CLI.worker, WORKER_CLI], [CLI.scheduler, SCHEDULER_CLI]] as const) {
    const help = new ManagedProcess("help", ["run", "-A", path, "--help"]);
    assert.equal((await help.status).code, 0);
    const text = help.lines.join("\n");
    for (const option of spec.options) assert.match(text, new RegExp(`--${option.name}\\b`));
    for (const flag of ["--tls-ca-file", "--tls-cert", "--tls-key", "--host"]) {
      assert.match(text, new RegExp(`${flag}\\b`), `${path} --help lacks ${flag}`);
    }
    assert.match(text, /\[default: 8786\]|\[default: auto\]/);
    assert.match(text, /Examples:\n {2}deno run -A /);
    const version = new ManagedProcess("version", ["run", "-A", path, "--version"]);
    assert.equal((await version.status).code, 0);
    assert.match(version.lines[0], new RegExp(` ${VERSION.replaceAll(".", "\\.")}$`));
  }
  const config = JSON.parse(await Deno.readTextFile(`${CLI.repo}deno.json`));
  assert.equal(config.version, VERSION, "core/version.ts must follow deno.json's version");
});

Deno.test("without permissions or a terminal, one message names every flag at once", async () => {
  const dir = await tempDir();
  const worker = new ManagedProcess("worker", [
    "run",
    CLI.worker,
    "tcp://127.0.0.1:8786",
    "--nworkers",
    "2",
    "--pid-file",
    `${dir}/w.pid`,
  ]);
  const status = await worker.status;
  assert.equal(status.code, 2);
  assert.equal(worker.lines.length, 1, worker.output());
  assert.match(
    worker.lines[0],
    /--allow-net --allow-read --allow-sys=systemMemoryInfo --allow-write --allow-run /,
  );
  await Deno.remove(dir, { recursive: true });
});
