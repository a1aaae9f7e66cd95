/**
 * Scripts end by themselves (issue 18): a script that never closes its Client — made with
 * `Client.local` or `Client.connect` — exits with code 0 after its last line, and the processes
 * a LocalCluster started end with it (as Dask's atexit closes what a script left open), also
 * when the script dies of an uncaught error or SIGKILL.
 */

import assert from "node:assert/strict";
import { startCluster } from "../helpers/cluster.ts";
import { killMarked, processesWithMarker } from "../helpers/marked_processes.ts";

const MARKER = "SCRIPT_EXIT_MARKER";

const MOD = new URL("../../mod.ts", import.meta.url).href;
/** Only a failure bound for a hung script (it would otherwise never end); no timing is asserted. */
const HUNG_AFTER_MS = 60_000;

/** Runs `source` as a script with a unique marker in its environment (children inherit it). */
interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
  hung: boolean;
}

async function runScript(source: string, marker: string): Promise<ScriptRun> {
  const dir = await Deno.makeTempDir({ prefix: "script-exit-" });
  try {
    await Deno.writeTextFile(`${dir}/script.ts`, source);
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", "script.ts"],
      cwd: dir,
      env: { [MARKER]: marker },
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, HUNG_AFTER_MS);
    const out = await child.output();
    clearTimeout(timer);
    const decoder = new TextDecoder();
    return {
      code: out.code,
      stdout: decoder.decode(out.stdout),
      stderr: decoder.decode(out.stderr),
      hung,
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The script ended by itself with code 0, printed `lines`, and left no process behind. */
function assertEnded(out: ScriptRun, lines: RegExp[], left: number[]): void {
  assert.equal(out.hung, false, `the script did not end by itself:\n${out.stdout}\n${out.stderr}`);
  assert.equal(out.code, 0, out.stderr);
  for (const line of [...lines, /^last line$/m]) assert.match(out.stdout, line);
  assert.deepEqual(left, [], "processes started by the script outlived it");
}

Deno.test({
  name: "a script that never closes its Client.local exits, and its cluster's processes end",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const marker = crypto.randomUUID();
    const script = `
import { array, Client } from ${JSON.stringify(MOD)};
const client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
const pids = client.cluster!.pids;
console.log("processes", pids.scheduler, ...pids.workers);
console.log("submit", await client.submit((x: number) => x + 1, 1));
console.log("gather", (await client.gather(client.map((x: number) => x * 2, [1, 2, 3]))).join(","));
console.log("array", (await array.ones([100], { chunks: [10] }).sum().compute()).toString());
function boom(): never {
  throw new Error("kaboom");
}
console.log("boom", await client.submit(boom).then(() => "no error", (e: Error) => e.stack));
console.log("last line");
`;
    const out = await runScript(script, marker);
    // the cluster was closed before the script exited: nothing of it is left, not even stopping
    assertEnded(out, [/^submit 2$/m, /^gather 2,4,6$/m], killMarked(MARKER, marker));
    // the failing task's stack names the script's line; the worker's line reaches our terminal
    const throwLine = script.split("\n").findIndex((l) => l.includes('new Error("kaboom")')) + 1;
    assert.match(
      out.stdout,
      new RegExp(`^boom Error: kaboom\n\\s+at boom \\(file://\\S+/script\\.ts:${throwLine}:`, "m"),
    );
    assert.match(
      out.stderr,
      /\[worker worker-\d\] task boom-\S+ failed: Error: kaboom \(at boom \(file:\/\/\S+\/script\.ts:/,
    );
    const processes = /^processes (.*)$/m.exec(out.stdout)![1].split(" ").map(Number);
    assert.equal(processes.length, 3);
  },
});

Deno.test({
  name: "a script that never closes its Client.connect exits; the cluster keeps serving",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
    const marker = crypto.randomUUID();
    const script = `
import { Client, delayed } from ${JSON.stringify(MOD)};
const client = await Client.connect(${JSON.stringify(cluster.schedulerAddress)});
const kept = client.submit((x: number) => x * 10, 4); // held, never awaited, never released
const add = (x: number, y: number) => x + y;
console.log("delayed", await delayed(add)(1, 2).compute());
console.log("future", await client.submit((x: number) => x - 1, 1));
void kept;
console.log("last line");
`;
    const out = await runScript(script, marker);
    assertEnded(out, [/^delayed 3$/m, /^future 0$/m], killMarked(MARKER, marker));
    // the scheduler saw the client leave and still serves others
    const { Client } = await import("../../mod.ts");
    await using other = await Client.connect(cluster.schedulerAddress);
    assert.equal(await other.submit((x: number) => x + 1, 41), 42);
  },
});

/** Waits (bounded) until no process with the marker is left; returns those still alive then. */
async function survivorsAfter(marker: string, boundMs = 30_000): Promise<number[]> {
  const until = Date.now() + boundMs;
  while (processesWithMarker(MARKER, marker).length > 0 && Date.now() < until) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return killMarked(MARKER, marker);
}

Deno.test({
  name: "a LocalCluster's processes end with a script that dies of an uncaught error or SIGKILL",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    // an uncaught rejection: Deno exits with code 1 and dispatches no `unload`
    const marker = crypto.randomUUID();
    const out = await runScript(
      `
import { Client } from ${JSON.stringify(MOD)};
const client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
console.log("submit", await client.submit((x: number) => x + 1, 1));
throw new Error("the script's own bug");
`,
      marker,
    );
    assert.equal(out.code, 1, out.stderr);
    assert.match(out.stdout, /^submit 2$/m);
    assert.match(out.stderr, /the script's own bug/);
    assert.deepEqual(await survivorsAfter(marker), [], "the cluster outlived its script");

    // SIGKILL: nothing of the script runs at all
    const killed = crypto.randomUUID();
    const dir = await Deno.makeTempDir({ prefix: "script-exit-" });
    try {
      await Deno.writeTextFile(
        `${dir}/script.ts`,
        `
import { Client } from ${JSON.stringify(MOD)};
const client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, dashboard: false });
console.log("submit", await client.submit((x: number) => x + 1, 1));
setInterval(() => {}, 1000);
`,
      );
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", "script.ts"],
        cwd: dir,
        env: { [MARKER]: killed },
        stdout: "piped",
        stderr: "null",
      }).spawn();
      const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
      let seen = "";
      while (!/submit 2/.test(seen)) {
        const { value, done } = await reader.read();
        if (done) break;
        seen += value;
      }
      assert.match(seen, /submit 2/);
      // the scheduler and both workers run now
      assert.equal(processesWithMarker(MARKER, killed).length, 4);
      child.kill("SIGKILL");
      await child.status;
      await reader.cancel();
      assert.deepEqual(
        await survivorsAfter(killed),
        [],
        "the cluster outlived its SIGKILLed script",
      );
    } finally {
      killMarked(MARKER, killed);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
