import assert from "node:assert/strict";
import { SharedPools } from "../../collections/local/shared_pool.ts";
import type { TaskPool } from "../../threads/task_pool.ts";

/** A pool that records what the shared pool asks of it (no runners: nothing is posted). */
function recordingPools(idleMs: number) {
  const events: string[] = [];
  const pools = new SharedPools((size) => {
    events.push(`start ${size}`);
    const pool = {
      closed: false,
      setBusy: (busy: boolean) => events.push(busy ? "busy" : "idle"),
      close: () => {
        pool.closed = true;
        events.push("close");
      },
    };
    return pool as unknown as TaskPool;
  }, idleMs);
  return { pools, events };
}

Deno.test("hold starts the pool at once and keeps it until released, then it idles out", async () => {
  const { pools, events } = recordingPools(10);
  const release = pools.hold(3);
  assert.deepEqual(events, ["start 3", "busy"]);
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(events, ["start 3", "busy"], "a held pool does not idle out");
  assert.equal(pools.get(3), pools.get(3), "the run that follows gets the held pool");
  release();
  release(); // a second call changes nothing
  await new Promise((r) => setTimeout(r, 40));
  assert.deepEqual(events, ["start 3", "busy", "idle", "close"]);
});

Deno.test("a runner holding one short item takes a second; a long item runs with none behind", () => {
  const { pools } = recordingPools(10);
  const shared = pools.get(2);
  const sink = { abandoned: false } as unknown as Parameters<typeof shared.register>[1];
  // 10 ms of estimated work: more than a batch, short all the same
  shared.register(0, sink, 10);
  assert.equal(shared.hasRoom(0), true, "the next item waits queued, not for a round trip");
  shared.register(0, sink, 10);
  assert.equal(shared.hasRoom(0), false, "two items are enough to keep the runner busy");
  // a long item: nothing queues behind it while the other runner may be free
  shared.register(1, sink, 500);
  assert.equal(shared.hasRoom(1), false);
  assert.equal(shared.leastLoaded(), -1);
  pools.closeAll();
});
