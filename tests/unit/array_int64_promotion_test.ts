/**
 * Element-wise operations on chunked int64/uint64 arrays keep NumPy's result dtype — the lazy
 * `dtype` and the computed blocks alike — on every local scheduler, without `astype`. The
 * expected dtypes are NumPy's (`np.result_type` and the ufuncs' loops; checked against NumPy 1.24
 * with the same operands), and values wrap at 64 bits as NumPy's integers do.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import type { DArray } from "../../collections/array/darray.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { shutdownProcesses } from "../../collections/local/processes.ts";

const MAX = 2n ** 63n - 1n;
const signed = () => array.full([5], MAX, { chunks: 2, dtype: "int64" });
const small = () => array.arange(5, { chunks: 2 }).astype("int64"); // 0..4
const unsigned = () => array.arange(5, { chunks: 2 }).astype("uint64");

/** [what, the operation, NumPy's result dtype, the first element NumPy gives] */
const cases: [string, () => DArray, string, number | bigint | boolean][] = [
  ["int64 + int64 wraps", () => signed().add(small().add(1)), "int64", -(2n ** 63n)],
  ["int64 * 2 wraps", () => signed().mul(2), "int64", -2n],
  ["-int64", () => small().add(3).neg(), "int64", -3n],
  ["abs(int64)", () => small().sub(4).abs(), "int64", 4n],
  ["int64 < int64", () => small().less(signed()), "bool", true],
  ["int64 == int64", () => small().equal(small()), "bool", true],
  ["int64 & int64", () => array.bitwiseAnd(signed(), small().add(6)), "int64", 6n],
  ["int64 << 62", () => array.leftShift(small().add(1), 62), "int64", 2n ** 62n],
  ["~int64", () => array.bitwiseNot(small()), "int64", -1n],
  ["int64 + 1.5 promotes", () => small().add(1.5), "float64", 1.5],
  [
    "int64 + float32 promotes",
    () => small().add(array.ones([5], { dtype: "float32" })),
    "float64",
    1,
  ],
  ["int64 + int32", () => small().add(array.ones([5], { dtype: "int32" })), "int64", 1n],
  ["int64 / int64 is true division", () => small().add(1).div(small().add(2)), "float64", 0.5],
  ["int64 // int64", () => small().sub(3).floorDivide(2), "int64", -2n],
  ["int64 ** 2", () => small().add(3).pow(2), "int64", 9n],
  ["sqrt(int64)", () => small().add(4).sqrt(), "float64", 2],
  ["uint64 - 1 wraps", () => unsigned().sub(1), "uint64", 2n ** 64n - 1n],
  ["uint64 * uint64", () => unsigned().add(2).mul(unsigned().add(3)), "uint64", 6n],
  ["uint64 + uint32", () => unsigned().add(array.ones([5], { dtype: "uint32" })), "uint64", 1n],
  ["uint64 + int64 promotes", () => unsigned().add(small()), "float64", 0],
  ["uint64 > 3", () => unsigned().greater(3), "bool", false],
];

Deno.test("int64 and uint64 element-wise results keep NumPy's dtype on every local scheduler", async () => {
  try {
    for (const scheduler of ["sync", "threads", "processes"] as const) {
      for (const [what, make, dtype, first] of cases) {
        const x = make();
        const label = `${what} on ${scheduler}`;
        assert.equal(x.dtype, dtype, label);
        const block = await x.compute({ scheduler, numWorkers: 2 });
        assert.equal(block.dtype, dtype, label);
        const got = block.contiguousData()[0];
        assert.equal(dtype === "bool" ? got === 1 : got, first, label);
      }
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});
