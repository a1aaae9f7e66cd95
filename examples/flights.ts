/**
 * Seed 003's exercise on NYC-flights-like data: the same dataframe queries on the `sync`
 * scheduler, on `threads`, and on a local cluster, with timings, as the notebook prints them.
 *
 *   deno run -A examples/flights.ts [files] [rowsPerFile]     (default 10 files × 100,000 rows)
 *
 * The pandas of each cell is in its label; the data is generated into $TMPDIR/nycflights.
 *
 * @module
 */

import { Client } from "../mod.ts";
import { dataframe as dd } from "../dataframe.ts";
import type { ComputeOptions } from "../mod.ts";
import { writeFlights } from "./flights_data.ts";

/** Runs every cell of the exercise on one scheduler, printing each cell's time. */
export async function flightsExercise(
  dir: string,
  scheduler: ComputeOptions["scheduler"],
  label: string,
): Promise<Record<string, unknown>> {
  const df = dd.readCsv(`${dir}/*.csv`, {
    parseDates: { Date: [0, 1, 2] },
    dtype: { TailNum: "string", CRSElapsedTime: "float64", Cancelled: "bool" },
  });
  const live = df.filter(df.col("Cancelled").not());
  const cells: [string, () => Promise<unknown>][] = [
    ["df[~df.Cancelled].DepDelay.max()", () => live.col("DepDelay").max().compute({ scheduler })],
    ["len(df)", () => df.length().compute({ scheduler })],
    ["len(df[~df.Cancelled])", () => live.length().compute({ scheduler })],
    [
      "df[~df.Cancelled].groupby('Origin').Origin.count()",
      () => live.groupby("Origin").col("Origin").count().compute({ scheduler }),
    ],
    [
      "df[~df.Cancelled].groupby('Origin').DepDelay.mean()",
      () => live.groupby("Origin").col("DepDelay").mean().compute({ scheduler }),
    ],
    [
      "df.groupby(df.Date.dt.dayofweek).DepDelay.mean()",
      () => df.groupby(df.col("Date").dt.dayofweek()).col("DepDelay").mean().compute({ scheduler }),
    ],
  ];
  console.log(`\n--- ${label} (${df.npartitions} partitions)`);
  const results: Record<string, unknown> = {};
  for (const [cell, run] of cells) {
    const start = performance.now();
    const value = await run();
    const seconds = (performance.now() - start) / 1000;
    results[cell] = value;
    const shown = typeof value === "object" && value !== null
      ? `${(value as dd.Frame).height} rows`
      : String(value);
    console.log(`  ${cell.padEnd(54)} ${seconds.toFixed(3)} s   ${shown}`);
  }
  return results;
}

if (import.meta.main) {
  const files = Number(Deno.args[0] ?? 10);
  const rows = Number(Deno.args[1] ?? 100_000);
  const dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/nycflights`;
  console.log(`Writing ${files} files × ${rows} flights into ${dir} ...`);
  await writeFlights(dir, files, rows);
  const sync = await flightsExercise(dir, "sync", "sync (this thread)");
  await flightsExercise(dir, "threads", "threads (Web Workers in this process)");
  {
    await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
    const cluster = await flightsExercise(dir, client, "local cluster (2 workers × 1 thread)");
    const same = Object.keys(sync).every((k) =>
      JSON.stringify(
        cluster[k],
        (_, v) => typeof v === "object" && v?.toRecords ? v.toRecords() : v,
      ) ===
        JSON.stringify(sync[k], (_, v) => typeof v === "object" && v?.toRecords ? v.toRecords() : v)
    );
    console.log(`\nCluster results equal sync's: ${same}`);
  }
  const byDay = sync["df.groupby(df.Date.dt.dayofweek).DepDelay.mean()"] as dd.Frame;
  console.log(`\nAverage departure delay per day of week (Monday = 0):\n${byDay.toString()}`);
}
