import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";

Deno.test("zeros, ones and full fill with the dtype asked or implied", () => {
  assert.deepEqual(k.zeros([2, 2]).toArray(), [[0, 0], [0, 0]]);
  assert.equal(k.ones([3], "int8").dtype, "int8");
  assert.deepEqual(k.full([2], 7).toArray(), [7, 7]);
  assert.equal(k.full([2], 7).dtype, "int32");
  assert.equal(k.full([2], 0.5).dtype, "float64");
  assert.deepEqual(k.full([2], true).toArray(), [true, true]);
  assert.deepEqual(k.full([1], NaN, "bool").toArray(), [true]);
  assert.deepEqual(k.zeros([0, 3]).shape, [0, 3]);
  assert.throws(() => k.zeros([2, -1]), /invalid shape \(2,-1\)/);
});

Deno.test("arange and linspace follow NumPy's lengths and endpoints", () => {
  assert.deepEqual(k.arange(5).toArray(), [0, 1, 2, 3, 4]);
  assert.equal(k.arange(5).dtype, "int32");
  assert.deepEqual(k.arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
  assert.deepEqual(k.arange(5, 0, -2).toArray(), [5, 3, 1]);
  assert.deepEqual(k.arange(5, 0).toArray(), []);
  assert.throws(() => k.arange(0, 5, 0), /non-zero/);
  assert.deepEqual(k.linspace(0, 1, 5).toArray(), [0, 0.25, 0.5, 0.75, 1]);
  assert.deepEqual(k.linspace(0, 1, 4, { endpoint: false }).toArray(), [0, 0.25, 0.5, 0.75]);
  assert.deepEqual(k.linspace(0, 0.3, 7).get(6), 0.3);
  assert.deepEqual(k.linspace(2, 3, 1).toArray(), [2]);
});

Deno.test("eye places ones on the chosen diagonal", () => {
  assert.deepEqual(k.eye(3).toArray(), [[1, 0, 0], [0, 1, 0], [0, 0, 1]]);
  assert.deepEqual(k.eye(2, 3, 1, "int8").toArray(), [[0, 1, 0], [0, 0, 1]]);
  assert.deepEqual(k.eye(3, 2, -1).toArray(), [[0, 0], [1, 0], [0, 1]]);
});

Deno.test("fromNested infers shape and dtype and refuses ragged input", () => {
  const x = k.fromNested([[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual([x.shape, x.dtype], [[2, 3], "int32"]);
  assert.equal(k.fromNested([1, 2.5]).dtype, "float64");
  assert.equal(k.fromNested([2 ** 31]).dtype, "float64");
  assert.equal(k.fromNested([[true], [false]]).dtype, "bool");
  assert.equal(k.fromNested([true, 2]).dtype, "int32");
  assert.deepEqual(k.fromNested(3).shape, []);
  assert.deepEqual(k.fromNested([[], []]).shape, [2, 0]);
  assert.deepEqual(k.fromNested([1, 2], "uint8").data, new Uint8Array([1, 2]));
  assert.throws(() => k.fromNested([[1, 2], [3]]), /inhomogeneous shape after 1 dimensions/);
  assert.throws(() => k.fromNested(["a"]), /expects numbers, bigints or booleans/);
  const same = k.zeros([2]);
  assert.equal(k.asArray(same), same);
  assert.equal(k.asArray(same, "int8").dtype, "int8");
});
