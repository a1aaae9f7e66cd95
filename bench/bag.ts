/**
 * Bag benchmarks (issue 4). Prints:
 *
 * 1. the JSON-records workload measured with Dask 2022.12 on a 2-worker cluster (23 s):
 *    200,000 records from `fromSequence` in 40 partitions, then `pluck("type").frequencies()`,
 *    a filter + pluck + frequencies + topk(10), and `count()`;
 * 2. parse throughput of `readText` + `JSON.parse` over ~100 MB of gzipped JSON lines on the
 *    threads scheduler (2 threads) against one plain loop in one thread;
 * 3. peak RSS of a fresh process that flows that data (several times the memory limit once
 *    parsed) through `count()` and `frequencies()`.
 *
 *   deno run -A bench/bag.ts
 *
 * The data of 2 and 3 is written once into `$TMPDIR/dask-deno-bench-github` by
 * examples/github_events_data.ts.
 */

import { bag, Client, type ComputeOptions, shutdownThreads } from "../mod.ts";
import { EventMaker, writeGithubArchive } from "../examples/github_events_data.ts";
import { mb, peakRss, report } from "./measure.ts";

const THREADS = 2;
const DATA_DIR = `${Deno.env.get("TMPDIR") ?? "/tmp"}/dask-deno-bench-github`;
/** ~2.7 MB of gzip per hourly file of 20,000 events: 37 files ≈ 100 MB. */
const HOURS = 37;
/** The memory limit the flowing computation is held to (a worker's limit on a small machine). */
const MEMORY_LIMIT = 512e6;

interface Flat {
  type: string;
  repo: string;
  actor: string;
  size: number;
}

async function recordsWorkload(options: ComputeOptions, where: string): Promise<void> {
  const maker = new EventMaker(7);
  const time = new Date(Date.UTC(2015, 0, 1));
  const records: Flat[] = [];
  for (let i = 0; i < 200_000; i++) {
    const e = maker.next(time) as {
      type: string;
      repo: { name: string };
      actor: { login: string };
      payload: unknown;
    };
    records.push({
      type: e.type,
      repo: e.repo.name,
      actor: e.actor.login,
      size: JSON.stringify(e.payload).length,
    });
  }
  const started = performance.now();
  const b = bag.fromSequence(records, { npartitions: 40 });
  const buildMs = performance.now() - started;
  // the threads start (and load the kernels) before the clock runs, as on a running cluster
  await bag.fromSequence([1, 2, 3]).map((x: number) => x).count().compute(options);
  const computeStart = performance.now();
  const types = await b.pluck("type").frequencies().compute(options);
  const afterTypes = performance.now();
  const top = await b.filter((r: Flat) => r.type === "PushEvent").pluck("repo").frequencies()
    .topk(10, 1).compute(options);
  const afterTop = performance.now();
  const n = await b.count().compute(options);
  const done = performance.now();
  if (n !== records.length || types.length === 0 || top.length !== 10) {
    throw new Error(`wrong answers: count ${n}, ${types.length} types, top ${top.length}`);
  }
  const seconds = (ms: number) => `${(ms / 1000).toFixed(3)} s`;
  report("200k records: fromSequence(40 partitions), encoded + named", seconds(buildMs));
  report(`200k records: pluck('type').frequencies(), ${where}`, seconds(afterTypes - computeStart));
  report(
    `200k records: filter + pluck + frequencies + topk(10), ${where}`,
    seconds(afterTop - afterTypes),
  );
  report(`200k records: count(), ${where}`, seconds(done - afterTop));
  report(
    `200k records: all of the above, ${where}`,
    seconds(buildMs + done - computeStart),
    "≤ 1 s; Dask 2-worker cluster 23 s",
  );
}

async function archiveFiles(): Promise<string[]> {
  let files: string[] = [];
  try {
    files = [...Deno.readDirSync(DATA_DIR)].filter((e) => e.name.endsWith(".json.gz"))
      .map((e) => `${DATA_DIR}/${e.name}`);
  } catch { /* not written yet */ }
  if (files.length !== HOURS) {
    console.log(`(writing ${HOURS} hourly files into ${DATA_DIR} once ...)`);
    await Deno.remove(DATA_DIR, { recursive: true }).catch(() => {});
    files = await writeGithubArchive(DATA_DIR, { hours: HOURS, eventsPerHour: 20000 });
  }
  return files.sort();
}

/** The reference: one loop in one thread, reading, decompressing and parsing every line. */
async function plainLoop(files: string[]): Promise<{ records: number; textBytes: number }> {
  let records = 0;
  let textBytes = 0;
  for (const path of files) {
    const file = await Deno.open(path);
    const text = file.readable
      .pipeThrough(new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>)
      .pipeThrough(new TextDecoderStream());
    let rest = "";
    for await (const chunk of text) {
      textBytes += chunk.length;
      const lines = (rest + chunk).split("\n");
      rest = lines.pop()!;
      for (const line of lines) {
        if (line.length > 0) {
          JSON.parse(line);
          records++;
        }
      }
    }
    if (rest.length > 0) {
      JSON.parse(rest);
      records++;
    }
  }
  return { records, textBytes };
}

async function parseThroughput(files: string[]): Promise<void> {
  let gzBytes = 0;
  for (const f of files) gzBytes += Deno.statSync(f).size;
  const plainStart = performance.now();
  const plain = await plainLoop(files);
  const plainMs = performance.now() - plainStart;
  const options = { scheduler: "threads" as const, numWorkers: THREADS };
  const parsed = bag.readText(`${DATA_DIR}/*.json.gz`).map(JSON.parse);
  await bag.range(4).count().compute(options); // warm the pool
  let bagMs = Infinity;
  for (let run = 0; run < 2; run++) {
    const start = performance.now();
    const n = await parsed.count().compute(options);
    bagMs = Math.min(bagMs, performance.now() - start);
    if (n !== plain.records) throw new Error(`bag counted ${n}, the loop ${plain.records}`);
  }
  const rate = (ms: number) => `${((gzBytes / 1e6) / (ms / 1000)).toFixed(1)} MB/s`;
  report(
    `parse ${mb(gzBytes)} gzip (${mb(plain.textBytes)} text, ${plain.records} lines): one loop`,
    rate(plainMs),
  );
  report(`parse: readText + map(JSON.parse) + count(), threads (${THREADS})`, rate(bagMs));
  report(
    "parse: speed-up of threads over the loop",
    `${(plainMs / bagMs).toFixed(2)}×`,
    "≥ 1.7× on 2 cores",
  );
}

/** In a fresh process: flows the data through count() and frequencies(); prints peak RSS. */
async function memoryChild(): Promise<void> {
  const options = { scheduler: "threads" as const, numWorkers: THREADS };
  const records = bag.readText(`${DATA_DIR}/*.json.gz`).map(JSON.parse);
  const n = await records.count().compute(options);
  const types = await records.pluck("type").frequencies().compute(options);
  shutdownThreads();
  console.log(JSON.stringify({ n, types: types.length, peak: peakRss() }));
}

async function memoryFlow(files: string[]): Promise<void> {
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", import.meta.url, "--memory-child"],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!child.success) throw new Error("the memory benchmark's process failed");
  const { n, peak } = JSON.parse(new TextDecoder().decode(child.stdout).trim());
  let textBytes = 0;
  for (const f of files) textBytes += Deno.statSync(f).size;
  report(
    `flow ${n} records (${mb(textBytes)} gzip, ~6× as text) through count + frequencies`,
    `peak RSS ${mb(peak)}`,
    `≤ ${mb(MEMORY_LIMIT)} limit`,
  );
  if (peak > MEMORY_LIMIT) console.log("  !! over the memory limit");
}

if (Deno.args.includes("--memory-child")) {
  await memoryChild();
} else {
  await recordsWorkload({ scheduler: "threads", numWorkers: THREADS }, `threads (${THREADS})`);
  {
    await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
    await recordsWorkload({ scheduler: client }, "2-worker local cluster");
  }
  const files = await archiveFiles();
  await parseThroughput(files);
  shutdownThreads();
  await memoryFlow(files);
}
