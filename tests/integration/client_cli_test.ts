/**
 * The design card's commands, as subprocesses: `deno run -A scheduler/main.ts`, `deno run -A
 * worker/main.ts <address>`, and a program that imports `mod.ts` from a URL — one connecting
 * to that scheduler from its own process, one starting its own cluster with `Client.local`.
 */

import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { serveDirectory } from "../helpers/static_server.ts";

const repoRoot = new URL("../../", import.meta.url);

/** A command started in the repository, with its output read line by line. */
class Started {
  readonly child: Deno.ChildProcess;
  readonly lines: string[] = [];
  readonly #waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: repoRoot,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    void this.#read(this.child.stdout);
    void this.#read(this.child.stderr);
  }

  async #read(stream: ReadableStream<Uint8Array>): Promise<void> {
    let pending = "";
    for await (const text of stream.pipeThrough(new TextDecoderStream())) {
      pending += text;
      const parts = pending.split("\n");
      pending = parts.pop()!;
      this.lines.push(...parts);
      for (const wake of this.#waiters.splice(0)) wake();
    }
  }

  /** The first output line matching `pattern` (its first group), waiting for it. */
  async line(pattern: RegExp, seconds = 60): Promise<string> {
    const deadline = Date.now() + seconds * 1000;
    for (;;) {
      for (const line of this.lines) {
        const match = pattern.exec(line);
        if (match !== null) return match[1] ?? match[0];
      }
      if (Date.now() > deadline) {
        throw new Error(`no line matched ${pattern}; output:\n${this.lines.join("\n")}`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters.push(resolve);
        setTimeout(resolve, 100);
      });
    }
  }

  async stop(): Promise<Deno.CommandStatus> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // already exited
    }
    return await this.child.status;
  }
}

async function runScript(dir: string, source: string, args: string[] = []) {
  await Deno.writeTextFile(`${dir}/main.js`, source);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-lock", "--no-config", "main.js", ...args],
    cwd: dir,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout).trim(),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

Deno.test("the scheduler and worker commands, and clients in other processes", async (t) => {
  const scheduler = new Started([
    "run",
    "-A",
    "scheduler/main.ts",
    "--port",
    "0",
    "--no-dashboard",
  ]);
  const workers: Started[] = [];
  const server = serveDirectory(repoRoot);
  const dir = await Deno.makeTempDir();
  try {
    const address = await scheduler.line(/^Scheduler at (tcp:\/\/\S+)$/);
    for (const name of ["a", "b"]) {
      const worker = new Started(
        ["run", "-A", "worker/main.ts", address, "--nthreads", "1", "--name", name],
      );
      await worker.line(/^Worker at (tcp:\/\/\S+)/);
      workers.push(worker);
    }
    await using client = await Client.connect(address, { setAsDefault: false });

    await t.step("a client in this process", async () => {
      const deadline = Date.now() + 20_000;
      while ((await client.workers()).length < 2 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.equal((await client.workers()).length, 2);
      const squares = client.map((x: number) => x * x, [1, 2, 3, 4]);
      assert.deepEqual(await client.gather(squares), [1, 4, 9, 16]);
    });

    await t.step("a client in another process, importing mod.ts from a URL", async () => {
      const shared = client.submit((n: number) => Array.from({ length: n }, (_, i) => i), 5);
      await shared;
      const { code, stdout, stderr } = await runScript(
        dir,
        `
        import { Client } from "${server.url}mod.ts";
        const [address, key] = Deno.args;
        await using client = await Client.connect(address);
        const theirs = client.futureOf(key);
        const total = client.submit((xs) => xs.reduce((a, b) => a + b, 0), theirs);
        console.log(JSON.stringify({ value: await theirs, total: await total }));
        `,
        [address, shared.key],
      );
      assert.equal(code, 0, stderr);
      assert.deepEqual(JSON.parse(stdout), { value: [0, 1, 2, 3, 4], total: 10 });
      // that client's exit released only its own hold: this one still has the data
      assert.deepEqual(await shared, [0, 1, 2, 3, 4]);
    });

    await t.step(
      "Client.local from a URL-imported mod.ts starts and stops its cluster",
      async () => {
        const { code, stdout, stderr } = await runScript(
          dir,
          `
        import { Client, delayed } from "${server.url}mod.ts";
        await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
        const inc = (x) => x + 1;
        const total = delayed((a, b) => a + b)(delayed(inc)(1), delayed(inc)(2));
        const workers = (await client.workers()).map((w) => w.name).sort();
        console.log(JSON.stringify({ total: await total.compute(), workers }));
        `,
        );
        assert.equal(code, 0, stderr);
        assert.deepEqual(JSON.parse(stdout), { total: 5, workers: ["worker-0", "worker-1"] });
        // nothing it started is left running
        const ps = await new Deno.Command("ps", { args: ["-eo", "args"], stdout: "piped" })
          .output();
        const leftovers = new TextDecoder().decode(ps.stdout).split("\n")
          .filter((line) => line.includes(server.url) && line.includes("main.ts"));
        assert.deepEqual(leftovers, []);
      },
    );
  } finally {
    for (const worker of workers) await worker.stop();
    const status = await scheduler.stop();
    assert.equal(status.code, 0, scheduler.lines.join("\n"));
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
