import assert from "node:assert/strict";
import { ThreadLoads } from "../../worker/thread_loads.ts";

Deno.test("an idle thread gets the next task even when its load estimate is not the least", () => {
  const threads = new ThreadLoads(2);
  // thread 0 runs one task estimated short (it may run far longer)
  assert.equal(threads.assign(0.001), 0);
  // thread 1 has nothing in flight: it is chosen although thread 0's estimate is smaller
  assert.equal(threads.assign(0.002), 1);
  // every thread busy: the least expected work decides
  assert.equal(threads.assign(0.5), 0);
  assert.deepEqual(threads.loads, [0.501, 0.002]);
  // thread 1's task is over: it is idle again and takes the next task
  threads.release(1, 0.002, false);
  assert.equal(threads.assign(5), 1);
});
