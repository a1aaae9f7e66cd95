/**
 * A subset of the bag tests on a local cluster (a scheduler and two worker processes): the same
 * graphs as on the local schedulers, compared with `sync`.
 */
import assert from "node:assert/strict";
import { bag, Client } from "../../mod.ts";
import { type EventRecord, randomRecords, rng } from "../unit/bag_helpers.ts";

async function gzipFile(path: string, text: string): Promise<void> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  await Deno.writeFile(path, new Uint8Array(await new Response(stream).arrayBuffer()));
}

Deno.test("bags on a local cluster", async (t) => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const sync = { scheduler: "sync" as const };
  const cluster = { scheduler: client };
  const records = randomRecords(rng(5), 3000);
  const b = bag.fromSequence(records, { npartitions: 12 });

  await t.step("reductions and frequencies/topk agree with sync", async () => {
    const queries = [
      b.count(),
      b.pluck("size").sum(),
      b.pluck("size").max(),
      b.pluck("size").std(),
      b.map((r: EventRecord) => r.tags.length > 2).any(),
    ];
    for (const q of queries) assert.deepEqual(await q.compute(cluster), await q.compute(sync));
    const top = b.pluck("actor").pluck("login").frequencies({ sort: true }).topk(3, 1);
    assert.deepEqual(await top.compute(cluster), await top.compute(sync));
    const distinct = b.pluck("repo").pluck("name").distinct();
    assert.deepEqual(
      (await distinct.compute(cluster)).sort(),
      (await distinct.compute(sync)).sort(),
    );
  });

  await t.step("groupby shuffles across workers; foldby agrees with sync", async () => {
    const groups = b.groupby((r: EventRecord) => r.type, { npartitions: 4 })
      .map(([type, rs]: [string, EventRecord[]]) => [type, rs.length] as [string, number]);
    const expected = new Map<string, number>();
    for (const r of records) expected.set(r.type, (expected.get(r.type) ?? 0) + 1);
    assert.deepEqual(new Map(await groups.compute(cluster)), expected);
    const folded = b.foldby(
      (r: EventRecord) => r.actor.login,
      (total: number, r: EventRecord) => total + r.size,
      0,
      (a: number, c: number) => a + c,
      0,
    );
    const sortPairs = (xs: [string, number][]) => xs.sort((p, q) => p[0] < q[0] ? -1 : 1);
    const [onCluster, onSync] = [await folded.compute(cluster), await folded.compute(sync)];
    assert.deepEqual(
      sortPairs(onCluster).map(([k, v]) => [k, Math.round(v * 10)]),
      sortPairs(onSync).map(([k, v]) => [k, Math.round(v * 10)]),
    );
  });

  await t.step("readText over gzip files on the workers, take and persist", async () => {
    const dir = await Deno.makeTempDir({ prefix: "bag_cluster_" });
    try {
      for (let f = 0; f < 4; f++) {
        const lines = records.slice(f * 100, (f + 1) * 100).map((r) => JSON.stringify(r));
        await gzipFile(`${dir}/part-${f}.jsonl.gz`, lines.join("\n") + "\n");
      }
      const parsed = bag.readText(`${dir}/*.jsonl.gz`).map((line: string) => JSON.parse(line));
      assert.equal(parsed.npartitions, 4);
      assert.equal(await parsed.count().compute(cluster), 400);
      const [first] = await parsed.take(1, cluster);
      assert.deepEqual(first, records[0]);
      const kept = await parsed.persist(cluster);
      assert.equal(await kept.pluck("id").max().compute(cluster), 399);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
