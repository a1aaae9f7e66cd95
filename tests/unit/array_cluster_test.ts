/**
 * A subset of the array tests on a local cluster (a scheduler and two worker processes): the
 * same graphs run there unchanged, the task module imported by each worker thread by URL.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { Client } from "../../mod.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { Random } from "./ndarray_reference.ts";
import { randomChunks, randomData, scaleBlock } from "./array_support.ts";
import { assertArray, refOf } from "./ndarray_reference.ts";

Deno.test("arrays on a local cluster", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const onCluster = { scheduler: client };
  const same = (actual: k.NDArray, expected: k.NDArray, context: string, rtol?: number) =>
    assertArray(actual, { ...refOf(expected), dtype: expected.dtype }, context, rtol);

  await t.step("an int64 sum above 2^53 is exact (float64 would round it)", async () => {
    const big = 2n ** 60n + 1n;
    const x = array.full([50], big, { chunks: 7, dtype: "int64" });
    // a whole reduction computes to its JS value: a bigint for int64
    const total: unknown = await x.sum({ splitEvery: 2 }).compute(onCluster);
    assert.equal(total, BigInt.asIntN(64, 50n * big));
    const plus: unknown = await array.ones([8], { chunks: 3, dtype: "int64" }).add(2 ** 53).sum()
      .compute(onCluster);
    assert.equal(plus, 8n * (2n ** 53n + 1n));
  });

  await t.step("seed 001 cells", async () => {
    same(
      await array.arange(1, 50, 3, { chunks: 5 }).compute(onCluster),
      k.arange(1, 50, 3),
      "arange",
    );
    const x = array.random.random([1000, 1000], { chunks: [250, 500], seed: 8 });
    const expected = await x.add(x.T).sum({ axis: 0 }).mean().compute({ scheduler: "sync" });
    const got: number = await x.add(x.T).sum({ axis: 0 }).mean().compute(onCluster);
    assert.equal(typeof got, "number");
    assert.ok(Math.abs(got - expected) <= 1e-12 * expected, `(x + x.T): ${got} vs ${expected}`);
  });

  await t.step("element-wise, reductions, slicing and rechunking on random layouts", async () => {
    const r = new Random(71);
    for (let trial = 0; trial < 6; trial++) {
      const shape = [r.int(3, 12), r.int(3, 12)];
      const a = randomData(r, shape, r.pick(["float64", "int32"] as const));
      const x = array.fromArray(a, { chunks: randomChunks(r, shape) });
      const y = x.mul(2).add(x.T.get("::-1").T).sum({ axis: 0, splitEvery: 2 });
      const expected = k.sum(
        k.add(k.multiply(a, 2), k.transpose(k.slice(k.transpose(a), [{ step: -1 }]))),
        {
          axis: 0,
        },
      );
      same(await y.compute(onCluster), expected, `trial ${trial}`);
      same(await x.rechunk(randomChunks(r, shape)).compute(onCluster), a, `rechunk ${trial}`);
    }
  });

  await t.step("boolean masks, module functions, persist and TSQR", async () => {
    const a = k.reshape(k.arange(60, undefined, 1, "float64"), [12, 5]);
    const x = array.fromArray(a, { chunks: [5, 2] });
    same(await x.get(x.greater(40)).compute(onCluster), k.arange(41, 60, 1, "float64"), "mask");
    same(await array.mapBlocks(scaleBlock, [x, 3]).compute(onCluster), k.multiply(a, 3), "module");
    const kept = await x.add(1).persist(onCluster);
    assert.equal(await kept.sum().compute(onCluster), k.sum(k.add(a, 1)).get(), "persisted");
    const [q, rr] = array.linalg.qr(array.random.random([300, 4], { chunks: [70, 4], seed: 3 }));
    const data = await array.random.random([300, 4], { chunks: [70, 4], seed: 3 }).compute(
      onCluster,
    );
    const [qv, rv] = [await q.compute(onCluster), await rr.compute(onCluster)];
    same(k.matmul(qv, rv), data, "q r = a", 1e-10);
  });

  await t.step("an array assembled from futures reads the pieces where they are", async () => {
    const day = (d: number) => new Float64Array(6).fill(d);
    const pieces = [0, 1, 2].map((d) => client.submit(day, d));
    const x = array.concatenate(pieces.map((f) => array.fromDelayed(f, [1, 2, 3])), 0);
    assert.deepEqual(x.shape, [3, 2, 3]);
    same(
      await x.sum({ axis: [1, 2] }).compute(onCluster),
      k.fromNested([0, 6, 12], "float64"),
      "sums",
    );
    // the pieces were read on the cluster: they are still held there, and nothing re-ran
    const holders = await client.whoHas(pieces);
    for (const f of pieces) assert.ok(holders[f.key].length >= 1, `${f.key} is held`);
  });
});
