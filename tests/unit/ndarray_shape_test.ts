import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import {
  ALL_DTYPES,
  assertArray,
  flatIndex,
  indicesOf,
  Random,
  randomArray,
  randomShape,
  refOf,
} from "./ndarray_reference.ts";

/** A random shape with the same number of elements as `shape`, sometimes with a -1. */
function reshapeTarget(r: Random, size: number): number[] {
  const out: number[] = [];
  let left = size;
  while (left > 1 && out.length < 4) {
    const divisors = [1, 2, 3, 4, 6].filter((d) => left % d === 0);
    const d = r.pick(divisors);
    out.push(d);
    left /= d;
  }
  out.push(left);
  if (r.bool(0.3)) out.push(1);
  out.sort(() => r.next() - 0.5);
  if (r.bool(0.3) && size > 0) out[r.int(0, out.length - 1)] = -1;
  return out;
}

Deno.test("reshape keeps C order for any layout and avoids copies when strides allow", () => {
  const r = new Random(77);
  for (let iter = 0; iter < 300; iter++) {
    const a = randomArray(r, randomShape(r), r.pick(ALL_DTYPES));
    const target = reshapeTarget(r, a.size);
    const out = k.reshape(a, target);
    const ref = refOf(a);
    const shape = target.includes(-1)
      ? target.map((
        n,
      ) => (n === -1 ? a.size / target.reduce((p, m) => (m === -1 ? p : p * m), 1) : n))
      : target;
    assertArray(
      out,
      { shape, values: ref.values, dtype: a.dtype },
      `reshape ${a.shape}->${target}`,
    );
    if (a.isContiguous) assert.equal(out.data, a.data, "contiguous input gives a view");
  }
  const m = k.reshape(k.arange(24), [2, 3, 4]);
  const sliced = k.slice(m, [{}, {}, { step: 2 }]); // (2,3,2), strides (12,4,2)
  const merged = k.reshape(sliced, [6, 2]);
  assert.equal(merged.data, m.data, "merging axes that walk as one block is a view");
  assert.deepEqual(merged.strides, [4, 2]);
  assert.deepEqual(merged.toArray(), [[0, 2], [4, 6], [8, 10], [12, 14], [16, 18], [20, 22]]);
  assert.notEqual(k.reshape(k.transpose(m), [24]).data, m.data, "C order of a transpose copies");
  assert.throws(() => k.reshape(k.zeros([6]), [4, 2]), {
    message: "cannot reshape array of size 6 into shape (4,2)",
  });
  assert.throws(() => k.reshape(k.zeros([6]), [-1, -1]), /only specify one unknown dimension/);
  assert.deepEqual(k.reshape(k.zeros([0, 3]), [-1, 3]).shape, [0, 3]);
  assert.throws(() => k.reshape(k.zeros([0, 3]), [3, -1, 0]), /cannot reshape array of size 0/);
});

Deno.test("transpose, moveaxis, swapaxes, expandDims and squeeze are views with the right elements", () => {
  const r = new Random(3);
  for (let iter = 0; iter < 200; iter++) {
    const a = randomArray(r, randomShape(r), r.pick(ALL_DTYPES));
    const perm = a.shape.map((_, i) => i).sort(() => r.next() - 0.5);
    const t = k.transpose(a, perm);
    const ref = refOf(a);
    const shape = perm.map((p) => a.shape[p]);
    const values = indicesOf(shape).map((ix) => {
      const src = new Array(a.ndim);
      perm.forEach((p, i) => (src[p] = ix[i]));
      return ref.values[flatIndex(src, ref.shape)];
    });
    assertArray(t, { shape, values }, `transpose ${perm}`);
    assert.equal(t.data, a.data);
    assertArray(k.squeeze(k.expandDims(a, [0, -1])), {
      shape: a.shape.filter((n) => n !== 1),
      values: ref.values,
    }, "expand then squeeze");
  }
  const x = k.zeros([2, 3, 4]);
  assert.deepEqual(k.moveaxis(x, 0, -1).shape, [3, 4, 2]);
  assert.deepEqual(k.swapaxes(x, 0, 2).shape, [4, 3, 2]);
  assert.deepEqual(k.transpose(x).shape, [4, 3, 2]);
  assert.deepEqual(k.expandDims(x, 1).shape, [2, 1, 3, 4]);
  assert.throws(() => k.squeeze(x, 0), /size not equal to one/);
  assert.throws(() => k.transpose(x, [0, 0, 1]), /don't match/);
});

Deno.test("views: transpose, then slice, then reduce equals the same on copies", () => {
  const r = new Random(606);
  for (let iter = 0; iter < 150; iter++) {
    const a = randomArray(
      r,
      randomShape(r, 4),
      r.pick(["float64", "float32", "int16", "uint8"] as const),
    );
    const perm = a.shape.map((_, i) => i).reverse();
    const spec = a.shape.map(() => ({ step: r.pick([1, -1, 2, -2]) }));
    const axis = a.ndim === 0 ? undefined : r.int(0, a.ndim - 1);
    const viaViews = k.sum(k.slice(k.transpose(a, perm), spec), { axis, keepdims: true });
    const copied = k.copy(k.slice(k.copy(k.transpose(k.copy(a), perm)), spec));
    assert.ok(copied.isContiguous);
    const viaCopies = k.sum(copied, { axis, keepdims: true });
    assert.deepEqual(viaViews.shape, viaCopies.shape);
    assert.deepEqual(viaViews.toArray(), viaCopies.toArray(), `#${iter}`);
    assert.deepEqual(
      k.multiply(k.slice(k.transpose(a, perm), spec), 2).toArray(),
      k.multiply(copied, 2).toArray(),
    );
  }
});

Deno.test("concatenate and stack join along an axis with promoted dtype", () => {
  const r = new Random(17);
  for (let iter = 0; iter < 150; iter++) {
    const shape = randomShape(r, 3);
    if (shape.length === 0) shape.push(2);
    const axis = r.int(0, shape.length - 1);
    const parts = Array.from({ length: r.int(1, 3) }, () => {
      const s = [...shape];
      s[axis] = r.int(0, 3);
      return randomArray(r, s, r.pick(ALL_DTYPES));
    });
    const out = k.concatenate(parts, axis - (r.bool() ? shape.length : 0));
    const refs = parts.map(refOf);
    const outShape = [...shape];
    outShape[axis] = parts.reduce((n, p) => n + p.shape[axis], 0);
    const values = indicesOf(outShape).map((ix) => {
      let i = ix[axis], p = 0;
      while (i >= parts[p].shape[axis]) i -= parts[p++].shape[axis];
      const src = [...ix];
      src[axis] = i;
      return refs[p].values[flatIndex(src, refs[p].shape)];
    });
    const dtype = parts.map((p) => p.dtype).reduce(k.promoteTypes);
    assertArray(out, { shape: outShape, values, dtype }, `concatenate #${iter}`);
  }
  const a = k.reshape(k.arange(6), [2, 3]), b = k.multiply(a, 10);
  assert.deepEqual(k.stack([a, b], 1).toArray(), [[[0, 1, 2], [0, 10, 20]], [[3, 4, 5], [
    30,
    40,
    50,
  ]]]);
  assert.deepEqual(k.stack([a, b], -1).shape, [2, 3, 2]);
  assert.deepEqual(k.concatenate([a, b], null).shape, [12]);
  assert.throws(
    () => k.concatenate([a, k.zeros([2, 2])], 0),
    /along dimension 1, the array at index 0 has size 3 and the array at index 1 has size 2/,
  );
  assert.throws(() => k.stack([a, k.zeros([3, 2])]), /must have the same shape/);
});
