import assert from "node:assert/strict";
import { MultiLocks } from "../../scheduler/coordination/multi_locks.ts";

Deno.test("MultiLocks: a request waits for all its locks; later requests queue behind it", () => {
  const locks = new MultiLocks();
  const woken: string[] = [];
  assert.equal(locks.request("a", ["x"], 1, "c1"), true);
  // b wants x and y: y is free, x is a's; b waits, first in line at both
  assert.equal(locks.request("b", ["x", "y"], 2, "c2"), false);
  locks.whenGranted("b", () => woken.push("b"));
  // c wants only y: it is behind b there (fair order), though y is not held by anyone yet
  assert.equal(locks.request("c", ["y"], 1, "c3"), false);
  locks.whenGranted("c", () => woken.push("c"));
  assert.equal(locks.release("a"), true);
  assert.deepEqual(woken, ["b"]);
  assert.equal(locks.granted("b"), true);
  locks.release("b");
  assert.deepEqual(woken, ["b", "c"]);
  assert.equal(locks.release("a"), false); // twice: nothing held
});

Deno.test("MultiLocks: numLocks takes the free ones; a request given up passes its places on", () => {
  const locks = new MultiLocks();
  assert.equal(locks.request("a", ["x"], 1, "c1"), true);
  assert.equal(locks.request("b", ["x", "y"], 1, "c2"), true); // y was free
  assert.equal(locks.request("c", ["x", "y"], 2, "c3"), false);
  let granted = false;
  locks.whenGranted("c", () => granted = true);
  assert.equal(locks.request("d", ["x"], 1, "c4"), false);
  // c times out: d is next at x
  locks.release("c");
  let dGranted = false;
  locks.whenGranted("d", () => dGranted = true);
  locks.releaseHolder("c1"); // a's client left
  assert.equal(dGranted, true);
  assert.equal(granted, false);
  assert.throws(() => locks.request("e", ["x"], 2, "c5"), /numLocks 2 is more than/);
  assert.throws(() => locks.request("f", [], 1, "c5"), /at least one lock name/);
});
