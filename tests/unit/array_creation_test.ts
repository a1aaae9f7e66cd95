import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { delayed } from "../../collections/delayed.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { randomBlock } from "../../collections/array/kernels/random.ts";
import { NDArray } from "../../core/ndarray.ts";
import { Random, randomShape } from "./ndarray_reference.ts";
import { assertComputes, randomChunks, randomData, taskCounts } from "./array_support.ts";

Deno.test("chunks: a size, a size per axis, explicit lengths, -1/null and 'auto'", () => {
  assert.deepEqual(array.normalizeChunks(5, [12]), [[5, 5, 2]]);
  assert.deepEqual(array.normalizeChunks([250, 500], [1000, 1000]), [[250, 250, 250, 250], [
    500,
    500,
  ]]);
  assert.deepEqual(array.normalizeChunks([[3, 9], -1], [12, 4]), [[3, 9], [4]]);
  // as Dask: no chunks for an array without elements; unknown (NaN) lengths kept as given
  assert.deepEqual(array.normalizeChunks([], [0, 0]), [[0], [0]]);
  assert.deepEqual(array.normalizeChunks([[NaN, NaN], [3]], [NaN, 3]), [[NaN, NaN], [3]]);
  assert.deepEqual(array.normalizeChunks([-1, 3], [NaN, 3]), [[NaN], [3]]);
  assert.throws(() => array.normalizeChunks([[NaN, -2]], [NaN]), /integers >= 0 or NaN/);
  assert.deepEqual(array.normalizeChunks([null, 2], [3, 4]), [[3], [2, 2]]);
  assert.deepEqual(array.normalizeChunks(4, [0, 3]), [[0], [3]]);
  assert.deepEqual(array.normalizeChunks("auto", [10, 10]), [[10], [10]]);
  const auto = array.normalizeChunks("auto", [100000, 100000], { dtype: "float64" });
  assert.ok(auto[0].length > 1 && auto[0][0] === auto[1][0], "square-ish blocks");
  const small = array.normalizeChunks(["auto", -1], [1000, 100], { dtype: "uint8", limit: 1000 });
  assert.deepEqual(small, [regular(1000, 10), [100]]);
  assert.throws(
    () => array.normalizeChunks([[5, 5]], [12]),
    /add up to 10, but the axis has length 12/,
  );
  assert.throws(
    () => array.normalizeChunks([2], [3, 4]),
    /give 1 axes for an array of shape \(3,4\)/,
  );
  assert.throws(() => array.normalizeChunks(1.5, [3]), /positive integer/);
});

function regular(length: number, size: number): number[] {
  return Array.from(
    { length: Math.ceil(length / size) },
    (_, i) => Math.min(size, length - i * size),
  );
}

Deno.test("fromArray: NDArrays, typed arrays with a shape, nested arrays, scalars", async () => {
  const r = new Random(61);
  for (let trial = 0; trial < 30; trial++) {
    const shape = randomShape(r, 3).map((n) => n * r.int(1, 3));
    const a = randomData(r, shape, r.pick(["float32", "int8", "uint16", "bool"] as const));
    const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
    await assertComputes(x, a, `${a.dtype}${JSON.stringify(shape)} ${JSON.stringify(x.chunks)}`);
  }
  const typed = array.fromArray(new Int16Array([1, 2, 3, 4, 5, 6]), {
    shape: [2, 3],
    chunks: [1, 2],
  });
  assert.equal(typed.dtype, "int16");
  await assertComputes(typed, k.reshape(k.arange(1, 7, 1, "int16"), [2, 3]), "typed array");
  const nested = array.fromArray([[1.5, 2], [3, 4]], { chunks: 1 });
  await assertComputes(nested, k.fromNested([[1.5, 2], [3, 4]]), "nested");
  await assertComputes(
    array.fromArray([1, 2, 3], { dtype: "uint8" }),
    k.fromNested([1, 2, 3], "uint8"),
    "dtype",
  );
  await assertComputes(array.fromArray(7), k.fromNested(7), "0-d");
  assert.throws(
    () => array.fromArray(new Float64Array(5), { shape: [2, 3] }),
    /5 elements cannot have shape \(2,3\)/,
  );
  // equal data and blocks give equal names (content keys); other blocks, other names
  const a = k.arange(10);
  assert.equal(
    array.fromArray(a, { chunks: 5 }).name,
    array.fromArray(k.arange(10), { chunks: 5 }).name,
  );
  assert.notEqual(array.fromArray(a, { chunks: 5 }).name, array.fromArray(a, { chunks: 2 }).name);
});

Deno.test("seed 001: arange(1, 50, 3, { chunks: 5 }) — dtype, shape, blocks, values", async () => {
  const x = array.arange(1, 50, 3, { chunks: 5 });
  assert.equal(x.dtype, "int32");
  assert.deepEqual(x.shape, [17]);
  assert.deepEqual(x.chunks, [[5, 5, 5, 2]]);
  assert.equal(x.npartitions, 4);
  assert.equal(x.nbytes, 17 * 4);
  const dot = (await x.visualize()).text;
  assert.match(dot, /^digraph/);
  assert.equal(dot.split("\n").filter((l) => l.includes('[label="arange"')).length, 4);
  assert.deepEqual(taskCounts(x), { arange: 4 });
  await assertComputes(x, k.arange(1, 50, 3), "arange", { threads: true });
  shutdownThreads();
});

Deno.test("ranges, filled arrays and identities match the kernels for any blocks", async () => {
  const r = new Random(62);
  for (let trial = 0; trial < 30; trial++) {
    const n = r.int(0, 30);
    const chunks = r.int(1, 8);
    const [start, step] = [r.int(-5, 5), r.pick([1, 2, -1, 0.5])];
    const stop = start + step * n;
    await assertComputes(
      array.arange(start, stop, step, { chunks }),
      k.arange(start, stop, step),
      `arange ${start} ${stop} ${step}`,
    );
    for (const endpoint of [true, false]) {
      await assertComputes(
        array.linspace(-1, 2, n, { chunks, endpoint }),
        k.linspace(-1, 2, n, { endpoint }),
        `linspace ${n} ${endpoint}`,
      );
    }
    const shape = [r.int(0, 6), r.int(0, 6)];
    const spec = randomChunks(r, shape);
    await assertComputes(array.ones(shape, { chunks: spec }), k.ones(shape), "ones");
    await assertComputes(
      array.zeros(shape, { chunks: spec, dtype: "int8" }),
      k.zeros(shape, "int8"),
      "zeros",
    );
    await assertComputes(array.full(shape, true, { chunks: spec }), k.full(shape, true), "full");
    const [rows, cols, diag] = [r.int(0, 7), r.int(0, 7), r.int(-3, 3)];
    await assertComputes(
      array.eye(rows, { m: cols, k: diag, chunks: randomChunks(r, [rows, cols]) }),
      k.eye(rows, cols, diag),
      `eye ${rows} ${cols} ${diag}`,
    );
  }
  const x = array.ones([4, 6], { chunks: [2, 3], dtype: "float32" });
  assert.deepEqual(array.zerosLike(x).chunks, x.chunks);
  assert.equal(array.onesLike(x).dtype, "float32");
  await assertComputes(array.fullLike(x, 3), k.full([4, 6], 3, "float32"), "fullLike");
});

Deno.test("random arrays: seeded, reproducible on any scheduler, each block its own stream", async () => {
  try {
    const x = array.random.random([30, 20], { chunks: [10, 7], seed: 5 });
    const sync = await x.compute({ scheduler: "sync" });
    const threads = await x.compute({ scheduler: "threads", numWorkers: 2 });
    assert.deepEqual(threads.contiguousData(), sync.contiguousData());
    assert.deepEqual(
      (await array.random.random([30, 20], { chunks: [10, 7], seed: 5 }).compute())
        .contiguousData(),
      sync.contiguousData(),
    );
    const other = await array.random.random([30, 20], { chunks: [10, 7], seed: 6 }).compute();
    assert.notDeepEqual(other.contiguousData(), sync.contiguousData());
    // block [1, 2] is stream 5 (C order over a 3×3 grid) of the seed, whatever else is computed
    const block = randomBlock([10, 6], { kind: "uniform", low: 0, high: 1 }, 5, 5);
    await assertComputes(x.get("10:20, 14:20"), block, "block [1,2]");
    // no block repeats another
    const firsts = new Set<number>();
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) firsts.add(sync.get(i * 10, j * 7));
    assert.equal(firsts.size, 9);
    const values = Array.from(sync.numbers());
    assert.ok(values.every((v) => v >= 0 && v < 1));
    const mean = values.reduce((a, b) => a + b, 0) / values.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);

    const normal = await array.random.normal(2, 3, [20000], { chunks: 3000, seed: 1 }).compute();
    const mu = k.mean(normal).get(), sigma = k.std(normal).get();
    assert.ok(Math.abs(mu - 2) < 0.1 && Math.abs(sigma - 3) < 0.1, `normal ${mu} ${sigma}`);
    const ints = await array.random.randint(-3, 4, [5000], { chunks: 999, seed: 2 }).compute();
    assert.equal(ints.dtype, "int32");
    const seen = new Set(ints.numbers());
    assert.deepEqual([...seen].sort((a, b) => a - b), [-3, -2, -1, 0, 1, 2, 3]);
    const f32 = array.random.uniform(5, 6, [10], { seed: 3, dtype: "float32" });
    assert.equal((await f32.compute()).dtype, "float32");
    assert.throws(() => array.random.randint(3, 3, [2]), /low < high/);
  } finally {
    shutdownThreads();
  }
});

Deno.test("fromDelayed and concatenate assemble an array from pieces computed anywhere", async () => {
  const load = (day: number) => {
    const out = new Float64Array(2 * 3);
    for (let i = 0; i < out.length; i++) out[i] = day * 100 + i;
    return out;
  };
  // a typed array of the declared size is taken in the declared shape
  const days = [0, 1, 2].map((d) => array.fromDelayed(delayed(load)(d), [1, 2, 3]));
  const x = array.concatenate(days, 0);
  assert.deepEqual(x.chunks, [[1, 1, 1], [2], [3]]);
  const expected = new NDArray(
    Float64Array.from({ length: 18 }, (_, i) => Math.floor(i / 6) * 100 + (i % 6)),
    [3, 2, 3],
  );
  await assertComputes(x, expected, "three days");
  const wrong = array.fromDelayed(delayed(load)(0), [4, 2]);
  await assert.rejects(wrong.compute({ scheduler: "sync" }), /declared with shape \(4,2\)/);
  const notArray = array.fromDelayed(delayed((s: string) => s)("text"), [2]);
  await assert.rejects(
    notArray.compute({ scheduler: "sync" }),
    /produced string, which is not an array/,
  );
  // toDelayed gives the blocks back as Delayed values
  const blocks = x.toDelayed();
  assert.equal(blocks.length, 3);
  assert.deepEqual((await blocks[1].compute({ scheduler: "sync" })).shape, [1, 2, 3]);
});

Deno.test("attributes, persist and visualize", async () => {
  const x = array.random.random([1000, 1000], { chunks: [250, 500], seed: 4 });
  assert.deepEqual(x.shape, [1000, 1000]);
  assert.equal(x.dtype, "float64");
  assert.deepEqual(x.numblocks, [4, 2]);
  assert.equal(x.npartitions, 8);
  assert.equal(x.nbytes, 8e6);
  assert.deepEqual(x.chunksize, [250, 500]);
  assert.match(String(x), /shape=\(1000, 1000\), dtype=float64, chunksize=\(250, 500\)/);
  const y = x.add(x.T).sum({ axis: 0 });
  const kept = await y.persist({ scheduler: "sync" });
  assert.equal(kept.name, y.name);
  assert.deepEqual(taskCounts(kept), { "sum-aggregate": 4 }, "persisted: only the kept blocks");
  assert.equal(
    await kept.mean().compute({ scheduler: "sync" }),
    await y.mean().compute({ scheduler: "sync" }),
  );
});
