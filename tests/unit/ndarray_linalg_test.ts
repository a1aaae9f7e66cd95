import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import type { DType } from "../../core/ndarray.ts";
import {
  assertArray,
  coerce,
  flatIndex,
  indicesOf,
  Random,
  randomArray,
  refBroadcastShape,
  refOf,
} from "./ndarray_reference.ts";

const TYPES: DType[] = ["float64", "float32", "int32", "int8", "uint16", "bool"];

Deno.test("matmul matches a triple loop, with batch broadcasting and 1-d operands", () => {
  const r = new Random(2024);
  for (let iter = 0; iter < 200; iter++) {
    const n = r.int(0, 4), kk = r.int(0, 4), m = r.int(0, 4);
    const batch = Array.from({ length: r.int(0, 2) }, () => r.int(1, 3));
    const batchOf = () => batch.slice(r.int(0, batch.length)).map((b) => (r.bool(0.3) ? 1 : b));
    const aVector = r.bool(0.2), bVector = r.bool(0.2);
    const sa = aVector ? [kk] : [...batchOf(), n, kk];
    const sb = bVector ? [kk] : [...batchOf(), kk, m];
    const a = randomArray(r, sa, r.pick(TYPES)), b = randomArray(r, sb, r.pick(TYPES));
    const ra = refOf(a), rb = refOf(b);
    const A = aVector ? { shape: [1, kk], values: ra.values } : ra;
    const B = bVector ? { shape: [kk, 1], values: rb.values } : rb;
    const rows = A.shape.at(-2)!, cols = B.shape.at(-1)!;
    const outBatch = refBroadcastShape([A.shape.slice(0, -2), B.shape.slice(0, -2)]);
    const dtype = k.promoteTypes(a.dtype, b.dtype);
    const full = [...outBatch, rows, cols];
    const values = indicesOf(full).map((ix) => {
      const bi = ix.slice(0, -2), i = ix.at(-2)!, j = ix.at(-1)!;
      const at = (s: number[], lead: number[]) =>
        lead.slice(lead.length - (s.length - 2)).map((v, d) => (s[d] === 1 ? 0 : v));
      let acc = 0;
      for (let p = 0; p < kk; p++) {
        acc += A.values[flatIndex([...at(A.shape, bi), i, p], A.shape)] *
          B.values[flatIndex([...at(B.shape, bi), p, j], B.shape)];
      }
      return coerce(acc, dtype);
    });
    let shape = full;
    if (bVector) shape = shape.slice(0, -1);
    if (aVector) shape = shape.filter((_, d) => d !== shape.length - (bVector ? 1 : 2));
    assertArray(k.matmul(a, b), { shape, values, dtype }, `matmul ${sa} @ ${sb} #${iter}`, 1e-9);
  }
  assert.throws(() => k.matmul(k.zeros([2, 3]), k.zeros([4, 2])), /size 4 is different from 3/);
  assert.throws(() => k.matmul(k.zeros([2]), k.zeros([])), /does not have enough dimensions/);
});

Deno.test("tensordot sums over paired axes; dot follows NumPy's shapes", () => {
  const r = new Random(9);
  for (let iter = 0; iter < 100; iter++) {
    const a = randomArray(r, [r.int(1, 3), 3, r.int(1, 3), 2], r.pick(TYPES));
    const b = randomArray(r, [2, r.int(1, 3), 3], r.pick(TYPES));
    const out = k.tensordot(a, b, [[3, 1], [0, 2]]);
    const ra = refOf(a), rb = refOf(b);
    const shape = [a.shape[0], a.shape[2], b.shape[1]];
    const dtype = k.promoteTypes(a.dtype, b.dtype);
    const values = indicesOf(shape).map(([i, j, l]) => {
      let acc = 0;
      for (let x = 0; x < 2; x++) {
        for (let y = 0; y < 3; y++) {
          acc += ra.values[flatIndex([i, y, j, x], ra.shape)] *
            rb.values[flatIndex([x, l, y], rb.shape)];
        }
      }
      return coerce(acc, dtype);
    });
    assertArray(out, { shape, values, dtype }, `tensordot #${iter}`, 1e-9);
  }
  const x = k.reshape(k.arange(24), [2, 3, 4]);
  assert.deepEqual(k.tensordot(x, x, 0).shape, [2, 3, 4, 2, 3, 4]);
  assert.equal(k.tensordot(x, x, 3).get(), 4324);
  const v = k.arange(4), w = k.reshape(k.arange(20), [5, 4, 1]);
  assert.equal(k.dot(k.arange(3), k.arange(3)).get(), 5);
  assert.deepEqual(k.dot(x, v).shape, [2, 3]);
  assert.deepEqual(k.dot(x, w).shape, [2, 3, 5, 1]);
  assert.deepEqual(k.dot(x, 2).toArray(), k.multiply(x, 2).toArray());
  assert.deepEqual(
    k.dot(k.reshape(k.arange(6), [2, 3]), k.reshape(k.arange(6), [3, 2])).toArray(),
    [
      [10, 13],
      [28, 40],
    ],
  );
  assert.throws(() => k.dot(x, k.arange(3)), {
    message: "shapes (2,3,4) and (3,) not aligned: 4 (dim 2) != 3 (dim 0)",
  });
  assert.throws(() => k.tensordot(x, x, [[0], [1]]), /shape-mismatch for sum/);
});

Deno.test("matmul propagates NaN and infinities through zero products", () => {
  const a = k.fromNested([[0, 1]]), b = k.fromNested([[Infinity], [2]]);
  assert.ok(Number.isNaN(k.matmul(a, b).get(0, 0)));
});
