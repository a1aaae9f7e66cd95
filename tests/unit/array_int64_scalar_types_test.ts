/**
 * The static type of a full reduction follows the dtype: sums, products, min and max of int64 and
 * uint64 arrays are `Scalar<bigint>`, mean/var/std are numbers. The `@ts-expect-error` lines are
 * checked by the compiler (`deno check`, and `deno test`'s own type check): if one of them
 * type-checks, this file fails to compile. The run-time values are asserted beside them.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";

const data = new BigInt64Array([2n ** 62n, 2n ** 62n, -3n, 5n]);
const unsigned = new BigUint64Array([2n ** 63n, 2n ** 63n, 7n]);

Deno.test("types: full reductions of int64/uint64 are Scalar<bigint>; mean/var/std numbers", async () => {
  const x = array.fromArray(data, { chunks: 2 });
  const u = array.fromArray(unsigned, { chunks: 1 });
  const sum: array.Scalar<bigint> = x.sum();
  const prod: array.Scalar<bigint> = x.prod();
  const min: array.Scalar<bigint> = x.min();
  const max: array.Scalar<bigint> = u.max();
  const mean: array.Scalar<number> = x.mean();
  const std: array.Scalar<number> = x.std();
  const variance: array.Scalar<number> = u.var();
  // an int64 result asked for by dtype, and a float one from an int64 array
  const asked: array.Scalar<bigint> = array.ones([3], { dtype: "int32" }).sum({ dtype: "int64" });
  const inFloat: array.Scalar<number> = x.sum({ dtype: "float64" });
  const converted: array.Scalar<bigint> = array.arange(4, { chunks: 2 }).astype("uint64").sum();
  const filled: array.Scalar<bigint> = array.full([2, 2], 3n, { chunks: 1 }).sum();

  // @ts-expect-error an int64 sum is a bigint, not a number
  const wrongSum: array.Scalar<number> = x.sum();
  // @ts-expect-error an int64 max is a bigint, not a number
  const wrongMax: array.Scalar<number> = x.max();
  // @ts-expect-error a mean is a number even of int64 elements
  const wrongMean: array.Scalar<bigint> = x.mean();
  // @ts-expect-error a float64 sum is a number
  const wrongFloat: array.Scalar<bigint> = array.ones([3]).sum();
  void [wrongSum, wrongMax, wrongMean, wrongFloat];

  for (const scheduler of ["sync", "threads"] as const) {
    const options = { scheduler, numWorkers: 2 };
    const total: bigint = await sum.compute(options);
    // wraps around 64 bits as NumPy's int64 sum: 2^63 overflows to −2^63
    assert.equal(total, BigInt.asIntN(64, 2n ** 63n + 2n), scheduler);
    assert.equal(await prod.compute(options), BigInt.asIntN(64, 2n ** 124n * -15n), scheduler);
    assert.equal(await min.compute(options), -3n, scheduler);
    assert.equal(await max.compute(options), 2n ** 63n, scheduler);
    const average: number = await mean.compute(options);
    assert.equal(average, (2 ** 63 + 2) / 4, scheduler);
    assert.equal(typeof await std.compute(options), "number", scheduler);
    assert.equal(typeof await variance.compute(options), "number", scheduler);
    assert.equal(await asked.compute(options), 3n, scheduler);
    assert.equal(await inFloat.compute(options), 2 ** 63 + 2, scheduler);
    assert.equal(await converted.compute(options), 6n, scheduler);
    assert.equal(await filled.compute(options), 12n, scheduler);
    // and the wrongly typed ones hold what the types say they hold
    assert.equal(typeof await x.sum().compute(options), "bigint", scheduler);
    assert.equal(typeof await x.mean().compute(options), "number", scheduler);
  }
  shutdownThreads();
});
