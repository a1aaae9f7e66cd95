import assert from "node:assert/strict";
import { RateLimitedLog } from "../../core/rate_limited_log.ts";

Deno.test("a rate-limited log writes a few lines per window and counts the rest", () => {
  const lines: string[] = [];
  let now = 0;
  const log = new RateLimitedLog(
    (line) => lines.push(line),
    { lines: 2, windowMs: 1000 },
    () => now,
  );
  for (let i = 0; i < 5; i++) log.log(`failure ${i}`);
  assert.deepEqual(lines, ["failure 0", "failure 1"]);
  now = 999;
  log.log("failure 5");
  assert.equal(lines.length, 2);
  now = 1000; // a new window: the held-back count first
  log.log("failure 6");
  assert.deepEqual(lines.slice(2), [
    "... 4 more like these in the last window were not shown",
    "failure 6",
  ]);
  now = 5000; // nothing held back: no count line
  log.log("failure 7");
  assert.deepEqual(lines.slice(4), ["failure 7"]);
});
