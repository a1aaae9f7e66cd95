import assert from "node:assert/strict";
import { array, NDArray, shutdownProcesses, shutdownThreads } from "../../mod.ts";
import { rng } from "./bag_helpers.ts";

/** The reference: along `axis` of a rows × cols matrix, the |k| best values and their indices. */
function reference(data: number[][], k: number, axis: number) {
  const lines = axis === 1 ? data : data[0].map((_, c) => data.map((row) => row[c]));
  const picked = lines.map((line) =>
    line.map((v, i) => [v, i]).sort((a, b) => (k > 0 ? b[0] - a[0] : a[0] - b[0]) || a[1] - b[1])
      .slice(0, Math.abs(k))
  );
  const values = picked.map((p) => p.map(([v]) => v));
  const indices = picked.map((p) => p.map(([, i]) => i));
  const back = (m: number[][]) => axis === 1 ? m : m[0].map((_, c) => m.map((row) => row[c]));
  return { values: back(values), indices: back(indices) };
}

const rows = (a: NDArray) => {
  const out: number[][] = [];
  for (let r = 0; r < a.shape[0]; r++) {
    out.push(Array.from({ length: a.shape[1] }, (_, c) => Number(a.get(r, c))));
  }
  return out;
};

Deno.test("topk and argtopk match a sort along either axis, for k > 0 and k < 0", async () => {
  try {
    const random = rng(11);
    const data = Array.from(
      { length: 13 },
      () => Array.from({ length: 17 }, () => Math.floor(random() * 50)),
    );
    const flat = new Int32Array(data.flat());
    const x = array.fromArray(new NDArray(flat, [13, 17]), { chunks: [4, 5] });
    const cases = [[3, 1], [-4, 1], [5, 0], [-2, 0], [17, 1], [1, -1]] as const;
    for (const scheduler of ["sync", "threads", "processes"] as const) {
      for (const [k, axis] of cases) {
        const expected = reference(data, k, axis === -1 ? 1 : axis);
        const values = await x.topk(k, axis).compute({ scheduler });
        const indices = await x.argtopk(k, axis).compute({ scheduler });
        assert.equal(values.dtype, "int32");
        assert.deepEqual(rows(values), expected.values, `${scheduler} topk(${k}, ${axis})`);
        assert.deepEqual(rows(indices), expected.indices, `${scheduler} argtopk(${k}, ${axis})`);
      }
    }
    // 1-D, as Dask's docs: the largest first; NaN is picked last
    const y = array.fromArray(new Float64Array([5, 1, NaN, 3, 7, 2]), { chunks: 2 });
    assert.deepEqual([...(await array.topk(y, 3).compute()).data], [7, 5, 3]);
    assert.deepEqual([...(await array.argtopk(y, -2).compute()).data], [1, 5]);
    assert.deepEqual([...(await y.topk(6).compute()).data].slice(0, 5), [7, 5, 3, 2, 1]);
  } finally {
    shutdownThreads();
    await shutdownProcesses();
  }
});

Deno.test("topk refuses k = 0 and |k| beyond the axis with what to do", () => {
  const x = array.arange(10, { chunks: 3 });
  assert.throws(() => x.topk(0), /non-zero integer k/);
  assert.throws(() => x.topk(11), /\|k\| = 11 is more than the 10 elements along axis 0/);
  assert.throws(() => x.argtopk(2.5), /non-zero integer k/);
});
