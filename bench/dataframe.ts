/**
 * Dataframe benchmarks (issue 13), ours and Dask's measured in the same run on the same files:
 *
 * 1. `readCsv` + the five queries of seed 003's exercise (plus `len` of the non-cancelled rows)
 *    over 10 NYC-flights-like CSV files of 5,000,000 rows in all, each query cold (it reads the
 *    files again), on a local cluster of 2 workers × 1 thread against Dask's LocalCluster of the
 *    same shape, and on `threads` against plain pandas in one thread;
 * 2. a groupby-mean with about 1,000,000 groups (`splitOut`), a merge of two 2,000,000-row frames
 *    on a key (hash-shuffle join), and `sortValues` of 4,000,000 rows, on both clusters;
 * 3. peak RSS of the workers while the flights files (4× a worker's `--memory-limit`) flow through
 *    a groupby-mean and a `valueCounts`.
 *
 *   deno run -A bench/dataframe.ts [rows] [--memory | --memory-only] [--no-dask] [--threads-only]
 *
 * (default 5,000,000 flights rows; files are written once into $TMPDIR/dask-deno-bench-frames;
 * `--no-dask` times ours only, to compare two versions of this code on a busy machine;
 * `--threads-only` times the `threads` rows only: the queries, and the groupby, merge and sort
 * workloads on the local pool, where partitions stay live in their threads).
 * The memory run (3) is opt-in: a worker whose process memory passes 80 % of its limit pauses (95 %:
 * its supervisor ends it), and a worker with Polars loaded holds 85-100 MB before storing anything,
 * so the run writes a flights set of its own whose quarter is at least 256 MB (12.9M rows) and
 * reads it in 16 MiB blocks (see docs/architecture.md, "Small memory limits").
 *
 * Dask's side is bench/dask/dataframe.py, run by this script with Debian's /usr/bin/python3.
 */

import { Client, type ComputeOptions, shutdownThreads } from "../mod.ts";
import { dataframe as dd } from "../dataframe.ts";
import { removeMarkers, rng, writeFlights } from "../examples/flights_data.ts";
import { mb, report } from "./measure.ts";
import process from "node:process";
import * as localThreads from "../collections/local/threads.ts";

const ROWS = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 5_000_000);
const DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dask-deno-bench-frames`;
const SCALE = ROWS / 5_000_000;
const THREADS_ONLY = Deno.args.includes("--threads-only");

/** `files` CSV files of `rows` rows of `row(rand)` each, written once. */
async function writeTable(
  name: string,
  files: number,
  rows: number,
  header: string,
  row: (rand: () => number) => string,
): Promise<void> {
  const dir = `${DIR}/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  for (let f = 0; f < files; f++) {
    const path = `${dir}/part-${f}.csv`;
    const marker = `${dir}/.part-${f}-${rows}`;
    try {
      await Deno.stat(marker);
      continue;
    } catch {
      // write it
    }
    // a marker says what the file holds now: those of other sizes go before it is rewritten
    await removeMarkers(dir, `.part-${f}-`);
    const rand = rng(1000 * f + name.length);
    const lines: string[] = [header];
    for (let i = 0; i < rows; i++) lines.push(row(rand));
    await Deno.writeTextFile(path, lines.join("\n") + "\n");
    await Deno.writeTextFile(marker, "");
  }
}

async function writeData(): Promise<void> {
  await writeFlights(`${DIR}/flights`, 10, Math.round(ROWS / 10));
  const groups = Math.round(1_050_000 * SCALE);
  await writeTable(
    "groups",
    4,
    Math.round(1_000_000 * SCALE),
    "key,value",
    (rand) => `${Math.floor(rand() * groups)},${(rand() * 1000).toFixed(3)}`,
  );
  const keys = Math.round(2_000_000 * SCALE);
  for (const side of ["left", "right"]) {
    await writeTable(
      side,
      4,
      Math.round(500_000 * SCALE),
      `key,${side}_value`,
      (rand) => `${Math.floor(rand() * keys)},${(rand() * 100).toFixed(2)}`,
    );
  }
}

function flights(dir = `${DIR}/flights`, blocksize?: number): dd.DataFrame {
  return dd.readCsv(`${dir}/*.csv`, {
    blocksize,
    parseDates: { Date: [0, 1, 2] },
    dtype: { TailNum: "string", CRSElapsedTime: "float64", Cancelled: "bool" },
  });
}

/** The seed's exercise, each a function of the frame (as bench/dask/dataframe.py's QUERIES). */
const QUERIES: [string, (df: dd.DataFrame, options: ComputeOptions) => Promise<unknown>][] = [
  [
    "max DepDelay of non-cancelled",
    (df, o) => df.filter(df.col("Cancelled").not()).col("DepDelay").max().compute(o),
  ],
  ["len(df)", (df, o) => df.length().compute(o)],
  ["len(non-cancelled)", (df, o) => df.filter(df.col("Cancelled").not()).length().compute(o)],
  ["non-cancelled count per Origin", (df, o) => {
    const live = df.filter(df.col("Cancelled").not());
    return live.groupby("Origin").col("Origin").count().compute(o);
  }],
  ["non-cancelled mean DepDelay per Origin", (df, o) => {
    const live = df.filter(df.col("Cancelled").not());
    return live.groupby("Origin").col("DepDelay").mean().compute(o);
  }],
  [
    "mean DepDelay per day of week",
    (df, o) => df.groupby(df.col("Date").dt.dayofweek()).col("DepDelay").mean().compute(o),
  ],
];

/** Tables the `threads` pool converted to or from Arrow IPC, per `threads` row (--threads-only). */
const conversions = new Map<string, number>();
let conversionsSeen = 0;

/** Notes the conversions of the `threads` row `name` just timed (the pool is held meanwhile). */
async function noteConversions(name: string): Promise<void> {
  // (read where the pool counts them; a tree without the count prints none)
  const { threadsTables } = localThreads as Partial<typeof localThreads>;
  const total = (await threadsTables?.(localThreads.defaultThreadCount()))?.conversions;
  if (total === undefined) return;
  conversions.set(name, total - conversionsSeen);
  conversionsSeen = total;
}

/** CPU seconds of this process (all its threads) per row timed, by the row's wall time. */
const cpuSeconds: number[] = [];

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  const cpu = process.cpuUsage();
  await work();
  const used = process.cpuUsage(cpu);
  cpuSeconds.push((used.user + used.system) / 1e6);
  return (performance.now() - start) / 1000;
}

/** The groupby, merge and sort workloads on `where` (`threads` or `cluster`). */
async function shuffles(
  out: Map<string, number>,
  where: string,
  options: ComputeOptions,
): Promise<void> {
  const groups = () => dd.readCsv(`${DIR}/groups/*.csv`);
  out.set(
    `${where}: groupby 1M groups mean (splitOut)`,
    await timed(() => {
      const g = groups();
      return g.groupby("key", { splitOut: g.npartitions }).col("value").mean().length()
        .compute(options);
    }),
  );
  if (where === "threads") await noteConversions(`${where}: groupby 1M groups mean (splitOut)`);
  out.set(
    `${where}: merge 2M x 2M on key (hash join)`,
    await timed(() =>
      dd.readCsv(`${DIR}/left/*.csv`).merge(dd.readCsv(`${DIR}/right/*.csv`), { on: "key" })
        .length().compute(options)
    ),
  );
  if (where === "threads") await noteConversions(`${where}: merge 2M x 2M on key (hash join)`);
  out.set(
    `${where}: sortValues 4M rows by value`,
    await timed(async () =>
      (await groups().sortValues("value", options)).length().compute(options)
    ),
  );
  if (where === "threads") await noteConversions(`${where}: sortValues 4M rows by value`);
}

async function ours(): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  // (held so that its table conversions can be read after each row)
  const hold = THREADS_ONLY ? localThreads.threadsExecutor.prepare!({}) : () => {};
  // threads against single-threaded pandas
  for (const [name, query] of QUERIES) {
    out.set(`threads: ${name}`, await timed(() => query(flights(), { scheduler: "threads" })));
    if (THREADS_ONLY) await noteConversions(`threads: ${name}`);
  }
  if (THREADS_ONLY) {
    await shuffles(out, "threads", { scheduler: "threads" });
    hold();
    shutdownThreads();
    return out;
  }
  shutdownThreads();
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  const cluster = { scheduler: client };
  for (const [name, query] of QUERIES) {
    out.set(`cluster: ${name}`, await timed(() => query(flights(), cluster)));
  }
  await shuffles(out, "cluster", cluster);
  return out;
}

function dask(): Map<string, number> {
  const run = new Deno.Command("/usr/bin/python3", {
    args: [new URL("./dask/dataframe.py", import.meta.url).pathname, DIR],
    stdout: "piped",
    stderr: "piped",
  }).outputSync();
  if (!run.success) {
    console.error(new TextDecoder().decode(run.stderr));
    throw new Error("bench/dask/dataframe.py failed");
  }
  const out = new Map<string, number>();
  for (const line of new TextDecoder().decode(run.stdout).split("\n")) {
    if (!line.startsWith("{")) continue;
    const { name, seconds } = JSON.parse(line);
    out.set(name, seconds);
  }
  return out;
}

function vmHwm(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmHWM:\s+(\d+) kB/)![1]) * 1024;
}

/**
 * A worker process with a task thread and Polars loaded holds 85-100 MB before it stores any
 * value (measured: paused at 83-87 MB with 0 B of values, 2026-12-04), so a limit under about
 * 250 MB leaves no room for a partition and its supervisor ends it (KilledWorker). The memory run
 * therefore uses its own flights set, large enough that a quarter of it is at least this limit.
 */
const MEMORY_LIMIT_FLOOR = 256 * 2 ** 20;
/** CSV blocks small against the limit, as one would choose for small workers. */
const MEMORY_BLOCKSIZE = 16 * 2 ** 20;

async function memory(): Promise<void> {
  const bytesPerRow = 83; // the flights generator's average line
  const rows = Math.max(ROWS, Math.ceil((4 * MEMORY_LIMIT_FLOOR) / bytesPerRow / 10) * 10);
  const dir = rows === ROWS ? `${DIR}/flights` : `${DIR}/flights-memory`;
  await writeFlights(dir, 10, Math.round(rows / 10));
  let bytes = 0;
  for (const entry of Deno.readDirSync(dir)) {
    if (entry.name.endsWith(".csv")) bytes += Deno.statSync(`${dir}/${entry.name}`).size;
  }
  const limit = Math.round(bytes / 4);
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1, memoryLimit: limit });
  const df = flights(dir, MEMORY_BLOCKSIZE);
  const start = performance.now();
  await df.groupby("Origin").col("DepDelay").mean().compute({ scheduler: client });
  await df.col("Dest").valueCounts().compute({ scheduler: client });
  const seconds = (performance.now() - start) / 1000;
  const peaks = client.cluster!.pids.workers.map(vmHwm);
  report(
    `memory: flights CSV ${mb(bytes)} (${rows.toLocaleString()} rows), worker --memory-limit`,
    mb(limit),
  );
  report(
    `memory: groupby-mean + valueCounts in ${seconds.toFixed(1)} s, worker peak RSS`,
    peaks.map(mb).join(", "),
  );
}

if (!Deno.args.includes("--memory-only")) {
  await writeData();
  console.log(
    `dataframe benchmarks, ${ROWS.toLocaleString()} flights rows, ${
      new Date().toISOString().slice(0, 10)
    }`,
  );
  const mine = await ours();
  const theirs = Deno.args.includes("--no-dask") || THREADS_ONLY
    ? new Map<string, number>()
    : dask();
  const fmt = (s: number | undefined) => (s === undefined ? "-" : `${s.toFixed(2)} s`);
  console.log(
    `\n${"workload".padEnd(58)} ${"ours".padStart(9)} ${"Dask/pandas".padStart(12)} ratio`,
  );
  let row = 0;
  for (const [name, seconds] of mine) {
    const cpu = cpuSeconds[row++];
    const [where, what] = name.split(": ");
    const other = theirs.get(
      `${where === "threads" ? "pandas" : "dask"}: ${
        what.replace("sortValues", "sort_values").replace("(splitOut)", "(split_out)")
      }`,
    );
    const converted = conversions.get(name);
    // the cluster's work is in its worker processes: this process's CPU says nothing of it
    const notes = where === "threads"
      ? ` (this process: ${cpu.toFixed(2)} s CPU${
        converted === undefined ? "" : `, ${converted} table conversions`
      })`
      : "";
    const ratio = (other === undefined ? "" : `${(other / seconds).toFixed(1)}×`) + notes;
    console.log(
      `${name.padEnd(58)} ${fmt(seconds).padStart(9)} ${fmt(other).padStart(12)} ${ratio}`,
    );
  }
}
if (Deno.args.some((a) => a.startsWith("--memory"))) await memory();
