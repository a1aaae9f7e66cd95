// Row filters pushed into readCsv/readParquet: the read task gets the predicate (and the filter
// step leaves the task's steps), and the rows equal those of the unfused path (a filter after
// mapPartitions, which no read can take) and of a plain TypeScript reference, nulls included.
import assert from "node:assert/strict";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as dd from "../../collections/dataframe/mod.ts";
import { rng } from "../../examples/flights_data.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dataframe-pushdown-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Row {
  Year: number;
  Month: number;
  Day: number;
  Origin: string | null;
  DepDelay: number | null;
  Cancelled: boolean;
}

const ORIGINS = ["JFK", "LGA", "EWR"];

/** Random flights-like rows with nulls in Origin and DepDelay, written as CSV text. */
function randomRows(seed: number, n: number): Row[] {
  const rand = rng(seed);
  return Array.from({ length: n }, () => ({
    Year: 2020 + Math.floor(rand() * 3),
    Month: 1 + Math.floor(rand() * 12),
    Day: 1 + Math.floor(rand() * 28),
    Origin: rand() < 0.1 ? null : ORIGINS[Math.floor(rand() * 3)],
    DepDelay: rand() < 0.2 ? null : Math.round(rand() * 120 - 20) || 0,
    Cancelled: rand() < 0.3,
  }));
}

function csvText(rows: readonly Row[]): string {
  let out = "Year,Month,DayofMonth,Origin,DepDelay,Cancelled\n";
  for (const r of rows) {
    out += `${r.Year},${r.Month},${r.Day},${r.Origin ?? ""},${r.DepDelay ?? ""},${
      r.Cancelled ? "True" : "False"
    }\n`;
  }
  return out;
}

type Read = { csv?: { filter?: string | null }; parquet?: { filter: string | null } };

/** The read sources of a graph's tasks, and the steps those tasks still run. */
function readTasks(
  graph: Map<unknown, { args: readonly unknown[] }>,
): { source: Read; steps: unknown[] }[] {
  return [...graph.values()].flatMap((t) => {
    const source = t.args[0];
    if (typeof source !== "object" || source === null) return [];
    if (!("csv" in source) && !("parquet" in source)) return [];
    return [{ source: source as Read, steps: t.args[1] as unknown[] }];
  });
}

const stepOps = (steps: unknown[]) => steps.map((s) => (s as { op: string }).op);

Deno.test("readCsv: leading filters run inside the read task; later ones stay steps", () => {
  const dir = Deno.makeTempDirSync({ prefix: "dataframe-pushdown-" });
  try {
    Deno.writeTextFileSync(`${dir}/a.csv`, csvText(randomRows(1, 50)));
    const df = dd.readCsv(`${dir}/a.csv`, {
      parseDates: { Date: [0, 1, 2] },
      dtype: { Cancelled: "bool" },
    });
    const live = df.filter(df.col("Cancelled").not());
    const picked = live.select(["Origin", "DepDelay"]);
    const delayed = picked.filter(picked.col("DepDelay").gt(10));
    const query = delayed.assign({ late: delayed.col("DepDelay").gt(60) });
    const tail = query.filter(query.col("late"));
    const [read] = readTasks(tail.col("DepDelay").max().graph);
    const filter = read.source.csv?.filter;
    assert.equal(typeof filter, "string");
    // both leading filters, joined, and neither left as a step
    assert.match(filter!, /"Cancelled"/);
    assert.match(filter!, /"DepDelay"/);
    assert.doesNotMatch(filter!, /"late"/);
    // the projection stays, the assign and the filter on its column stay, `.col` selects last
    assert.deepEqual(stepOps(read.steps), ["select", "withColumns", "filter", "select"]);
    // the unfused path: no read can take a filter after a user function
    const opaque = df.mapPartitions((f) => f);
    const [kept] = readTasks(opaque.filter(opaque.col("Cancelled").not()).length().graph);
    assert.equal(kept.source.csv?.filter ?? null, null);
    assert.deepEqual(stepOps(kept.steps), ["map", "filter"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

for (const scheduler of ["sync", "threads"] as const) {
  Deno.test(`readCsv: pushed-down filters give the unfused rows, nulls included (${scheduler})`, async () => {
    await withDir(async (dir) => {
      const rows = [...randomRows(7, 700), ...randomRows(8, 300)];
      await Deno.writeTextFile(`${dir}/a.csv`, csvText(rows.slice(0, 700)));
      await Deno.writeTextFile(`${dir}/b.csv`, csvText(rows.slice(700)));
      // small blocks: many partitions, some whose rows all fail the filter
      const df = dd.readCsv(`${dir}/*.csv`, {
        blocksize: 2_000,
        parseDates: { Date: [0, 1, 2] },
        dtype: { Cancelled: "bool", DepDelay: "float64" },
      });
      assert.ok(df.npartitions > 10, `${df.npartitions} partitions`);
      const opaque = df.mapPartitions((f) => f);
      const query = (frame: dd.DataFrame) => {
        const live = frame.filter(frame.col("Cancelled").not());
        const kept = live.filter(live.col("DepDelay").ge(0).or(live.col("Origin").eq("JFK")));
        return kept.filter(kept.col("Date").dt.month().le(6));
      };
      const fused = query(df);
      assert.ok(readTasks(fused.graph).every((t) => typeof t.source.csv?.filter === "string"));
      const got = (await fused.compute({ scheduler })).toRecords();
      const unfused = (await query(opaque).compute({ scheduler })).toRecords();
      assert.deepEqual(got, unfused);
      // the reference: SQL semantics, a null comparison keeps nothing unless OR'd with true
      const expected = rows.filter((r) =>
        !r.Cancelled && (r.DepDelay !== null && r.DepDelay >= 0 || r.Origin === "JFK") &&
        r.Month <= 6
      );
      assert.equal(got.length, expected.length);
      assert.deepEqual(
        got.map((r) => [r.Origin, r.DepDelay]),
        expected.map((r) => [r.Origin, r.DepDelay]),
      );
      assert.ok(got.some((r) => r.DepDelay === null), "rows with a null DepDelay pass via JFK");
      // the consumer's first step fuses too: a reduction over the pushed-down read
      assert.equal(
        await fused.col("DepDelay").count().compute({ scheduler }),
        expected.filter((r) => r.DepDelay !== null).length,
      );
      assert.equal(await fused.length().compute({ scheduler }), expected.length);
    }).finally(() => shutdownThreads());
  });
}

Deno.test("readParquet: a filter joins the read's own filters in the scan", async () => {
  await withDir(async (dir) => {
    const rows = randomRows(3, 400).map(({ Origin, DepDelay, Cancelled }) => ({
      Origin,
      DepDelay,
      Cancelled,
    }));
    await dd.fromRecords(rows, { npartitions: 3 }).toParquet(dir, { scheduler: "sync" });
    const df = dd.readParquet(`${dir}/*.parquet`, { filters: [["Cancelled", "==", false]] });
    const late = df.filter(df.col("DepDelay").gt(30));
    const reads = readTasks(late.graph);
    assert.equal(reads.length, 3);
    for (const read of reads) {
      assert.match(read.source.parquet!.filter!, /"Cancelled"/);
      assert.match(read.source.parquet!.filter!, /"DepDelay"/);
      assert.deepEqual(read.steps, []);
    }
    const got = (await late.compute({ scheduler: "sync" })).toRecords();
    const opaque = df.mapPartitions((f) => f);
    const unfused = await opaque.filter(opaque.col("DepDelay").gt(30)).compute({
      scheduler: "sync",
    });
    assert.deepEqual(got, unfused.toRecords());
    assert.deepEqual(
      got,
      rows.filter((r) => !r.Cancelled && r.DepDelay !== null && r.DepDelay > 30),
    );
  });
});
