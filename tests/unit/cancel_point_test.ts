/**
 * Our kernels look at their task's stop flag between blocks of work (core/cancel_point.ts):
 * element-wise maps and reductions over more than one block run slab by slab with the same
 * result, and stop with `TaskStoppedError` once the flag is up; blocks of one slab never look.
 */

import assert from "node:assert/strict";
import {
  CANCEL_CHECK_ELEMENTS,
  setCancelCheck,
  TaskStoppedError,
} from "../../core/cancel_point.ts";
import { runMap, runReduce } from "../../collections/array/kernels/loops.ts";
import { randomBlock } from "../../collections/array/kernels/random.ts";
import { matmul } from "../../collections/array/kernels/linalg.ts";
import { NDArray } from "../../core/ndarray.ts";

const ROWS = 3, COLS = Math.ceil((CANCEL_CHECK_ELEMENTS * 2.5) / ROWS);

/** A ROWS × COLS array (more than two slabs) with distinct values. */
function sample(): Float64Array {
  const data = new Float64Array(ROWS * COLS);
  for (let i = 0; i < data.length; i++) data[i] = (i % 1013) - 500 + i / data.length;
  return data;
}

Deno.test("maps over more than one slab give every element, also through transposed strides", () => {
  const data = sample();
  const out = new Float64Array(data.length);
  runMap("x0 * 2 + 1", { data: out, offset: 0, strides: [COLS, 1] }, [
    { data, offset: 0, strides: [COLS, 1] },
  ], [ROWS, COLS]);
  for (let i = 0; i < data.length; i++) assert.equal(out[i], data[i] * 2 + 1);
  // the transpose: COLS × ROWS read across rows, written contiguously
  const transposed = new Float64Array(data.length);
  runMap("x0", { data: transposed, offset: 0, strides: [ROWS, 1] }, [
    { data, offset: 0, strides: [1, COLS] },
  ], [COLS, ROWS]);
  for (let r = 0; r < ROWS; r++) {
    for (let c = 0; c < COLS; c += 997) assert.equal(transposed[c * ROWS + r], data[r * COLS + c]);
  }
});

Deno.test("reductions over more than one slab match a plain loop, whole and along an axis", () => {
  const data = sample();
  const whole = new Float64Array(1);
  runReduce("r + x", whole, [0, 0], { data, offset: 0, strides: [COLS, 1] }, [ROWS, COLS]);
  let expected = 0;
  for (const x of data) expected += x;
  assert.ok(Math.abs(whole[0] - expected) < 1e-6 * Math.abs(expected) + 1e-6);
  // along axis 0 (one accumulator per column): slabs of the column axis write their own part
  const columns = new Float64Array(COLS);
  runReduce("r + x", columns, [0, 1], { data, offset: 0, strides: [COLS, 1] }, [ROWS, COLS]);
  for (let c = 0; c < COLS; c += 991) {
    assert.equal(columns[c], data[c] + data[COLS + c] + data[2 * COLS + c]);
  }
  assert.equal(columns[COLS - 1], data[COLS - 1] + data[2 * COLS - 1] + data[3 * COLS - 1]);
});

Deno.test("a raised stop flag ends long kernels with TaskStoppedError, and small blocks never look", () => {
  let looks = 0;
  setCancelCheck(() => {
    looks++;
    return true;
  });
  try {
    const data = sample();
    const out = new Float64Array(data.length);
    assert.throws(
      () =>
        runMap("x0 + 1", { data: out, offset: 0, strides: [COLS, 1] }, [
          { data, offset: 0, strides: [COLS, 1] },
        ], [ROWS, COLS]),
      TaskStoppedError,
    );
    assert.throws(
      () =>
        runReduce("r + x", new Float64Array(1), [0, 0], {
          data,
          offset: 0,
          strides: [COLS, 1],
        }, [ROWS, COLS]),
      TaskStoppedError,
    );
    assert.throws(
      () => randomBlock([ROWS, COLS], { kind: "uniform", low: 0, high: 1 }, 1, 0),
      TaskStoppedError,
    );
    const square = new NDArray(new Float64Array(64 * 64).fill(1), [64, 64]);
    assert.throws(() => matmul(square, square), TaskStoppedError);
    // one slab: no look at all
    looks = 0;
    const small = new Float64Array(1000).fill(2);
    const sum = new Float64Array(1);
    runReduce("r + x", sum, [0], { data: small, offset: 0, strides: [1] }, [1000]);
    assert.equal(sum[0], 2000);
    assert.equal(looks, 0);
  } finally {
    setCancelCheck(undefined);
  }
});
