// Parquet round trips (columns and filters pushed into the scan), bag ↔ dataframe conversions,
// groupby().apply through a key shuffle, fromDelayed/toDelayed and fromArrow.
import assert from "node:assert/strict";
import * as dd from "../../collections/dataframe/mod.ts";
import { bag, delayed } from "../../mod.ts";

const rows = Array.from({ length: 90 }, (_, i) => ({
  k: ["a", "b", "c"][i % 3],
  x: i % 10 === 0 ? null : i * 1.5,
  n: i,
}));

for (const scheduler of ["sync", "threads"] as const) {
  Deno.test(`toParquet then readParquet with columns and filters (${scheduler})`, async () => {
    const dir = await Deno.makeTempDir({ prefix: "dataframe-parquet-" });
    try {
      const df = dd.fromRecords(rows, { npartitions: 4 });
      const paths = await df.toParquet(dir, { scheduler });
      assert.equal(paths.length, 4);
      const back = dd.readParquet(`${dir}/*.parquet`);
      assert.equal(back.npartitions, 4);
      assert.deepEqual((await back.compute({ scheduler })).toRecords(), rows);
      const some = dd.readParquet(`${dir}/*.parquet`, {
        columns: ["n", "k"],
        filters: [["k", "in", ["a", "c"]], ["n", ">=", 30]],
      });
      assert.deepEqual(some.columns, ["n", "k"]);
      const got = (await some.compute({ scheduler })).toRecords();
      assert.deepEqual(
        got,
        rows.filter((r) => r.k !== "b" && r.n >= 30).map(({ n, k }) => ({ n, k })),
      );
      // a query's own columns are pushed into the scan too
      const query = back.col("x").sum();
      const scans = [...query.graph.values()].flatMap((t) =>
        t.args.filter((a) => typeof a === "object" && a !== null && "parquet" in a)
      ) as { parquet: { columns: string[] } }[];
      assert.deepEqual(scans[0].parquet.columns, ["x"]);
      assert.throws(() => dd.readParquet(`${dir}/none-*.parquet`), /no file matches/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`toBag and bag.toDataframe (${scheduler})`, async () => {
    const df = dd.fromRecords(rows, { npartitions: 3 });
    const records = await df.toBag().filter((r: Record<string, unknown>) => r.k === "b")
      .compute({ scheduler });
    assert.deepEqual(records, rows.filter((r) => r.k === "b"));
    const b = bag.fromSequence(rows, { npartitions: 5 });
    const inferred = await b.toDataframe({ scheduler });
    assert.deepEqual(inferred.columns, ["k", "x", "n"]);
    assert.equal(await inferred.col("n").sum().compute({ scheduler }), 89 * 90 / 2);
    const typed = await b.toDataframe({ meta: { k: "string", n: "float64" } });
    assert.equal(typed.dtypes.n, "Float64");
    assert.deepEqual(
      (await typed.compute({ scheduler })).getColumn("n").toArray(),
      rows.map((r) => r.n),
    );
  });

  Deno.test(`groupby().apply sees whole groups (${scheduler})`, async () => {
    const df = dd.fromRecords(rows, { npartitions: 6 });
    const ranked = df.groupby("k").apply((group) => group.sort("n", true).head(2).select("k", "n"));
    const got = (await ranked.compute({ scheduler })).sort(["k", "n"]).toRecords();
    const expected = ["a", "b", "c"].flatMap((k) =>
      rows.filter((r) => r.k === k).map((r) => r.n).sort((p, q) => q - p).slice(0, 2)
        .map((n) => ({ k, n }))
    ).sort((p, q) => p.k < q.k ? -1 : p.k > q.k ? 1 : p.n - q.n);
    assert.deepEqual(got, expected);
  });
}

Deno.test("fromDelayed, toDelayed and fromArrow", async () => {
  const make = (from: number) => dd.pl.DataFrame({ v: [from, from + 1] });
  const parts = [delayed(make)(0), delayed(make)(10)];
  const df = dd.fromDelayed(parts, {
    meta: dd.pl.DataFrame([dd.pl.Series("v", [], dd.pl.Float64)]),
  });
  assert.equal(await df.col("v").sum({}).compute({ scheduler: "sync" }), 22);
  const pieces = df.toDelayed();
  assert.equal(pieces.length, 2);
  assert.deepEqual((await pieces[1].compute({ scheduler: "sync" })).getColumn("v").toArray(), [
    10,
    11,
  ]);
  const ipc = dd.pl.DataFrame({ a: [1, 2, 3] }).writeIPCStream();
  const fromIpc = dd.fromArrow([
    new Uint8Array(ipc.buffer, ipc.byteOffset, ipc.byteLength),
    dd.pl.DataFrame({ a: [4] }),
  ]);
  assert.equal(fromIpc.npartitions, 2);
  assert.equal(await fromIpc.length().compute({ scheduler: "threads" }), 4);
  assert.throws(() => dd.fromDelayed(parts, {} as never), /meta/);
});
