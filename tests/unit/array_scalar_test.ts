/**
 * Arrays of shape () are Scalars and compute to JS values, as Dask's compute to NumPy scalars:
 * whichever operation made them, on every local scheduler, through `compute(a, b)`, persist and
 * delayed calls; and TypeScript gives `number` (or `boolean`) where the shape is known.
 */
import assert from "node:assert/strict";
import { array, compute, delayed, NDArray } from "../../mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { shutdownProcesses } from "../../collections/local/processes.ts";
import * as k from "../../collections/array/kernels/mod.ts";

const DATA = new NDArray(Float64Array.from([3, -1, 4, 1, -5, 9, 2, 6, 5, 3, -5, 8]), [3, 4]);
const x = array.fromArray(DATA, { chunks: [2, 3] });
const vector = array.fromArray(new NDArray(Float64Array.from([1, 2, 3, 4, 5])), { chunks: 2 });
const SCHEDULERS = [
  { scheduler: "sync" },
  { scheduler: "threads", numWorkers: 2 },
  { scheduler: "processes", numWorkers: 2 },
] as const;

/** Every way to get shape (), with the value NumPy gives for DATA. */
function scalars(): [string, array.DArray, number | boolean][] {
  const values = [...DATA.numbers()];
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const variance = values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length;
  return [
    ["sum", x.sum(), 30],
    ["prod", x.prod(), values.reduce((a, b) => a * b, 1)],
    ["min", x.min(), -5],
    ["max", x.max(), 9],
    ["mean", x.mean(), 2.5],
    ["var", x.var(), variance],
    ["std", x.std(), Math.sqrt(variance)],
    ["any", x.greater(8).any(), true],
    ["all", x.greater(-5).all(), false],
    ["argmin", x.argmin(), 4],
    ["argmax", x.argmax(), 5],
    ["nansum", array.nansum(x), 30],
    ["nanmax", array.nanmax(x), 9],
    ["nanargmin", array.nanargmin(x), 4],
    ["sum over every axis named", x.sum({ axis: [0, 1] }), 30],
    ["module sum", array.sum(x), 30],
    ["an integer index", x.get([2, 1]), 3],
    ["an integer index as text", x.get("1, -1"), 6],
    ["dot of two vectors", vector.dot(vector), 55],
    ["a Scalar's arithmetic", x.max().sub(x.min()), 14],
    ["a Scalar against a number", x.mean().greater(2), true],
    ["an int32 sum", x.astype("int32").sum(), 30],
  ];
}

Deno.test("every array of shape () is a Scalar, whichever operation made it", () => {
  for (const [what, scalar] of scalars()) {
    assert.ok(scalar instanceof array.Scalar, `${what} is a Scalar`);
    assert.deepEqual(scalar.shape, [], what);
    assert.equal(scalar.ndim, 0, what);
  }
  // the same operations keep their arrays where axes remain
  for (
    const kept of [x.sum({ axis: 0 }), x.sum({ keepdims: true }), x.get([1]), x.argmax({ axis: 1 })]
  ) {
    assert.ok(!(kept instanceof array.Scalar), kept.toString());
  }
});

Deno.test("a Scalar computes to a JS value on sync, threads and processes", async () => {
  try {
    for (const options of SCHEDULERS) {
      for (const [what, scalar, expected] of scalars()) {
        const value: unknown = await scalar.compute(options);
        const where = `${what} on ${options.scheduler}`;
        assert.equal(typeof value, typeof expected, `${where}: got ${Deno.inspect(value)}`);
        if (typeof expected === "number") {
          assert.ok(Math.abs((value as number) - expected) <= 1e-12 * Math.abs(expected), where);
        } else assert.equal(value, expected, where);
      }
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});

Deno.test("compute(a, b), persist and delayed calls see the value too", async () => {
  try {
    for (const options of SCHEDULERS) {
      const where = options.scheduler;
      const [total, peak, rows, flag] = await compute(
        x.sum(),
        x.max(),
        x.sum({ axis: 1 }),
        x.less(0).any(),
        options,
      );
      // compile-time: the results are typed as what they are
      const typed: [number, number, NDArray, boolean] = [total, peak, rows, flag];
      assert.deepEqual(typed.map((v) => typeof v), ["number", "number", "object", "boolean"]);
      assert.deepEqual([total, peak, flag], [30, 9, true], where);
      assert.deepEqual(rows.toArray(), [7, 12, 11], where);

      const kept = await x.mean().persist(options);
      assert.ok(kept instanceof array.Scalar, where);
      const mean: number = await kept.compute(options);
      assert.equal(mean, 2.5, where);

      const doubled = delayed((v: number) => {
        if (typeof v !== "number") throw new TypeError(`got ${typeof v}`);
        return v * 2;
      })(x.sum());
      assert.equal(await doubled.compute(options), 60, where);
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});

Deno.test("a Scalar mixes with arrays and stays one with numbers and Scalars", async () => {
  const centred = x.sub(x.mean());
  assert.ok(!(centred instanceof array.Scalar));
  assert.deepEqual(centred.shape, [3, 4]);
  const got = await centred.compute({ scheduler: "sync" });
  assert.deepEqual(got.toArray(), k.subtract(DATA, 2.5).toArray());
  const zScore = x.max().sub(x.mean()).div(x.std());
  assert.ok(zScore instanceof array.Scalar);
  const z: number = await zScore.compute({ scheduler: "sync" });
  assert.ok(Math.abs(z - 6.5 / Math.sqrt(k.variance(DATA).get())) < 1e-12);
  const bool: boolean = await x.sum().equal(30).compute({ scheduler: "sync" });
  assert.equal(bool, true);
});

Deno.test("types: whole reductions are Scalars; an axis keeps a DArray", async () => {
  // each line is checked by the compiler; a wrong type fails the type check of this file
  const s: array.Scalar = x.sum();
  const b: array.Scalar<boolean> = x.any();
  const n: number = await s.compute({ scheduler: "sync" });
  const flag: boolean = await b.compute({ scheduler: "sync" });
  const rows: NDArray = await x.sum({ axis: 0 }).compute({ scheduler: "sync" });
  const kept: NDArray = await x.mean({ keepdims: true }).compute({ scheduler: "sync" });
  // @ts-expect-error: a reduction along an axis computes to an NDArray, not a number
  const wrong: number = await x.sum({ axis: 0 }).compute({ scheduler: "sync" });
  // @ts-expect-error: any() computes to a boolean
  const notNumber: number = await x.any().compute({ scheduler: "sync" });
  assert.deepEqual([n, flag], [30, true]);
  assert.deepEqual(rows.shape, [4]);
  assert.deepEqual(kept.shape, [1, 1]);
  assert.ok((wrong as unknown) instanceof NDArray);
  assert.equal(notNumber as unknown, true);
});

Deno.test("fromDelayed of shape () is a Scalar; a block of another shape is refused", async () => {
  const five = array.fromDelayed(delayed(() => 5)(), []);
  assert.ok(five instanceof array.Scalar);
  assert.equal(await five.compute({ scheduler: "sync" }), 5);
  const pair = array.fromDelayed(delayed(() => k.ones([2]))(), []);
  await assert.rejects(
    pair.compute({ scheduler: "sync" }),
    /produced a value of shape \(2,\), but the array was declared with shape \(\)/,
  );
});
