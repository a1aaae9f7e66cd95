/**
 * Run by client_memory_test.ts with `--v8-flags=--expose-gc`: makes a 40 MB result on the
 * cluster, drops its Future without `release()`, collects garbage, and prints the workers'
 * memory before and after as JSON. Usage: `<scheduler address>`.
 */

import { Client, type Future, wait } from "../../mod.ts";

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc");

const client = await Client.connect(Deno.args[0]);
const held = async () => (await client.workers()).reduce((n, w) => n + w.memory, 0);
const before = await held();

// Held until the workers report the result (a garbage collection before that would release it
// early and the test would see nothing), then dropped without release().
let big: Future<Float64Array> | undefined = client.with({ pure: false }).submit(
  (n: number) => new Float64Array(n),
  5_000_000,
);
await wait(big);
let during = await held();
for (let i = 0; i < 200 && during < before + 40e6; i++) {
  await new Promise((resolve) => setTimeout(resolve, 100)); // heartbeats report memory
  during = await held();
}
big = undefined;

let after = during;
const deadline = Date.now() + 30_000; // generous: CI machines are busy
while (Date.now() < deadline && after > before + 1e6) {
  gc();
  await new Promise((resolve) => setTimeout(resolve, 100));
  after = await held();
}
console.log(JSON.stringify({ before, during, after }));
await client.close();
