/**
 * NaN-ignoring reductions and `dtype` on reductions against plain TypeScript loops, blocked
 * over several chunk layouts, on sync and threads.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { NDArray } from "../../core/ndarray.ts";

const ROWS = [
  [1, NaN, 3, 4.5],
  [NaN, NaN, NaN, NaN],
  [-2, 0.5, NaN, 8],
];

function column(j: number) {
  return ROWS.map((r) => r[j]);
}

function valid(xs: number[]) {
  return xs.filter((v) => !Number.isNaN(v));
}

const mean = (xs: number[]) => valid(xs).reduce((a, b) => a + b, 0) / valid(xs).length;
const variance = (xs: number[], ddof: number) => {
  const v = valid(xs), m = mean(xs);
  return v.reduce((a, b) => a + (b - m) ** 2, 0) / (v.length - ddof);
};

function close(got: number[], want: number[], what: string) {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => {
    if (Number.isNaN(want[i])) assert.ok(Number.isNaN(g), `${what}[${i}] ${g}`);
    else {assert.ok(
        Math.abs(g - want[i]) <= 1e-12 * Math.max(1, Math.abs(want[i])),
        `${what}[${i}] ${g} vs ${want[i]}`,
      );}
  });
}

Deno.test("nan reductions per row, per column and whole, against plain loops", async () => {
  const data = new NDArray(Float64Array.from(ROWS.flat()), [3, 4]);
  try {
    for (const chunks of [[1, 2], [2, 3], [3, 4]]) {
      const x = array.fromArray(data, { chunks });
      for (const scheduler of ["sync", "threads"] as const) {
        const got = async (d: array.DArray) => {
          const value: unknown = await d.compute({ scheduler });
          if (d.ndim > 0) return [(value as NDArray).toArray()].flat(Infinity) as number[];
          assert.equal(typeof value, "number", "a whole reduction computes to a number");
          return [value as number];
        };
        const rows = ROWS;
        close(
          await got(array.nansum(x, { axis: 1 })),
          rows.map((r) => valid(r).reduce((a, b) => a + b, 0)),
          "nansum",
        );
        close(
          await got(array.nanprod(x, { axis: 1 })),
          rows.map((r) => valid(r).reduce((a, b) => a * b, 1)),
          "nanprod",
        );
        close(await got(array.nanmean(x, { axis: 1 })), rows.map(mean), "nanmean");
        close(
          await got(array.nanvar(x, { axis: 1, ddof: 1 })),
          rows.map((r) => variance(r, 1)),
          "nanvar",
        );
        close(
          await got(array.nanstd(x, { axis: 1 })),
          rows.map((r) => Math.sqrt(variance(r, 0))),
          "nanstd",
        );
        close(
          await got(array.nanmin(x, { axis: 1 })),
          rows.map((r) => valid(r).length ? Math.min(...valid(r)) : NaN),
          "nanmin",
        );
        close(
          await got(array.nanmax(x, { axis: 0 })),
          [0, 1, 2, 3].map((j) => Math.max(...valid(column(j)))),
          "nanmax",
        );
        close(
          await got(array.nansum(x)),
          [valid(ROWS.flat()).reduce((a, b) => a + b, 0)],
          "nansum all",
        );
        close(await got(array.nanargmin(x, { axis: 0 })), [2, 2, 0, 0], "nanargmin");
        close(await got(array.nanargmax(x)), [11], "nanargmax");
        let acc = 0;
        close(
          await got(array.nancumsum(x)),
          ROWS.flat().map((v) => (acc += Number.isNaN(v) ? 0 : v)),
          "nancumsum",
        );
        let p = 1;
        close(
          await got(array.nancumprod(x)),
          ROWS.flat().map((v) => (p *= Number.isNaN(v) ? 1 : v)),
          "nancumprod",
        );
      }
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("dtype on reductions: reduce in that dtype and give it", async () => {
  const x = array.fromArray(new NDArray(Int32Array.from([100, 100, 100]), [3]), { chunks: 2 });
  const asInt8 = array.sum(x, { dtype: "int8" });
  assert.equal(asInt8.dtype, "int8");
  // NumPy: np.sum(np.array([100, 100, 100]), dtype=np.int8) == 44 (wraps)
  assert.equal(await asInt8.compute({ scheduler: "sync" }), 44);
  const f32 = x.mean({ dtype: "float32" });
  assert.equal(f32.dtype, "float32");
  assert.equal(await f32.compute({ scheduler: "sync" }), 100);
});
