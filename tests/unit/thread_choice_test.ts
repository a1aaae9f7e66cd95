import assert from "node:assert/strict";
import { chooseThread } from "../../worker/thread_choice.ts";

Deno.test("an idle thread gets the next task even when its load estimate is not the least", () => {
  // thread 0 runs one long task estimated short; thread 1 has nothing in flight
  assert.equal(chooseThread([0.001, 0.002], [1, 0]), 1);
  assert.equal(chooseThread([0, 0], [0, 0]), 0);
  // every thread busy: the least expected work
  assert.equal(chooseThread([0.5, 0.002, 0.1], [1, 3, 1]), 1);
});
