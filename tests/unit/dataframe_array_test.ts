// dataframe.fromArray: a DataFrame over the row blocks of a 1-D or 2-D DArray, against the
// array's own values, on the sync and threads schedulers.
import assert from "node:assert/strict";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as da from "../../collections/array/mod.ts";
import * as dd from "../../collections/dataframe/mod.ts";

const SCHEDULERS = ["sync", "threads"] as const;

Deno.test("dataframe.fromArray: one partition per row block, columns named, values as the array's", async () => {
  const rows = 7, width = 3;
  const values = Float64Array.from({ length: rows * width }, (_, i) => i * 1.5 - 4);
  // blocks of 3 rows and 2 columns: the columns are joined into one block per row block
  const x = da.fromArray(values, { shape: [rows, width], chunks: [3, 2] });
  const df = dd.fromArray(x, ["a", "b", "c"]);
  assert.equal(df.npartitions, 3);
  assert.deepEqual(df.columns, ["a", "b", "c"]);
  assert.deepEqual(df.dtypes, { a: "Float64", b: "Float64", c: "Float64" });
  for (const scheduler of SCHEDULERS) {
    const out = await df.compute({ scheduler });
    for (const [j, name] of ["a", "b", "c"].entries()) {
      const expected = Array.from({ length: rows }, (_, i) => values[i * width + j]);
      assert.deepEqual(out.getColumn(name).toArray(), expected);
    }
    const total = await df.col("b").add(df.col("c")).sum().compute({ scheduler });
    let reference = 0;
    for (let i = 0; i < rows; i++) reference += values[i * width + 1] + values[i * width + 2];
    assert.equal(total, reference);
  }
  shutdownThreads();
});

Deno.test("dataframe.fromArray: a 1-D array is one column; dtypes follow the array's", async () => {
  const ints = da.fromArray(Int32Array.from([5, -1, 7, 0, 2]), { chunks: 2 });
  const df = dd.fromArray(ints, "n");
  assert.deepEqual(df.dtypes, { n: "Int32" });
  assert.equal(df.npartitions, 3);
  const out = await df.filter(df.col("n").gt(0)).compute();
  assert.deepEqual(out.getColumn("n").toArray(), [5, 7, 2]);
  const mask = dd.fromArray(ints.greater(0), ["positive"]);
  assert.deepEqual(mask.dtypes, { positive: "Boolean" });
  assert.deepEqual((await mask.compute()).getColumn("positive").toArray(), [
    true,
    false,
    true,
    false,
    true,
  ]);
  // default names are the column positions, as Dask's
  assert.deepEqual(dd.fromArray(da.ones([4, 2], { chunks: 2 })).columns, ["0", "1"]);
});

Deno.test("dataframe.fromArray: wrong shapes and names are refused with the reason", () => {
  const cube = da.ones([2, 2, 2]);
  assert.throws(() => dd.fromArray(cube), /1-D or 2-D/);
  assert.throws(
    () => dd.fromArray(da.ones([4, 2]), ["a"]),
    /1 column name\(s\) for an array with 2/,
  );
  assert.throws(() => dd.fromArray(da.ones([4, 2]), ["a", "a"]), /must differ/);
});
