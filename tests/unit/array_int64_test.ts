/**
 * int64 and uint64 (BigInt64Array / BigUint64Array): the kernels and the chunked array against
 * references computed with plain BigInt arithmetic, wrapped at 64 bits as NumPy's integers.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { shutdownProcesses } from "../../collections/local/processes.ts";
import type { NDArray } from "../../core/ndarray.ts";
import { decode, encode } from "../../core/value_codec.ts";
import { Random } from "./ndarray_reference.ts";

const wrap64 = (v: bigint) => BigInt.asIntN(64, v);
const wrapU64 = (v: bigint) => BigInt.asUintN(64, v);
const floorDiv = (a: bigint, b: bigint) => {
  if (b === 0n) return 0n;
  const q = a / b;
  return a % b !== 0n && (a < 0n) !== (b < 0n) ? q - 1n : q;
};
const pyMod = (a: bigint, b: bigint) => (b === 0n ? 0n : a - floorDiv(a, b) * b);

/** Random int64 values spread over the whole range, with small ones and the extremes mixed in. */
function randomBigInts(r: Random, n: number): bigint[] {
  return Array.from({ length: n }, () => {
    const pick = r.int(0, 5);
    if (pick === 0) return BigInt(r.int(-5, 5));
    if (pick === 1) return r.bool(0.5) ? 2n ** 63n - 1n : -(2n ** 63n);
    const hi = BigInt(r.int(0, 2 ** 31 - 1)), lo = BigInt(r.int(0, 2 ** 31 - 1));
    return wrap64((hi << 33n) ^ (lo << 2n) ^ BigInt(r.int(0, 3)));
  });
}

const values = (x: NDArray) => Array.from(x.contiguousData() as BigInt64Array);

Deno.test("int64 element-wise arithmetic wraps and divides as NumPy's", () => {
  const r = new Random(64);
  const as = randomBigInts(r, 200), bs = randomBigInts(r, 200);
  bs[3] = 0n; // division by zero gives 0, as NumPy (which warns)
  const a = k.fromNested(as), b = k.fromNested(bs);
  assert.equal(a.dtype, "int64");
  const cases: [string, NDArray, (x: bigint, y: bigint) => bigint][] = [
    ["add", k.add(a, b), (x, y) => wrap64(x + y)],
    ["subtract", k.subtract(a, b), (x, y) => wrap64(x - y)],
    ["multiply", k.multiply(a, b), (x, y) => wrap64(x * y)],
    ["floorDivide", k.floorDivide(a, b), (x, y) => wrap64(floorDiv(x, y))],
    ["mod", k.mod(a, b), (x, y) => wrap64(pyMod(x, y))],
    ["maximum", k.maximum(a, b), (x, y) => (x > y ? x : y)],
    ["bitwiseXor", k.bitwiseXor(a, b), (x, y) => x ^ y],
  ];
  for (const [name, got, ref] of cases) {
    assert.equal(got.dtype, "int64", name);
    assert.deepEqual(values(got), as.map((x, i) => ref(x, bs[i])), name);
  }
  assert.deepEqual(values(k.negative(a)), as.map((x) => wrap64(-x)));
  assert.deepEqual(
    values(k.pow(k.fromNested([3n, -2n, 7n]), 41)),
    [3n, -2n, 7n].map((x) => wrap64(x ** 41n)),
  );
  // true division gives float64, as NumPy
  const q = k.divide(k.fromNested([7n, -7n]), 2);
  assert.equal(q.dtype, "float64");
  assert.deepEqual(Array.from(q.numbers()), [3.5, -3.5]);
});

Deno.test("uint64 wraps modulo 2^64; mixing with signed or float types promotes as NumPy", () => {
  const u = k.astype(k.fromNested([0n, 1n, 2n ** 64n - 1n]), "uint64");
  assert.deepEqual(Array.from(u.contiguousData() as BigUint64Array), [0n, 1n, 2n ** 64n - 1n]);
  const next = k.add(u, 1);
  assert.equal(next.dtype, "uint64");
  assert.deepEqual(
    Array.from(next.contiguousData() as BigUint64Array),
    [1n, 2n, 0n].map(wrapU64),
  );
  assert.equal(k.add(u, k.fromNested([1n, 2n, 3n])).dtype, "float64"); // uint64 + int64
  assert.equal(k.add(k.fromNested([1n]), k.fromNested([0.5])).dtype, "float64");
  assert.equal(k.add(k.fromNested([1n]), k.fromNested([1], "int32")).dtype, "int64");
  assert.equal(k.add(k.fromNested([1], "int32"), k.fromNested([1], "uint32")).dtype, "int64");
});

Deno.test("int64 comparisons are exact past 2^53 (where float64 cannot tell them apart)", () => {
  const big = 2n ** 53n;
  const a = k.fromNested([big, big + 1n, -big - 1n]), b = k.fromNested([big + 1n, big, -big]);
  assert.deepEqual(k.less(a, b).toArray(), [true, false, true]);
  assert.deepEqual(k.equal(a, b).toArray(), [false, false, false]);
  assert.deepEqual(k.equal(a, a).toArray(), [true, true, true]);
  assert.deepEqual(
    values(k.where(k.fromNested([true, false, true]), a, b)),
    [big, big, -big - 1n],
  );
});

Deno.test("astype converts between int64, uint64, narrower types, floats and bools", () => {
  const a = k.fromNested([-1n, 2n ** 40n + 3n, 2n ** 62n, 0n]);
  assert.deepEqual(k.astype(a, "int32").toArray(), [-1, 3, 0, 0]); // low 32 bits, as NumPy
  assert.deepEqual(k.astype(a, "float64").toArray(), [-1, 2 ** 40 + 3, 2 ** 62, 0]);
  assert.deepEqual(k.astype(a, "bool").toArray(), [true, true, true, false]);
  assert.deepEqual(
    Array.from(k.astype(a, "uint64").contiguousData() as BigUint64Array),
    [2n ** 64n - 1n, 2n ** 40n + 3n, 2n ** 62n, 0n],
  );
  assert.deepEqual(values(k.astype(k.fromNested([-2.7, 2.7, 1e15]), "int64")), [
    -2n,
    2n,
    10n ** 15n,
  ]);
  assert.throws(() => k.astype(k.fromNested([NaN]), "int64"), /cannot convert NaN/);
  assert.deepEqual(values(k.arange(0, 3, 1, "int64")), [0n, 1n, 2n]);
  assert.deepEqual(values(k.full([2], 2n ** 60n)), [2n ** 60n, 2n ** 60n]);
});

Deno.test("int64 reductions are exact and wrap; mean and var give float64", () => {
  const r = new Random(7);
  const xs = randomBigInts(r, 60);
  const a = k.reshape(k.fromNested(xs), [6, 10]);
  const rows = Array.from({ length: 6 }, (_, i) => xs.slice(i * 10, i * 10 + 10));
  const sumRef = rows.map((row) => wrap64(row.reduce((s, v) => s + v, 0n)));
  assert.deepEqual(values(k.sum(a, { axis: 1 })), sumRef);
  assert.deepEqual(
    values(k.prod(a, { axis: 1 })),
    rows.map((row) => wrap64(row.reduce((p, v) => p * v, 1n))),
  );
  assert.deepEqual(
    values(k.min(a, { axis: 1 })),
    rows.map((row) => row.reduce((m, v) => v < m ? v : m)),
  );
  assert.deepEqual(values(k.max(a)), [xs.reduce((m, v) => (v > m ? v : m))]);
  assert.equal(
    k.argmax(a).get(),
    xs.indexOf(xs.reduce((m, v) => (v > m ? v : m))),
  );
  let running = 0n;
  assert.deepEqual(values(k.cumsum(a)), xs.map((v) => (running = wrap64(running + v))));
  const small = k.fromNested([1n, 2n, 3n, 4n]);
  assert.equal(k.mean(small).dtype, "float64");
  assert.equal(k.mean(small).get(), 2.5);
  assert.equal(k.variance(small).get(), 1.25);
  assert.deepEqual(k.any(small).toArray(), true);
});

Deno.test("int64 and uint64 arrays travel through the value codec unchanged", () => {
  const a = k.reshape(k.fromNested(randomBigInts(new Random(3), 12)), [3, 4]);
  const back = decode(encode(a)) as NDArray;
  assert.equal(back.dtype, "int64");
  assert.deepEqual(back.shape, [3, 4]);
  assert.deepEqual(values(back), values(a));
  const u = k.astype(a, "uint64");
  assert.deepEqual(
    Array.from((decode(encode(u)) as NDArray).contiguousData() as BigUint64Array),
    Array.from(u.contiguousData() as BigUint64Array),
  );
});

Deno.test("chunked int64 arrays: creation, arithmetic, reductions, slicing, joins on every local scheduler", async () => {
  const xs = randomBigInts(new Random(11), 48);
  const a = k.reshape(k.fromNested(xs), [6, 8]);
  const x = array.fromArray(a, { chunks: [4, 3] });
  assert.equal(x.dtype, "int64");
  const big = 2n ** 60n;
  try {
    for (const scheduler of ["sync", "threads", "processes"] as const) {
      const on = { scheduler, numWorkers: 2 } as const;
      // a sum above 2^53 that float64 would round
      const ones = array.full([40], big + 1n, { chunks: 7, dtype: "int64" });
      // a whole reduction computes to its JS value: a bigint for int64 (statically typed number)
      const sum: unknown = await ones.sum().compute(on);
      assert.equal(sum, wrap64(40n * (big + 1n)), scheduler);
      const total = array.ones([10], { chunks: 3, dtype: "int64" }).add(2 ** 53).sum();
      assert.equal(await total.compute(on) as unknown, 10n * (2n ** 53n + 1n), scheduler);
      assert.deepEqual(
        values(await x.sum({ axis: 0 }).compute(on)),
        values(k.sum(a, { axis: 0 })),
        scheduler,
      );
      assert.deepEqual(values(await x.max({ axis: 1 }).compute(on)), values(k.max(a, { axis: 1 })));
      assert.deepEqual(
        values(await x.cumsum({ axis: 1 }).compute(on)),
        values(k.cumsum(a, { axis: 1 })),
      );
      assert.equal(await x.argmin().compute(on), k.argmin(a).get());
      // float64 sums of blocks round differently from one sum over all: compare relatively
      const mean = await x.mean().compute(on), wanted = k.mean(a).get();
      assert.ok(Math.abs(mean - wanted) <= 1e-12 * Math.abs(wanted), `${mean} vs ${wanted}`);
      assert.deepEqual(
        values(await x.mul(3).sub(x).get("1:5, ::2").compute(on)),
        values(k.slice(k.subtract(k.multiply(a, 3), a), [{ start: 1, stop: 5 }, { step: 2 }])),
      );
      assert.deepEqual(
        values(await array.concatenate([x, x], 1).rechunk([2, 5]).compute(on)),
        values(k.concatenate([a, a], 1)),
      );
      assert.deepEqual(
        values(await array.stack([x, x.add(1)]).compute(on)),
        values(k.stack([a, k.add(a, 1)])),
      );
      const asFloat = await x.astype("float64").compute(on);
      assert.equal(asFloat.dtype, "float64");
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});
