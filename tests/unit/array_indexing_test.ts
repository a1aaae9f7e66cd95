import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { Random, randomShape } from "./ndarray_reference.ts";
import { assertComputes, randomChunks, randomData } from "./array_support.ts";

/** A random basic index for `shape`: integers, slices of any step, new axes, an ellipsis. */
function randomIndex(r: Random, shape: readonly number[]): k.IndexItem[] {
  const items: k.IndexItem[] = [];
  const axes = r.int(0, shape.length);
  for (let axis = 0; axis < axes; axis++) {
    const n = shape[axis];
    if (r.bool(0.1)) items.push(null);
    if (n > 0 && r.bool(0.25)) items.push(r.int(-n, n - 1));
    else {
      const bound = () => (r.bool(0.3) ? null : r.int(-n - 2, n + 2));
      items.push({ start: bound(), stop: bound(), step: r.pick([null, 1, 2, 3, -1, -2, -5]) });
    }
  }
  if (r.bool(0.2)) items.splice(r.int(0, items.length), 0, "...");
  return items;
}

/** The text form of index items, as NumPy writes them. */
function indexText(items: readonly k.IndexItem[]): string {
  return items.map((item) => {
    if (item === null) return "None";
    if (item === "...") return "...";
    if (typeof item === "number") return String(item);
    const s = item as k.Slice;
    const part = (v: number | null | undefined) => (v === null || v === undefined ? "" : v);
    return `${part(s.start)}:${part(s.stop)}${s.step == null ? "" : `:${s.step}`}`;
  }).join(", ");
}

Deno.test("basic indexing matches kernel slicing (object and text forms)", async () => {
  const r = new Random(31);
  try {
    for (let trial = 0; trial < 200; trial++) {
      const shape = randomShape(r, 3).map((n) => n * r.int(1, 4));
      const a = randomData(r, shape, r.pick(["float64", "int16", "bool"] as const));
      const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
      const index = randomIndex(r, shape);
      let expected: k.NDArray;
      try {
        expected = k.slice(a, index);
      } catch (error) {
        assert.throws(() => x.get(index), (e: Error) => e.message === (error as Error).message);
        continue;
      }
      const context = `${JSON.stringify(shape)} ${JSON.stringify(x.chunks)} [${indexText(index)}]`;
      const y = x.get(index);
      assert.deepEqual(y.shape, expected.shape, context);
      await assertComputes(y, expected, context, { threads: trial % 25 === 0 });
      await assertComputes(x.get(indexText(index)), expected, `${context} as text`);
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("seed 001 slicing: x[:100, 500:100:-2] picks views of the right blocks", async () => {
  const a = k.reshape(k.arange(1000 * 600, undefined, 1, "float64"), [1000, 600]);
  const x = array.fromArray(a, { chunks: [250, 200] });
  const y = x.get(":100, 500:100:-2");
  assert.deepEqual(y.shape, [100, 200]);
  assert.deepEqual(y.chunks, [[100], [51, 100, 49]]); // 500..400, 398..200, 198..102
  await assertComputes(y, k.slice(a, k.parseIndex(":100, 500:100:-2")), "slice");
  // one element and one time step touch one block each
  assert.equal(x.get("5, 7").npartitions, 1);
  await assertComputes(x.get([5, 7]), k.slice(a, [5, 7]), "element");
});

Deno.test("integer lists along one axis, as lists, text and NDArrays", async () => {
  const r = new Random(32);
  for (let trial = 0; trial < 80; trial++) {
    const shape = [r.int(1, 4), ...randomShape(r, 2)].map((n) => Math.max(1, n) * r.int(1, 4));
    const a = randomData(r, shape, "int32");
    const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
    const axis = r.int(0, shape.length - 1);
    const n = shape[axis];
    const list = Array.from({ length: r.int(0, 2 * n) }, () => r.int(-n, n - 1));
    const expected = k.take(a, list, axis);
    const context = `${JSON.stringify(shape)} ${JSON.stringify(x.chunks)} axis ${axis} [${list}]`;
    await assertComputes(x.take(list, axis), expected, context);
    const items: (k.IndexItem | number[])[] = shape.map(() => ({}));
    items[axis] = list;
    await assertComputes(x.get(items), expected, `${context} via get`);
    const text = shape.map((_, d) => (d === axis ? `[${list.join(", ")}]` : ":")).join(", ");
    await assertComputes(x.get(text), expected, `${context} as text`);
  }
  const a = k.reshape(k.arange(24), [4, 6]);
  const x = array.fromArray(a, { chunks: [2, 4] });
  await assertComputes(
    x.get("1:, [5, 0, 2]"),
    k.take(k.slice(a, [{ start: 1 }]), [5, 0, 2], 1),
    "mixed",
  );
  const flags = [true, false, true, true, false, false];
  await assertComputes(x.get([{}, flags]), k.take(a, [0, 2, 3], 1), "boolean list along an axis");
});

Deno.test("boolean masks give blocks of unknown length, then compute exactly", async () => {
  try {
    const r = new Random(33);
    for (let trial = 0; trial < 40; trial++) {
      const shape = [r.int(1, 4), ...randomShape(r, 2)].map((n) => Math.max(1, n) * r.int(1, 3));
      const a = randomData(r, shape, "float64");
      const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
      const lead = r.int(1, shape.length);
      const maskData = randomData(r, shape.slice(0, lead), "bool");
      const mask = array.fromArray(maskData, { chunks: randomChunks(r, shape.slice(0, lead)) });
      const y = x.get(mask);
      assert.ok(Number.isNaN(y.shape[0]), "the selected length is unknown");
      const expected = k.booleanMask(a, maskData);
      const context = `${JSON.stringify(shape)} mask ${JSON.stringify(maskData.shape)}`;
      await assertComputes(y, expected, context, { threads: trial % 20 === 0 });
      // reductions work on unknown lengths; sizes can be measured
      await assertComputes(y.sum({ axis: 0 }), k.sum(expected, { axis: 0 }), `${context} sum`);
      const known = await y.computeChunkSizes({ scheduler: "sync" });
      assert.deepEqual(known.shape, expected.shape);
      await assertComputes(known.get(":1"), k.slice(expected, [{ stop: 1 }]), `${context} sliced`);
    }
    const x = array.arange(10, { chunks: 3 });
    const positive = x.get(x.greater(6));
    await assertComputes(positive, k.arange(7, 10), "x[x > 6]");
  } finally {
    shutdownThreads();
  }
});

Deno.test("bad indices are refused with what went wrong", () => {
  const x = array.ones([10, 4], { chunks: 3 });
  assert.throws(() => x.get("12"), /index 12 is out of bounds for axis 0 with size 10/);
  assert.throws(() => x.get("1, 2, 3"), /too many indices for array: array is 2-dimensional/);
  assert.throws(() => x.get("1:2:0"), /slice step must be a non-zero integer/);
  assert.throws(() => x.get("a:b"), SyntaxError);
  assert.throws(() => x.get("[1, 2"), /'\[' is not closed/);
  assert.throws(() => x.get("..., ..."), /single ellipsis/);
  assert.throws(() => x.get([[1], [2]]), /only one integer list/);
  assert.throws(() => x.take([10]), /index 10 is out of bounds/);
  assert.throws(() => x.get(array.ones([10, 4])), /boolean mask must have dtype bool/);
  assert.throws(
    () => x.get(array.ones([3], { dtype: "bool" })),
    /size of axis is 10 but size of corresponding boolean axis is 3/,
  );
  const masked = x.get(x.greater(0));
  assert.throws(() => masked.get("3"), /unknown lengths.*computeChunkSizes/);
  assert.throws(() => masked.reshape([-1, 2]), /computeChunkSizes/);
});

Deno.test("identity slices give the array itself, as Dask", () => {
  const x = array.ones([6, 4], { chunks: [4, 3] });
  for (const index of ["0:", ":6", "-6:", "0:100", ":, 0:4", "...", ":, -10:"]) {
    assert.equal(x.get(index), x, index);
  }
  assert.equal(x.get([{ start: 0 }, { stop: 4 }]), x);
  for (const index of ["1:", ":5", "::-1", "0:6:2", "None"]) {
    assert.notEqual(x.get(index), x, index);
  }
});
