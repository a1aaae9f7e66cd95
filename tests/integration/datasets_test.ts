/**
 * Published datasets on real processes: one client process publishes and exits, another gets
 * the same futures back; names, waiting with a timeout, unpublishing, `client.datasets`.
 */

import assert from "node:assert/strict";
import { Client, type Future, TimeoutError } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;

/** A client process that publishes `squares` and `config`, then exits without unpublishing. */
const PUBLISHER = `
import { Client } from ${JSON.stringify(MOD)};
const client = await Client.connect(Deno.args[0], { setAsDefault: false });
const squares = client.map((x) => x * x, [1, 2, 3]);
const total = client.submit((...xs) => xs.reduce((a, b) => a + b, 0), ...squares);
await client.publishDataset({ squares, config: { total, label: "three squares" } });
console.log("published", total.key);
await client.close();
`;

Deno.test("datasets outlive their publisher and come back as futures", async (t) => {
  await using cluster = await startCluster({ nWorkers: 2 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const dir = await Deno.makeTempDir();
  try {
    await t.step("published by a process that exited, read by another client", async () => {
      const script = `${dir}/publisher.ts`;
      await Deno.writeTextFile(script, PUBLISHER);
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", script, cluster.schedulerAddress],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const totalKey = text.match(/published (\S+)/)![1];
      assert.deepEqual((await client.listDatasets()).sort(), ["config", "squares"]);
      const squares = await client.getDataset<Future<number>[]>("squares");
      assert.equal(squares.length, 3);
      assert.deepEqual(await client.gather(squares), [1, 4, 9]);
      const config = await client.getDataset<{ total: Future<number>; label: string }>("config");
      assert.equal(config.total.key, totalKey);
      assert.equal(config.label, "three squares");
      assert.equal(await config.total, 14);
      // futures of a dataset are this client's: they go into its tasks
      assert.equal(await client.submit((x: number) => x + 1, config.total), 15);
    });

    await t.step("getDataset waits with a timeout, and fails without one", async () => {
      await assert.rejects(() => client.getDataset("later"), /No dataset named 'later'/);
      await assert.rejects(() => client.getDataset("later", { timeout: 0.1 }), TimeoutError);
      const waiting = client.getDataset<Future<string>[]>("later", { timeout: 30 });
      await using other = await Client.connect(cluster.schedulerAddress, {
        setAsDefault: false,
      });
      await other.publishDataset({ later: other.scatter(["arrived"]) });
      assert.deepEqual(await client.gather(await waiting), ["arrived"]);
    });

    await t.step("names are unique unless overridden; unpublish frees the name", async () => {
      const [x] = client.scatter(["x1"]);
      await client.publishDataset({ dup: [x] });
      await assert.rejects(() => client.publishDataset({ dup: [x] }), /already published/);
      const [y] = client.scatter(["y1"]);
      await client.publishDataset({ dup: [y] }, { override: true });
      assert.deepEqual(await client.gather(await client.getDataset("dup")), ["y1"]);
      await client.unpublishDataset("dup");
      assert.ok(!(await client.listDatasets()).includes("dup"));
      await assert.rejects(() => client.unpublishDataset("dup"), /No dataset named 'dup'/);
    });

    await t.step("client.datasets is a map of the published datasets", async () => {
      const future = client.submit((n: number) => n * 2, 21);
      await client.datasets.set("answer", [future]);
      assert.ok(await client.datasets.has("answer"));
      const names: string[] = [];
      for await (const name of client.datasets) names.push(name);
      assert.ok(names.includes("answer"));
      const [back] = await client.datasets.get<Future<number>[]>("answer");
      assert.equal(await back, 42);
      await client.datasets.delete("answer");
      assert.equal(await client.datasets.has("answer"), false);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
