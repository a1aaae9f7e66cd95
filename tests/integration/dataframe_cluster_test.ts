/**
 * Dataframes on a local cluster (a scheduler and two worker processes): CSV files read on the
 * workers, reductions, a tree groupby and a hash-partitioned (splitOut) groupby, persist — all
 * .str methods, a merge on keys of different names, a frame over an array's blocks — all
 * compared with `sync`; and a splitOut groupby that loses a worker mid-way still gives the exact
 * result.
 */
import assert from "node:assert/strict";
import { array, Client } from "../../mod.ts";
import * as dd from "../../collections/dataframe/mod.ts";

function flightsText(from: number, to: number): string {
  const origins = ["JFK", "LGA", "EWR", "BOS", "SFO"];
  let out = "Year,Month,DayofMonth,Origin,DepDelay,Cancelled\n";
  for (let i = from; i < to; i++) {
    const delay = i % 11 === 0 ? "" : String((i * 37) % 120 - 20);
    out += `2024,${1 + (i % 12)},${1 + (i % 28)},${origins[i % 5]},${delay},${
      i % 13 === 0 ? 1 : 0
    }\n`;
  }
  return out;
}

const sorted = (frame: dd.Frame) => frame.sort(frame.columns[0]).toRecords();

Deno.test("dataframes on a local cluster agree with sync", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dataframe-cluster-" });
  try {
    for (let f = 0; f < 4; f++) {
      await Deno.writeTextFile(`${dir}/f${f}.csv`, flightsText(f * 2000, (f + 1) * 2000));
    }
    await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
    const sync = { scheduler: "sync" as const };
    const cluster = { scheduler: client };
    const df = dd.readCsv(`${dir}/*.csv`, {
      parseDates: { Date: ["Year", "Month", "DayofMonth"] },
      dtype: { Cancelled: "bool" },
      blocksize: 20_000,
    });
    assert.ok(df.npartitions > 4);
    const live = df.filter(df.col("Cancelled").not());
    for (
      const q of [live.col("DepDelay").max(), df.length(), live.length(), df.col("DepDelay").std()]
    ) {
      assert.deepEqual(await q.compute(cluster), await q.compute(sync));
    }
    for (
      const grouped of [
        live.groupby("Origin").col("DepDelay").mean(),
        df.groupby(df.col("Date").dt.dayofweek()).col("DepDelay").mean(),
        df.groupby(["Origin", "Cancelled"], { splitOut: 3 }).agg({
          DepDelay: ["sum", "count", "max"],
        }),
      ]
    ) {
      assert.deepEqual(sorted(await grouped.compute(cluster)), sorted(await grouped.compute(sync)));
    }
    const persisted = await live.persist(cluster);
    assert.equal(await persisted.length().compute(cluster), await live.length().compute(sync));
    // .str methods travel to the workers' threads as native expressions
    const origin = df.col("Origin");
    const picked = df.filter(origin.str.lower().str.startsWith("j").or(origin.str.endsWith("S")));
    const strings = picked
      .assign({ lower: picked.col("Origin").str.lower(), len: picked.col("Origin").str.len() })
      .groupby(["lower", "len"]).size();
    assert.deepEqual(sorted(await strings.compute(cluster)), sorted(await strings.compute(sync)));
    assert.deepEqual(sorted(await strings.compute(sync)).map((r) => [r.lower, r.len]), [
      ["bos", 3],
      ["jfk", 3],
    ]);
    // a shuffle merge on keys of different names
    const airports = dd.fromRecords(
      ["JFK", "LGA", "EWR", "BOS"].map((code, i) => ({ code, rank: i })),
      { npartitions: 2 },
    );
    const joined = live.merge(airports, { leftOn: "Origin", rightOn: "code", how: "left" })
      .groupby(["Origin", "code"]).col("rank").sum();
    assert.deepEqual(sorted(await joined.compute(cluster)), sorted(await joined.compute(sync)));
    // a frame over an array's row blocks computed on the workers
    const x = array.arange(0, 3000, 1, { chunks: 700 }).reshape([1500, 2]).rechunk([350, 2]);
    const fromArray = dd.fromArray(x, ["even", "odd"]);
    const odd = fromArray.filter(fromArray.col("even").mod(4).eq(0)).col("odd").sum();
    assert.equal(await odd.compute(cluster), await odd.compute(sync));
    // rows i = 2m hold odd = 4m + 1, m < 750
    assert.equal(await odd.compute(sync), 750 + 4 * (749 * 750) / 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/** A partition step that takes a while, so a worker can be killed while the graph runs. */
function slowly(partition: dd.Frame, ms: number): dd.Frame {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return partition;
}

Deno.test("a splitOut groupby that loses a worker mid-way gives the exact result", async () => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const records = Array.from({ length: 5000 }, (_, i) => ({ k: i % 97, v: i, w: i % 7 }));
  const df = dd.fromRecords(records, { npartitions: 16 }).mapPartitions(slowly, { args: [150] });
  const grouped = df.groupby("k", { splitOut: 4 }).agg({ v: ["sum", "count"], w: "max" });
  const expected = sorted(await grouped.compute({ scheduler: "sync" }));
  const running = grouped.compute({ scheduler: client });
  await new Promise((resolve) => setTimeout(resolve, 900));
  Deno.kill(client.cluster!.pids.workers[1], "SIGKILL");
  assert.deepEqual(sorted(await running), expected);
});
