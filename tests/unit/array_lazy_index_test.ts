import assert from "node:assert/strict";
import { array, NDArray, shutdownProcesses, shutdownThreads } from "../../mod.ts";

/** A 6 × 8 matrix of i * 10 + j, in blocks of 4 × 3. */
const matrix = () =>
  array.fromArray(
    new NDArray(Float64Array.from({ length: 48 }, (_, n) => Math.floor(n / 8) * 10 + (n % 8)), [
      6,
      8,
    ]),
    { chunks: [4, 3] },
  );

const rows = (a: NDArray) =>
  Array.from(
    { length: a.shape[0] },
    (_, r) => Array.from({ length: a.shape[1] }, (_, c) => Number(a.get(r, c))),
  );

Deno.test("indexing with a lazy integer array, alone and beside slices", async () => {
  try {
    const x = matrix();
    // a lazy index: computed by tasks, not known when the graph is built
    const idx = array.fromArray(new Int32Array([7, 0, -1, 2, 2]), { chunks: 2 }).mul(1);
    for (const scheduler of ["sync", "threads", "processes"] as const) {
      const cols = x.get([{ start: 1, stop: 5 }, idx]);
      assert.deepEqual(cols.chunks, [[3, 1], [2, 2, 1]]); // the index's blocks, known
      const expected = [1, 2, 3, 4].map((r) => [7, 0, 7, 2, 2].map((c) => r * 10 + c));
      assert.deepEqual(rows(await cols.compute({ scheduler })), expected, scheduler);
      const picked = x.get([array.fromArray(new Int32Array([5, 1]), { chunks: 1 }), 3]);
      assert.deepEqual([...(await picked.compute({ scheduler })).data], [53, 13]);
    }
    assert.throws(
      () => x.get([{}, array.fromArray(new Float64Array([1.5]))]),
      /integer or boolean type, got float64/,
    );
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});

Deno.test("indexing with a lazy boolean mask beside slices gives unknown block lengths", async () => {
  try {
    const x = matrix();
    const keep = x.get([0, {}]).mod(3).equal(0); // columns 0, 3, 6 (lazy)
    for (const scheduler of ["sync", "threads", "processes"] as const) {
      const masked = x.get([{ stop: 5, step: 2 }, keep]);
      assert.ok(masked.chunks[1].every(Number.isNaN), `${masked.chunks}`);
      assert.deepEqual(masked.chunks[0], [2, 1]);
      const expected = [0, 2, 4].map((r) => [0, 3, 6].map((c) => r * 10 + c));
      assert.deepEqual(rows(await masked.compute({ scheduler })), expected, scheduler);
    }
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});
