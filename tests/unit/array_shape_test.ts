import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { NDArray } from "../../core/ndarray.ts";
import { ALL_DTYPES, Random, randomShape } from "./ndarray_reference.ts";
import { assertComputes, randomChunks, randomData, scaleBlock } from "./array_support.ts";

Deno.test("transpose, swapaxes, moveaxis, squeeze and expandDims match the kernels", async () => {
  const r = new Random(41);
  for (let trial = 0; trial < 60; trial++) {
    const shape = randomShape(r, 4).map((n) => n * r.int(1, 3));
    const a = randomData(r, shape, r.pick(ALL_DTYPES));
    const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
    const context = `${JSON.stringify(shape)} ${JSON.stringify(x.chunks)}`;
    await assertComputes(x.T, k.transpose(a), `${context} T`);
    const order = shape.map((_, i) => i).sort(() => r.next() - 0.5);
    await assertComputes(x.transpose(order), k.transpose(a, order), `${context} ${order}`);
    if (shape.length >= 2) {
      await assertComputes(x.swapaxes(0, -1), k.swapaxes(a, 0, -1), `${context} swapaxes`);
      await assertComputes(x.moveaxis(0, -1), k.moveaxis(a, 0, -1), `${context} moveaxis`);
    }
    await assertComputes(x.squeeze(), k.squeeze(a), `${context} squeeze`);
    const at = r.int(0, shape.length);
    await assertComputes(x.expandDims(at), k.expandDims(a, at), `${context} expandDims ${at}`);
  }
});

Deno.test("rechunk to any layout keeps the elements", async () => {
  const r = new Random(42);
  try {
    for (let trial = 0; trial < 80; trial++) {
      const shape = randomShape(r, 3).map((n) => n * r.int(1, 4));
      const a = randomData(r, shape, r.pick(ALL_DTYPES));
      const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
      const target = randomChunks(r, shape);
      const y = x.rechunk(target);
      const context = `${JSON.stringify(x.chunks)} -> ${JSON.stringify(y.chunks)}`;
      assert.deepEqual(y.shape, shape, context);
      await assertComputes(y, a, context, { threads: trial % 20 === 0 });
    }
  } finally {
    shutdownThreads();
  }
  const x = array.ones([10, 8], { chunks: [5, 4] });
  assert.deepEqual(x.rechunk({ 1: -1 }).chunks, [[5, 5], [8]]);
  assert.deepEqual(x.rechunk([null, 3]).chunks, [[10], [3, 3, 2]]);
  assert.deepEqual(x.rechunk([[2, 8], [8]]).chunks, [[2, 8], [8]]);
  assert.equal(x.rechunk([5, 4]), x, "the same layout is the same array");
  assert.throws(() => x.rechunk([[5, 4], [8]]), /add up to 9, but the axis has length 10/);
  assert.throws(() => x.rechunk([3]), /give 1 axes for an array of shape \(10,8\)/);
  assert.throws(() => x.rechunk([0, 2]), /must be a positive integer/);
});

Deno.test("'auto' chunks: about 128 MiB blocks, evenly cut", () => {
  const x = array.ones([40000, 40000], { chunks: "auto" });
  const [rows, cols] = x.chunksize;
  assert.ok(rows * cols * 8 <= 128 * 2 ** 20 && rows * cols * 8 > 64 * 2 ** 20, `${rows}×${cols}`);
  assert.ok(x.chunks.every((c) => Math.max(...c) - Math.min(...c) <= 1), "near-equal blocks");
  assert.deepEqual(array.ones([100, 50]).chunks, [[100], [50]]);
  assert.deepEqual(array.ones([1e6, 30], { chunks: ["auto", -1] }).chunks[1], [30]);
});

Deno.test("reshape matches the kernel, rechunking only where blocks must be whole", async () => {
  const r = new Random(43);
  const layouts: [number[], number[]][] = [
    [[4, 6], [24]],
    [[24], [4, 6]],
    [[2, 3, 4], [6, 4]],
    [[6, 4], [2, 3, 4]],
    [[2, 3, 4], [4, 6]],
    [[4, 1, 6], [24, 1]],
    [[3, 8], [2, 3, 2, 2]],
    [[12, 2], [-1]],
    [[1, 1], [1]],
    [[0, 3], [3, 0]],
  ];
  for (let trial = 0; trial < 60; trial++) {
    const [from, to] = r.pick(layouts);
    const a = randomData(r, from, "int32");
    const x = array.fromArray(a, { chunks: randomChunks(r, from) });
    const context = `${JSON.stringify(x.chunks)} -> ${JSON.stringify(to)}`;
    await assertComputes(x.reshape(to), k.reshape(a, to), context);
  }
  const x = array.ones([8, 6], { chunks: [2, 3] });
  assert.deepEqual(x.reshape([48]).chunks, [[6, 6, 6, 6, 6, 6, 6, 6]]);
  assert.throws(
    () => x.reshape([48], { rechunk: false }),
    (e: Error) =>
      e instanceof RangeError && e.message.includes("needs blocks") &&
      e.message.includes("((2, 2, 2, 2), (3, 3))") && e.message.includes("rechunk"),
  );
  assert.throws(() => x.reshape([5, 10]), /cannot reshape array of size 48 into shape \(5,10\)/);
  await assertComputes(x.ravel(), k.ones([48]), "ravel");
});

Deno.test("concatenate and stack join arrays without moving data", async () => {
  const r = new Random(44);
  try {
    for (let trial = 0; trial < 40; trial++) {
      const shape = [r.int(1, 5), ...randomShape(r, 2)];
      const axis = r.int(0, shape.length - 1);
      const parts = Array.from({ length: r.int(1, 4) }, () => {
        const s = shape.map((n, d) => (d === axis ? r.int(0, 5) : n));
        return randomData(r, s, r.pick(["float64", "int16", "uint8"] as const));
      });
      const xs = parts.map((p) => array.fromArray(p, { chunks: randomChunks(r, p.shape) }));
      const context = `${parts.map((p) => JSON.stringify(p.shape)).join(" ")} axis ${axis}`;
      await assertComputes(array.concatenate(xs, axis), k.concatenate(parts, axis), context, {
        threads: trial % 20 === 0,
      });
      const same = parts.map(() => randomData(r, shape, "float64"));
      const stackAxis = r.int(0, shape.length);
      await assertComputes(
        array.stack(
          same.map((p) => array.fromArray(p, { chunks: randomChunks(r, shape) })),
          stackAxis,
        ),
        k.stack(same, stackAxis),
        `${context} stack ${stackAxis}`,
      );
    }
  } finally {
    shutdownThreads();
  }
  assert.throws(
    () => array.concatenate([array.ones([2, 3]), array.ones([2, 4])], 0),
    /along dimension 1, the array at index 0 has size 3 and the array at index 1 has size 4/,
  );
  assert.throws(() => array.stack([array.ones([2]), array.ones([3])]), /same shape/);
});

Deno.test("mapBlocks: source functions, module functions, block info, new block shapes", async () => {
  try {
    const a = k.reshape(k.arange(40, undefined, 1, "float64"), [8, 5]);
    const x = array.fromArray(a, { chunks: [3, 5] });
    // a self-contained function returning a typed array in the block's shape
    const doubled = x.mapBlocks((b) => (b.data as Float64Array).map((v) => v * 2));
    assert.equal(doubled.dtype, "float64");
    await assertComputes(doubled, k.multiply(a, 2), "source function", { threads: true });
    await assertComputes(array.mapBlocks(scaleBlock, [x, 3]), k.multiply(a, 3), "module function", {
      threads: true,
    });
    // block info tells where a block sits
    const starts = x.mapBlocks((b, info) =>
      (b.data as Float64Array).map(() => info.arrayLocation[0][0])
    );
    const expectedStarts = k.reshape(
      new NDArray(Float64Array.from({ length: 40 }, (_, i) => Math.floor(i / 15) * 3)),
      [8, 5],
    );
    await assertComputes(starts, expectedStarts, "blockInfo");
    // a function that reduces each block to one row: the output blocks are given
    const rowSums = x.mapBlocks(
      (b) => {
        const out = new Float64Array(b.shape[1]);
        for (let i = 0; i < b.shape[0]; i++) {
          for (let j = 0; j < b.shape[1]; j++) {
            out[j] += (b.data as Float64Array)[i * b.shape[1] + j];
          }
        }
        return out;
      },
      { chunks: [1, [5]] },
    );
    assert.deepEqual(rowSums.shape, [3, 5]);
    const expectedSums = k.concatenate(
      [0, 3, 6].map((s) =>
        k.sum(k.slice(a, [{ start: s, stop: s + 3 }]), { axis: 0, keepdims: true })
      ),
      0,
    );
    await assertComputes(rowSums, expectedSums, "chunks given");
    // dropAxis: blocks along the dropped axis are joined first
    const totals = array.mapBlocks(
      (b: NDArray) => {
        const out = new Float64Array(b.shape[1]);
        for (let i = 0; i < b.shape[0]; i++) {
          for (let j = 0; j < b.shape[1]; j++) {
            out[j] += (b.data as Float64Array)[i * b.shape[1] + j];
          }
        }
        return out;
      },
      [x],
      { dropAxis: 0 },
    );
    await assertComputes(totals, k.sum(a, { axis: 0 }), "dropAxis");
    const wrong = x.mapBlocks((b) => b.data.slice(0, 2));
    await assert.rejects(wrong.compute({ scheduler: "sync" }), /returned a block of shape \(2,\)/);
  } finally {
    shutdownThreads();
  }
});

Deno.test("blockwise: aligned labels, transposed inputs and contraction", async () => {
  const a = k.reshape(k.arange(24, undefined, 1, "float64"), [4, 6]);
  const x = array.fromArray(a, { chunks: [2, 3] });
  const y = array.fromArray(k.transpose(a).toContiguous(), { chunks: [3, 2] });
  // out[i,j] = x[i,j] + y[j,i]
  const sum = array.blockwise(
    (p: NDArray, q: NDArray) => {
      const out = new Float64Array(p.size);
      const [rows, cols] = p.shape;
      for (let i = 0; i < rows; i++) {
        for (let j = 0; j < cols; j++) {
          out[i * cols + j] = (p.data as Float64Array)[i * cols + j] +
            (q.data as Float64Array)[j * rows + i];
        }
      }
      return out;
    },
    "ij",
    [[x, "ij"], [y, "ji"]],
  );
  await assertComputes(sum, k.multiply(a, 2), "ij + ji");
  // row sums: contract j, one joined block per row block
  const rows = array.blockwise(
    (p: NDArray) => {
      const out = new Float64Array(p.shape[0]);
      for (let i = 0; i < p.shape[0]; i++) {
        for (let j = 0; j < p.shape[1]; j++) out[i] += (p.data as Float64Array)[i * p.shape[1] + j];
      }
      return out;
    },
    "i",
    [[x, "ij"]],
    { concatenate: true },
  );
  await assertComputes(rows, k.sum(a, { axis: 1 }), "contracted with concatenate");
  // without concatenate the function receives the list of blocks
  const counts = array.blockwise(
    (blocks: NDArray[]) => new Float64Array(blocks[0].shape[0]).fill(blocks.length),
    "i",
    [[x, "ij"]],
  );
  await assertComputes(counts, k.full([4], 2, "float64"), "list of contracted blocks");
});
