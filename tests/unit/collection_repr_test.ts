/**
 * `console.log` of a collection shows Dask's short repr (what it is), never its internal plan.
 */

import assert from "node:assert/strict";
import { array, bag, Client, delayed } from "../../mod.ts";
import { startScheduler } from "../helpers/cluster.ts";
import { dataframeRepr } from "../../collections/display/repr.ts";

Deno.test("a DArray inspects as Dask's dask.array<…> line", () => {
  const x = array.ones([4, 6], { chunks: [2, 3], dtype: "float32" });
  const text = Deno.inspect(x.add(1).sum({ axis: 0 }));
  assert.match(
    text,
    /^dask\.array<[^\n]+, shape=\(6,\), dtype=float32, chunksize=\(3,\), chunktype=NDArray>$/,
  );
});

Deno.test("a Bag inspects as dask.bag<name, npartitions=n>, not its plan", () => {
  const b = bag.fromSequence(Array.from({ length: 100 }, (_, i) => i), { npartitions: 4 })
    .map((x: number) => x * 2)
    .filter((x: number) => x % 3 === 0);
  const text = Deno.inspect(b);
  assert.match(text, /^dask\.bag<filter-[^\n]+, npartitions=4>$/);
  // nested in other values too (an array of bags, as console.log shows it)
  assert.match(Deno.inspect([b]), /\[ dask\.bag<filter-[^>]+> \]/);
});

Deno.test("a Delayed (a callable proxy) inspects as Delayed('key'), also in an object", () => {
  const inc = (x: number) => x + 1;
  const d = delayed(inc)(delayed(inc)(1));
  assert.equal(Deno.inspect(d), `Delayed(${JSON.stringify(d.key)})`);
  assert.match(Deno.inspect({ d }), /\{ d: Delayed\("inc-[^"]+"\) \}/);
});

Deno.test("a Client inspects with its scheduler, status and dashboard", async () => {
  const { process, address } = await startScheduler();
  try {
    const client = await Client.connect(address, { setAsDefault: false });
    try {
      const text = Deno.inspect(client);
      assert.ok(text.startsWith(`<Client: '${address}' status: running`), text);
      if (client.dashboardLink !== undefined) assert.ok(text.includes(client.dashboardLink), text);
    } finally {
      await client.close();
    }
    assert.match(Deno.inspect(client), /status: closed>$/);
  } finally {
    await process.stop();
  }
});

Deno.test("a dataframe prints Dask's structure table, with known divisions as row labels", () => {
  const frame = {
    name: "readCsv-1f2e",
    columns: ["a", "name"],
    dtypes: { a: "Int64", name: "String" },
    npartitions: 2,
    divisions: [null, null, null],
    knownDivisions: false,
  };
  assert.equal(
    dataframeRepr(frame),
    [
      "Dask DataFrame Structure:",
      "                   a    name",
      "npartitions=2",
      "               Int64  String",
      "                 ...     ...",
      "                 ...     ...",
      "Dask Name: readCsv-1f2e, 2 partitions",
    ].join("\n"),
  );
  const sorted = dataframeRepr({ ...frame, divisions: [0, 50, 99], knownDivisions: true });
  assert.match(sorted, /\n0 +Int64 +String\n50 +\.\.\. +\.\.\.\n99 +\.\.\. +\.\.\./);
});

Deno.test("a full reduction's result is a number: template, arithmetic, inspect", async () => {
  const total = await array.ones([100, 100], { chunks: [50, 50] }).sum().compute();
  assert.equal(total, 10000);
  assert.equal(`${total}`, "10000");
  assert.equal(Deno.inspect({ total }), "{ total: 10000 }");
  const mean = await array.arange(0, 10, 1, { chunks: 3 }).mean().compute();
  assert.equal(mean, 4.5);
});

Deno.test("a 0-d NDArray (a block) reads as its number; larger ones say what they are", async () => {
  const [block] = array.ones([100, 100], { chunks: [50, 50] }).sum().toDelayed();
  const total = await block.compute();
  assert.deepEqual(total.shape, []);
  assert.equal(`${total}`, "10000");
  assert.equal(+total, 10000);
  assert.equal(total.item(), 10000);
  assert.equal(Deno.inspect(total), "10000");
  // Arrays of more elements keep their usual inspect and say what they are in a template.
  const rows = await array.ones([3, 4], { chunks: [2, 2] }).sum({ axis: 0 }).compute();
  assert.equal(`${rows}`, "NDArray<float64, shape=(4,)>");
  assert.match(Deno.inspect(rows), /^NDArray \{\n {2}dtype: "float64",\n {2}shape: \[ 4 \]/);
  assert.throws(() => rows.item(), /item\(\) needs an array of one element; .*shape \(4\)/);
});
