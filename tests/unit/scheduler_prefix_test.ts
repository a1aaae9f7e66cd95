import assert from "node:assert/strict";
import { keyPrefix } from "../../core/task.ts";
import { hasKeyPrefix } from "../../scheduler/task_prefix_stats.ts";

Deno.test("hasKeyPrefix is true only where keyPrefix gives that prefix, and for name-number keys", () => {
  const keys = [
    "map-1",
    "map-12",
    "map",
    "map-",
    "-map",
    "-map-1",
    "sum-3-17",
    "sum-3",
    "sum-3-1[2]",
    "map-1[2-3]",
    "map-a-b[1]",
    "x[1]",
    "x-2",
    "x[1-2]-3",
    "inc-ffe-000000000001",
    "('sum', 0, 1)",
    "a--b",
    "a-",
    "",
  ];
  for (const earlier of keys) {
    const prefix = keyPrefix(earlier);
    for (const key of keys) {
      if (hasKeyPrefix(key, prefix)) {
        assert.equal(keyPrefix(key), prefix, `${JSON.stringify(key)} has not ${prefix}`);
      }
    }
  }
  // the common case is found without keyPrefix
  for (const [key, prefix] of [["map-12", "map"], ["sum-3-17", "sum-3"], ["map-1[2-3]", "map"]]) {
    assert.ok(hasKeyPrefix(key, prefix), key);
  }
  assert.ok(!hasKeyPrefix("sum-3-17", "sum"));
  assert.ok(!hasKeyPrefix("mapx-1", "map"));
});
