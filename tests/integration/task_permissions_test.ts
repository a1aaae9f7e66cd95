import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import { startScheduler, startWorker, type WorkerProcess } from "../helpers/cluster.ts";

/** A listener that answers each connection with "hello", for tasks to reach (or not). */
/**
 * A listener outside the cluster: on 127.0.0.2, since task threads may reach the scheduler's host
 * (127.0.0.1 here) for getClient().
 */
function greeter(): { port: number; close(): void } {
  const listener = Deno.listen({ hostname: "127.0.0.2", port: 0 });
  void (async () => {
    for await (const conn of listener) {
      await conn.write(new TextEncoder().encode("hello")).catch(() => {});
      conn.close();
    }
  })().catch(() => {});
  return { port: (listener.addr as Deno.NetAddr).port, close: () => listener.close() };
}

const readFile = (path: string) => Deno.readTextFileSync(path);
const writeFile = (path: string) => {
  Deno.writeTextFileSync(path, "written by a task");
  return "written";
};
const spawn = (program: string) =>
  new TextDecoder().decode(new Deno.Command(program, { args: ["hi"] }).outputSync().stdout).trim();
const connect = async (port: number) => {
  const conn = await Deno.connect({ hostname: "127.0.0.2", port });
  const buffer = new Uint8Array(5);
  await conn.read(buffer);
  conn.close();
  return new TextDecoder().decode(buffer);
};
const environment = (name: string) => Deno.env.get(name) ?? "";

Deno.test("tasks run with the task permissions, not the worker process's", async (t) => {
  const dir = await Deno.makeTempDir({ prefix: "task-permissions-" });
  const secret = `${dir}/secret.txt`;
  await Deno.writeTextFile(secret, "the data");
  const allowed = greeter();
  const other = greeter();
  const { process: scheduler, address } = await startScheduler();
  const workers: WorkerProcess[] = [];
  try {
    workers.push(await startWorker(address, { name: "narrow", taskGrants: false }));
    workers.push(
      await startWorker(address, {
        name: "granted",
        args: [
          `--task-allow-read=${dir}`,
          `--task-allow-write=${dir}`,
          `--task-allow-net=127.0.0.2:${allowed.port}`,
          "--task-allow-run=echo",
          "--task-allow-env=HOME",
        ],
      }),
    );
    await using client = await Client.connect(address, { setAsDefault: false });
    // each call runs one task on the named worker and settles with its outcome
    const on = (worker: string) => {
      // pure: false, so the same call on another worker is a task of its own
      const view = client.with({ workers: worker, pure: false });
      return <A, R>(fn: (arg: A) => R, arg: A) => Promise.resolve(view.submit(fn, arg));
    };
    const narrow = on("narrow");
    const granted = on("granted");

    await t.step(
      "a default worker's tasks can read, write, spawn, connect to nothing",
      async () => {
        // the worker process itself runs with -A (as root here, /etc/shadow is readable to it)
        await assert.rejects(
          narrow(readFile, "/etc/shadow"),
          /refused read access to "\/etc\/shadow".*--task-allow-read=\/etc\/shadow/s,
        );
        await assert.rejects(narrow(readFile, secret), /refused read access/);
        await assert.rejects(
          narrow(writeFile, `${dir}/out.txt`),
          /refused write access.*--task-allow-write=/s,
        );
        await assert.rejects(narrow(spawn, "echo"), /refused run access.*--task-allow-run=/s);
        await assert.rejects(
          narrow(connect, allowed.port),
          /refused net access to "127\.0\.0\.2:\d+".*--task-allow-net=127\.0\.0\.2:\d+/s,
        );
        await assert.rejects(narrow(environment, "HOME"), /refused env access/);
        // the error keeps its kind for code that tells permission errors apart
        const failed = client.with({ workers: "narrow" }).submit(readFile, "/etc/hostname");
        const error = await failed.exception();
        assert.equal(error?.name, "TaskPermissionError");
        // plain tasks still compute on that worker
        assert.equal(await narrow((x: number) => x * 2, 21), 42);
      },
    );

    await t.step("--task-allow-* grants exactly what it names", async () => {
      assert.equal(await granted(readFile, secret), "the data");
      assert.equal(await granted(writeFile, `${dir}/out.txt`), "written");
      assert.equal(await Deno.readTextFile(`${dir}/out.txt`), "written by a task");
      assert.equal(await granted(connect, allowed.port), "hello");
      assert.equal(await granted(spawn, "echo"), "hi");
      assert.equal(await granted(environment, "HOME"), Deno.env.get("HOME") ?? "");
      // and nothing beside it
      await assert.rejects(granted(readFile, "/etc/shadow"), /refused read access/);
      await assert.rejects(granted(connect, other.port), /refused net access/);
      await assert.rejects(granted(spawn, "ls"), /refused run access/);
      await assert.rejects(granted(environment, "PATH"), /refused env access/);
    });

    await t.step("client.run runs under the same rule", async () => {
      await assert.rejects(
        client.run(() => Deno.readTextFileSync("/etc/shadow")),
        /on worker tcp:\S+: This task was refused read access to "\/etc\/shadow"/,
      );
      // the secret is granted on one worker only: the other refuses
      await assert.rejects(
        client.run((path: string) => Deno.readTextFileSync(path), secret),
        new RegExp(`on worker ${workers[0].address}: This task was refused read access`),
      );
      const pids = await client.run(() => Deno.pid);
      assert.equal(Object.keys(pids).length, 2);
    });
  } finally {
    await Promise.all(workers.map((w) => w.process.stop()));
    await scheduler.stop();
    allowed.close();
    other.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--task-permissions=all gives tasks the worker process's permissions", async () => {
  const { process: scheduler, address } = await startScheduler();
  let worker: WorkerProcess | undefined;
  try {
    worker = await startWorker(address, { name: "open", args: ["--task-permissions=all"] });
    await using client = await Client.connect(address, { setAsDefault: false });
    const text = await client.submit(readFile, "/etc/hostname");
    assert.equal(text, await Deno.readTextFile("/etc/hostname"));
  } finally {
    await worker?.process.stop();
    await scheduler.stop();
  }
});

Deno.test("a wrong --task-* flag is refused at start, naming it", async () => {
  const { process: scheduler, address } = await startScheduler();
  try {
    await assert.rejects(
      startWorker(address, { name: "bad", args: ["--task-permissions=some"] }),
      /--task-permissions takes only `all`/,
    );
  } finally {
    await scheduler.stop();
  }
});
