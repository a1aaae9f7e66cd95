// A task thread keeps the tables its tasks return (threads/live_tables.ts): a later task on the
// same thread gets the very table, not a copy decoded from Arrow IPC; the cache is bounded in
// bytes, least recently used out first, and forgets released keys.
import assert from "node:assert/strict";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as dd from "../../collections/dataframe/mod.ts";
import { pl } from "../../collections/dataframe/polars.ts";
import { compute, delayed } from "../../mod.ts";
import { liveTableBytes, LiveTables } from "../../threads/live_tables.ts";

Deno.test("LiveTables: bounded in bytes, least recently used out first, released keys go", () => {
  const live = new LiveTables(100);
  assert.ok(live.keep("a", "A", 40));
  assert.ok(live.keep("b", "B", 40));
  assert.equal(live.take("a"), "A"); // a is now the most recently used
  assert.ok(live.keep("c", "C", 40)); // pushes out b
  assert.equal(live.take("b"), undefined);
  assert.equal(live.take("a"), "A");
  assert.equal(live.bytes, 80);
  assert.equal(live.keep("big", "X", 101), false);
  assert.equal(live.size, 2);
  live.keep("c", "C2", 10); // a key kept again replaces its old entry
  assert.equal(live.bytes, 50);
  live.release(["a", "c", "never"]);
  assert.equal(live.size, 0);
  assert.equal(live.bytes, 0);
});

Deno.test("liveTableBytes: tables, lists of tables and lists of such lists only", () => {
  const frame = pl.DataFrame({ x: [1, 2, 3], s: ["a", "bb", null] });
  const bytes = liveTableBytes(frame)!;
  assert.ok(bytes >= 24, `${bytes} bytes`);
  assert.equal(liveTableBytes([frame, frame]), 2 * bytes);
  assert.equal(liveTableBytes(frame.getColumn("x")), 24);
  assert.equal(liveTableBytes([frame, 1]), undefined);
  // a join's split: each output's piece is a list of sub-pieces
  assert.equal(liveTableBytes([[frame, frame], [frame]]), 3 * bytes);
  assert.equal(liveTableBytes([[frame], [1]]), undefined);
  assert.equal(liveTableBytes([[[frame]]]), undefined);
  assert.equal(liveTableBytes([]), undefined);
  assert.equal(liveTableBytes({ x: 1 }), undefined);
  assert.equal(liveTableBytes(new Float64Array(3)), undefined);
});

Deno.test("threads: a task's table reaches the next task on its thread without a copy", async () => {
  try {
    const df = dd.fromRecords([{ x: 1 }, { x: 2 }, { x: null }], { npartitions: 1 })
      .mapPartitions((frame) => {
        (globalThis as { liveTest?: unknown }).liveTest = frame;
        return frame;
      });
    const [part] = df.toDelayed();
    const same = delayed((frame: unknown) =>
      frame === (globalThis as { liveTest?: unknown }).liveTest
    )(part);
    const height = delayed((frame: { height: number }) => frame.height)(part);
    // two consumers (so the chain is not fused into one task), one thread: both run where the
    // partition was made, and both get the table itself
    const [isSame, rows] = await compute(same, height, { scheduler: "threads", numWorkers: 1 });
    assert.equal(isSame, true);
    assert.equal(rows, 3);
  } finally {
    shutdownThreads();
  }
});
