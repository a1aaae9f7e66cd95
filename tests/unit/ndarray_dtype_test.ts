import assert from "node:assert/strict";
import {
  add,
  cumsum,
  divide,
  type DType,
  exp,
  floatResultType,
  fromNested,
  mean,
  minScalarDType,
  mod,
  multiply,
  NDArray,
  promoteTypes,
  resultType,
  sqrt,
  sum,
  zeros,
} from "../../collections/array/kernels/mod.ts";

// Rows of numpy.promote_types (NumPy 2.4).
const NUMPY_PROMOTIONS: [DType, DType, DType][] = [
  ["int32", "float32", "float64"],
  ["int16", "float32", "float32"],
  ["uint16", "float32", "float32"],
  ["uint8", "int8", "int16"],
  ["uint16", "int8", "int32"],
  ["uint16", "int32", "int32"],
  ["uint8", "int32", "int32"],
  ["uint8", "uint32", "uint32"],
  ["int8", "int16", "int16"],
  ["float32", "float64", "float64"],
  ["bool", "uint8", "uint8"],
  ["bool", "float32", "float32"],
  ["bool", "bool", "bool"],
  ["uint32", "int32", "int64"],
  ["uint32", "int8", "int64"],
  ["int64", "int8", "int64"],
  ["int64", "uint32", "int64"],
  ["uint64", "uint8", "uint64"],
  ["uint64", "int8", "float64"],
  ["uint64", "int64", "float64"],
  ["int64", "float32", "float64"],
  ["bool", "int64", "int64"],
];

Deno.test("promoteTypes matches NumPy's table, both orders", () => {
  for (const [a, b, want] of NUMPY_PROMOTIONS) {
    assert.equal(promoteTypes(a, b), want, `${a}+${b}`);
    assert.equal(promoteTypes(b, a), want, `${b}+${a}`);
  }
});

Deno.test("JS scalars are weak: they keep an array's dtype unless their kind or value needs more", () => {
  const u8 = zeros([2], "uint8"), f32 = zeros([2], "float32"), b = zeros([2], "bool");
  assert.equal(resultType(u8, 3), "uint8");
  assert.equal(resultType(u8, 300), "uint16");
  assert.equal(resultType(u8, -1), "int16");
  assert.equal(resultType(u8, 1.5), "float64");
  assert.equal(resultType(f32, 1e10), "float32");
  assert.equal(resultType(f32, 0.1), "float32");
  assert.equal(resultType(b, 2), "int32");
  assert.equal(resultType(b, true), "bool");
  assert.equal(resultType(3, 4), "int32");
  assert.equal(resultType(3, 0.5), "float64");
  assert.equal(resultType(true, false), "bool");
  assert.equal(minScalarDType(-129), "int16");
  assert.equal(minScalarDType(2 ** 40), "int64");
  assert.equal(minScalarDType(2 ** 64), "float64");
  assert.equal(resultType(zeros([2], "int32"), 2 ** 40), "int64");
  assert.equal(resultType(b, 2 ** 40), "int64");
});

Deno.test("operations pick NumPy's result dtypes", () => {
  const i8 = fromNested([1, 2], "int8"), i32 = fromNested([1, 2], "int32");
  const f32 = fromNested([1, 2], "float32"), bools = fromNested([true, false]);
  assert.equal(divide(i8, i8).dtype, "float64");
  assert.equal(divide(f32, f32).dtype, "float32");
  assert.equal(divide(f32, i8).dtype, "float32");
  assert.equal(divide(f32, i32).dtype, "float64");
  assert.equal(exp(i8).dtype, "float32"); // NumPy: float16
  assert.equal(sqrt(i32).dtype, "float64");
  assert.equal(floatResultType("uint16"), "float32");
  assert.equal(add(bools, bools).dtype, "bool");
  assert.equal(multiply(bools, bools).dtype, "bool");
  assert.equal(mod(bools, bools).dtype, "int8");
  assert.equal(sum(i8).dtype, "float64");
  assert.equal(sum(f32).dtype, "float32");
  assert.equal(mean(i32).dtype, "float64");
  assert.equal(mean(f32).dtype, "float32");
  assert.equal(cumsum(bools).dtype, "float64");
});

Deno.test("scalar-only operations give 0-d arrays", () => {
  const r = add(2, 3);
  assert.ok(r instanceof NDArray);
  assert.deepEqual(r.shape, []);
  assert.equal(r.dtype, "int32");
  assert.equal(r.get(), 5);
});
