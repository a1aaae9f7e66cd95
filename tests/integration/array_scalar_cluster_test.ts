/**
 * On a cluster (a scheduler and two worker processes), an array of shape () computes to a JS
 * value by every road: `compute({ scheduler: client })`, `client.compute` futures (awaited,
 * gathered, several at once), `compute(a, b)`, and `client.persist` then compute.
 */
import assert from "node:assert/strict";
import { array, Client, compute, type Future, NDArray } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

Deno.test("a Scalar computes to a JS value on a cluster, futures included", async () => {
  await using cluster = await startCluster({ nWorkers: 2, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  const data = new NDArray(Float64Array.from({ length: 48 }, (_, i) => (i * 7) % 11), [6, 8]);
  const x = array.fromArray(data, { chunks: [3, 4] });
  const total = [...data.numbers()].reduce((a, b) => a + b, 0);
  const onCluster = { scheduler: client };

  const sum: number = await x.sum().compute(onCluster);
  assert.equal(sum, total, cluster.logs());
  assert.equal(await x.get([5, 7]).compute(onCluster), data.get(5, 7));

  // futures: one, awaited; several, typed per collection and gathered
  const future: Future<number> = client.compute(x.max());
  assert.equal(await future, 10);
  const [mean, any, rows] = client.compute([x.mean(), x.greater(9).any(), x.sum({ axis: 1 })]);
  const [m, a, r]: [number, boolean, NDArray] = await client.gather([mean, any, rows]);
  assert.equal(m, total / 48);
  assert.equal(a, true);
  assert.equal(r.shape[0], 6);

  // compute(a, b) on the cluster, and a Scalar persisted there
  const [lo, hi] = await compute(x.min(), x.argmax(), onCluster);
  assert.deepEqual([lo, hi], [0, [...data.numbers()].indexOf(10)]);
  const kept = client.persist(x.std());
  assert.ok(kept instanceof array.Scalar);
  const std: number = await kept.compute(onCluster);
  const expected = Math.sqrt(
    [...data.numbers()].reduce((s, v) => s + (v - total / 48) ** 2, 0) / 48,
  );
  assert.ok(Math.abs(std - expected) < 1e-12, `${std} vs ${expected}`);
});
