/**
 * matmul, dot and tensordot of int64 and uint64 arrays (BigInt64Array / BigUint64Array) against
 * a plain bigint reference with NumPy's wrap-around 64-bit arithmetic, chunked so that partial
 * products are summed across blocks, on `sync` and `threads`.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { NDArray } from "../../core/ndarray.ts";
import { Random } from "./ndarray_reference.ts";
import { randomChunks } from "./array_support.ts";

/** Values near ±2^62, so that sums of products wrap many times over. */
function bigMatrix(r: Random, rows: number, cols: number, unsigned: boolean): NDArray {
  const values = Array.from({ length: rows * cols }, () => {
    const big = (BigInt(r.int(0, 2 ** 31)) << 31n) + BigInt(r.int(0, 2 ** 31));
    return unsigned || r.bool(0.5) ? big : -big;
  });
  const data = unsigned ? BigUint64Array.from(values) : BigInt64Array.from(values);
  return new NDArray(data, [rows, cols]);
}

/** The plain reference: row × column sums of exact bigint products, then wrapped to 64 bits. */
function referenceMatmul(a: NDArray, b: NDArray, unsigned: boolean): bigint[] {
  const [n, kk] = a.shape, m = b.shape[1];
  const wrap = (x: bigint) => unsigned ? BigInt.asUintN(64, x) : BigInt.asIntN(64, x);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < m; j++) {
      let sum = 0n;
      for (let p = 0; p < kk; p++) {
        sum += (a.data[i * kk + p] as bigint) * (b.data[p * m + j] as bigint);
      }
      out.push(wrap(sum));
    }
  }
  return out;
}

function assertBigEqual(got: NDArray, expected: bigint[], dtype: string, context: string): void {
  assert.equal(got.dtype, dtype, `${context}: dtype`);
  assert.deepEqual(Array.from(got.toContiguous().data as BigInt64Array), expected, context);
}

Deno.test("int64 and uint64 matmul, dot and tensordot wrap around as NumPy's, chunked", async () => {
  const r = new Random(64);
  try {
    for (let trial = 0; trial < 12; trial++) {
      const unsigned = trial % 3 === 2;
      const dtype = unsigned ? "uint64" : "int64";
      const [n, kk, m] = [r.int(1, 6), r.int(1, 7), r.int(1, 6)];
      const a = bigMatrix(r, n, kk, unsigned), b = bigMatrix(r, kk, m, unsigned);
      const expected = referenceMatmul(a, b, unsigned);
      const context = `${dtype} ${n}×${kk} @ ${kk}×${m}`;
      assertBigEqual(k.matmul(a, b), expected, dtype, `${context} kernel`);
      const x = array.fromArray(a, { chunks: randomChunks(r, [n, kk]) });
      const y = array.fromArray(b, { chunks: randomChunks(r, [kk, m]) });
      // threads on one int64 and one uint64 trial (each starts a pool)
      const schedulers = trial === 0 || trial === 2
        ? ["sync", "threads"] as const
        : ["sync"] as const;
      for (const scheduler of schedulers) {
        const where = `${context} ${JSON.stringify(x.chunks)} [${scheduler}]`;
        const product = x.matmul(y);
        assert.equal(product.dtype, dtype);
        assertBigEqual(
          await product.compute({ scheduler, numWorkers: 2 }),
          expected,
          dtype,
          `${where} matmul`,
        );
        assertBigEqual(
          await x.dot(y).compute({ scheduler, numWorkers: 2 }),
          expected,
          dtype,
          `${where} dot`,
        );
        assertBigEqual(
          await array.tensordot(x, y, 1).compute({ scheduler, numWorkers: 2 }),
          expected,
          dtype,
          `${where} tensordot`,
        );
      }
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("int64 dot of two vectors is a bigint; int64 with narrower and float operands", async () => {
  const big = 2n ** 62n + 7n;
  const v = array.fromArray(new BigInt64Array([big, -3n, big]), { chunks: 2 });
  const w = array.fromArray(new BigInt64Array([4n, 5n, -4n]), { chunks: 1 });
  const inner = v.dot(w);
  assert.ok(inner instanceof array.Scalar);
  // 4·(2^62 + 7) − 15 − 4·(2^62 + 7) = −15, with the products wrapping on the way
  assert.equal(await inner.compute({ scheduler: "sync" }), -15n);

  // int64 with int32 stays int64 (exact past 2^53); with float64 it is float64, as in NumPy
  const a = new NDArray(new BigInt64Array([2n ** 60n, 1n, 3n, 2n]), [2, 2]);
  const small = new NDArray(new Int32Array([8, 1, 0, 2]), [2, 2]);
  const exact = k.matmul(a, small);
  assert.equal(exact.dtype, "int64");
  assert.deepEqual(Array.from(exact.data as BigInt64Array), [
    BigInt.asIntN(64, 2n ** 63n),
    2n ** 60n + 2n,
    24n,
    7n,
  ]);
  const floats = k.matmul(a, new NDArray(new Float64Array([0.5, 0, 0, 1]), [2, 2]));
  assert.equal(floats.dtype, "float64");
  assert.deepEqual(Array.from(floats.data as Float64Array), [2 ** 59, 1, 1.5, 2]);
  const mixed = k.matmul(a, new NDArray(new BigUint64Array([1n, 0n, 0n, 1n]), [2, 2]));
  assert.equal(mixed.dtype, "float64", "int64 with uint64 is float64 in NumPy");
  const chunked = array.fromArray(a, { chunks: 1 }).matmul(array.fromArray(small, { chunks: 1 }));
  assert.equal(chunked.dtype, "int64");
  const got = await chunked.compute({ scheduler: "threads", numWorkers: 2 });
  shutdownThreads();
  assert.deepEqual(Array.from(got.data as BigInt64Array), Array.from(exact.data as BigInt64Array));
});
