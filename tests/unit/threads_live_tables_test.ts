/**
 * On the local `threads` scheduler a dataframe partition stays a Polars frame in the thread that
 * made it (collections/local/live_results.ts): it is encoded only when it moves — to a task on
 * another thread, or to the caller — and freed on its thread once its last reader ran. Real
 * threads, real Polars frames: results equal `sync`'s, a chain on one thread converts only its
 * final result, a table read on another thread moves there once for all its readers, no thread
 * keeps a table after a computation, and a thread that dies holding a table a computation still
 * needs fails that computation with an error naming the table.
 */

import assert from "node:assert/strict";
import { threadsExecutor, threadsTables } from "../../collections/local/threads.ts";
import * as dd from "../../collections/dataframe/mod.ts";
import { compute, delayed } from "../../mod.ts";
import { frameTasks } from "../fixtures/frame_tasks.ts";

type Frame = dd.Frame;

/** Holds the `threads` pool of `size` for the test (an idle pool stops, its counters with it). */
function holdPool(size: number): () => void {
  return threadsExecutor.prepare!({ numWorkers: size });
}

/** Tables the pool's threads hold now, and their bytes, summed over the threads. */
async function liveNow(size: number): Promise<{ tables: number; bytes: number }> {
  const stats = await threadsTables(size);
  assert.ok(stats !== null, "the pool runs");
  let tables = 0, bytes = 0;
  for (const answer of stats.threads) {
    assert.ok(answer !== null, "every thread answers");
    tables += answer.tables;
    bytes += answer.pinnedBytes + answer.cachedBytes;
  }
  return { tables, bytes };
}

async function conversions(size: number): Promise<number> {
  return (await threadsTables(size))!.conversions;
}

/** A CSV of `n` rows in a temp dir (two files): row id, key, group, value, flag. */
async function writeCsv(dir: string, n: number): Promise<void> {
  let s = 7;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let f = 0; f < 2; f++) {
    const lines = ["i,k,g,v,flag"];
    for (let i = 0; i < n / 2; i++) {
      const v = rand() < 0.05 ? "" : (Math.round(rand() * 10000) / 100).toString();
      const row = `${Math.floor(rand() * 40)},g${Math.floor(rand() * 7)},${v},${rand() < 0.3}`;
      lines.push(`${f * n + i},${row}`);
    }
    await Deno.writeTextFile(`${dir}/part-${f}.csv`, lines.join("\n") + "\n");
  }
}

/** read_csv → filter → groupby → merge → sortValues, computed on `scheduler`. */
async function pipeline(dir: string, scheduler: "sync" | "threads"): Promise<unknown[]> {
  const df = dd.readCsv(`${dir}/*.csv`, { blocksize: 4000, dtype: { flag: "bool" } });
  const kept = df.filter(df.col("flag").not());
  const means = kept.groupby("k", { splitOut: 2 }).col("v").mean().rename({ v: "v_mean" });
  const counts = kept.groupby("g").size().rename({ size: "n" });
  const joined = kept.merge(means, { on: "k" }).merge(counts, { on: "g" });
  // row ids make the order total: the result must be equal row for row
  const sorted = await joined.sortValues(["v", "i"], { scheduler, npartitions: 3 });
  return (await sorted.compute({ scheduler, numWorkers: 2 })).toRecords();
}

Deno.test("threads: a dataframe pipeline with live partitions gives sync's result, and leaves no table", async () => {
  const dir = await Deno.makeTempDir();
  const release = holdPool(2);
  try {
    await writeCsv(dir, 3000);
    const expected = await pipeline(dir, "sync");
    assert.ok(expected.length > 1000, `${expected.length} rows`);
    assert.deepEqual(await pipeline(dir, "threads"), expected);
    // every table of the computation was freed on its thread (outputs' cached copies too)
    assert.deepEqual(await liveNow(2), { tables: 0, bytes: 0 });
  } finally {
    release();
    await Deno.remove(dir, { recursive: true });
  }
});

/** One partition read by a task from a CSV file of `n` rows `x = (i * 7919) % n`. */
async function csvPartition(dir: string, n: number) {
  const lines = ["x,y", ...Array.from({ length: n }, (_, i) => `${(i * 7919) % n},${i % 3}`)];
  await Deno.writeTextFile(`${dir}/part.csv`, lines.join("\n") + "\n");
  const [part] = dd.readCsv(`${dir}/part.csv`).toDelayed();
  return part;
}

Deno.test("threads: a chain of dataframe tasks on one thread converts only its final result", async () => {
  const dir = await Deno.makeTempDir();
  const release = holdPool(1);
  try {
    const part = await csvPartition(dir, 300);
    // two readers of the partition and one of both: no step fuses with another
    const sorted = delayed((f: Frame) => f.sort("x"))(part);
    const reversed = delayed((f: Frame) => f.reverse())(part);
    const both = delayed((a: Frame, b: Frame) => a.head(3).vstack(b.head(2)))(sorted, reversed);
    await compute(delayed((f: Frame) => f.height)(part), { scheduler: "threads", numWorkers: 1 });
    const before = await conversions(1);
    const [out] = await compute(both, { scheduler: "threads", numWorkers: 1 });
    // four table results (the partition, two steps, their join): only the last moved
    assert.equal(await conversions(1) - before, 1);
    assert.deepEqual(out.getColumn("x").toArray(), [
      0,
      1,
      2,
      (299 * 7919) % 300,
      (298 * 7919) % 300,
    ]);
    assert.deepEqual(await liveNow(1), { tables: 0, bytes: 0 });
  } finally {
    release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("threads: a table read by tasks on another thread is exported once", async () => {
  const dir = await Deno.makeTempDir();
  const release = holdPool(2);
  try {
    const part = await csvPartition(dir, 200);
    // both threads load Polars first (two partitions: one per idle thread), so that the partition
    // below is read at once, well before \`late\` ends
    await Deno.mkdir(`${dir}/warm`);
    for (const i of [0, 1]) await Deno.writeTextFile(`${dir}/warm/${i}.csv`, "x\n1\n2\n");
    const warm = dd.readCsv(`${dir}/warm/*.csv`);
    assert.equal(await warm.length().compute({ scheduler: "threads", numWorkers: 2 }), 4);
    // a task that keeps its thread busy (its duration learned first: the pool then sees that
    // thread as busy for ~2 s and places the readers on the other one). The margins are wide so
    // that a loaded machine's delays (a slow read, a late timer) do not change where the readers
    // go: with 800 / 400 ms this test failed 3 times in 12 at load ~13
    const hog = delayed((_: unknown) => {
      const end = Date.now() + 2000;
      while (Date.now() < end) { /* busy */ }
      return 0;
    }, { name: "hog" });
    await compute(hog(0), { scheduler: "threads", numWorkers: 2 });
    // the readers are ready only once `late` ran (1 s), while `hog` holds the partition's thread
    const late = delayed(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return 1;
    }, { name: "late" })();
    const busy = hog(part);
    const first = delayed(frameTasks.heightPlus)(part, late);
    const second = delayed(frameTasks.twiceHeightPlus)(part, late);
    const before = (await threadsTables(2))!.exports;
    const out = await compute(first, second, busy, { scheduler: "threads", numWorkers: 2 });
    assert.deepEqual(out, [201, 401, 0]);
    // the readers went to the free thread: the partition moved there once, for both
    assert.equal((await threadsTables(2))!.exports - before, 1);
    assert.deepEqual(await liveNow(2), { tables: 0, bytes: 0 });
  } finally {
    release();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("threads: a thread that dies holding a needed table fails the computation, naming it", async () => {
  const dir = await Deno.makeTempDir();
  const release = holdPool(1);
  try {
    const part = await csvPartition(dir, 50);
    const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    // (task names of their own: the pool's duration estimates of earlier tasks do not apply)
    const slow = delayed(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      return 1;
    }, { name: "slow-gate" })();
    const first = delayed((f: Frame, s: number) => f.height + s)(part, slow);
    const second = delayed((f: Frame, s: number) => f.height - s)(part, slow);
    const running = compute(first, second, { scheduler: "threads", numWorkers: 1 });
    // another computation's task ends the one thread while the partition waits for its readers
    await wait(300);
    const exiting = delayed(() => Deno.exit(3), { name: "exiting" })();
    await assert.rejects(compute(exiting, { scheduler: "threads", numWorkers: 1 }), /Deno.exit/);
    await assert.rejects(running, (error: Error) => {
      assert.match(
        error.message,
        /Thread 0 of the threads scheduler ended \(the task called Deno.exit\(3\)\)/,
      );
      assert.match(error.message, /only copy of 1 result this computation still needs \('readCsv-/);
      assert.match(error.message, /Run the computation again/);
      return true;
    });
    // the pool goes on: a new computation runs on the new thread
    const [rows] = await compute(delayed((f: Frame) => f.height)(part), {
      scheduler: "threads",
      numWorkers: 1,
    });
    assert.equal(rows, 50);
  } finally {
    release();
    await Deno.remove(dir, { recursive: true });
  }
});
