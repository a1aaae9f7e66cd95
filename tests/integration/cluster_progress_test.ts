/**
 * Progress of a computation on a real cluster counts every task of its graph, not only the
 * outputs that report back to the client: `progress()` per task prefix, and
 * `compute({ progress: true })`'s bar.
 */

import assert from "node:assert/strict";
import { Client, type Delayed, delayed, progress } from "../../mod.ts";

const slowInc = (x: number) => {
  const until = Date.now() + 10;
  while (Date.now() < until) { /* a task that takes a while */ }
  return x + 1;
};
const add = (a: number, b: number) => a + b;

/** 64 slow leaves summed pairwise: 127 tasks, one output. */
function tree(offset: number): Delayed<number> {
  let level: Delayed<number>[] = Array.from({ length: 64 }, (_, i) => delayed(slowInc)(offset + i));
  while (level.length > 1) {
    const next: Delayed<number>[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(delayed(add)(level[i], level[i + 1]));
    level = next;
  }
  return level[0];
}

const expectedSum = (offset: number) => 64 * offset + (64 * 65) / 2;

Deno.test("progress on a cluster", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });

  await t.step("progress() counts every task of a lazy graph, per prefix", async () => {
    const lines: string[] = [];
    const [persisted] = await progress(tree(0), {
      terminal: false,
      intervalMs: 40,
      write: (text) => lines.push(text.trim()),
    });
    assert.equal(await persisted.compute(), expectedSum(0));
    const counts = lines.map((line) => Number(/\] (\d+)\/127 tasks/.exec(line)?.[1]));
    assert.ok(counts.every((n) => Number.isInteger(n)), lines.join("\n"));
    const last = lines.at(-1)!;
    for (const part of [/127\/127 tasks/, /slowInc 64\/64/, /add 63\/63/]) {
      assert.match(last, part);
    }
    assert.ok(counts.some((n) => n > 0 && n < 127), `no partial count in:\n${lines.join("\n")}`);
    for (let i = 1; i < counts.length; i++) assert.ok(counts[i] >= counts[i - 1], "counts grow");
  });

  await t.step("compute({ progress: true }) draws a bar over the whole graph", async () => {
    const script = `
      import { Client, delayed } from "${new URL("../../mod.ts", import.meta.url).href}";
      const slowInc = ${slowInc.toString()};
      const add = ${add.toString()};
      const tree = ${tree.toString()};
      await using client = await Client.connect(${JSON.stringify(client.schedulerAddress)});
      console.log(await tree(1000).compute({ progress: true }));
    `;
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["eval", "--ext=ts", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, stderr);
    assert.equal(new TextDecoder().decode(out.stdout).trim(), String(expectedSum(1000)));
    assert.match(stderr.trim().split("\n").at(-1)!, /100% \| 127\/127 tasks/);
  });
});
