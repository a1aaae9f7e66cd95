import assert from "node:assert/strict";
import { isLogLines, RecentLines } from "../../core/recent_lines.ts";
import { workerMessageProblem } from "../../protocol/message_checks.ts";

Deno.test("recent lines travel once, newest kept, and say how many were dropped", () => {
  const lines = new RecentLines(3);
  lines.add("a", 1);
  lines.add("b", 2);
  assert.deepEqual(lines.take(), [[1, "a"], [2, "b"]]);
  assert.deepEqual(lines.take(), [], "taken lines are not sent again");
  for (let i = 0; i < 10; i++) lines.add(`line ${i}`, 10 + i);
  assert.deepEqual(lines.take(), [
    [17, "(7 earlier log lines dropped)"],
    [17, "line 7"],
    [18, "line 8"],
    [19, "line 9"],
  ]);
});

Deno.test("the scheduler's copy keeps a worker's newest lines", () => {
  const kept = new RecentLines(2);
  kept.addAll([[1, "a"], [2, "b"]]);
  kept.addAll([[3, "c"]]);
  assert.deepEqual(kept.toArray(), [[2, "b"], [3, "c"]]);
});

Deno.test("a heartbeat's logs must be [time, text] pairs and its transfers byte counts", () => {
  assert.ok(isLogLines([[1, "x"]]));
  assert.ok(!isLogLines([["x", 1]]));
  assert.ok(!isLogLines("x"));
  const heartbeat = { op: "heartbeat", metrics: { memory: 1 } };
  assert.equal(workerMessageProblem({ ...heartbeat, logs: [[1, "ok"]] }), null);
  assert.equal(workerMessageProblem(heartbeat), null);
  assert.match(
    workerMessageProblem({ ...heartbeat, logs: [[1]] }) ?? "",
    /logs are not \[time, text\]/,
  );
  const transfers = { peers: { "tcp://a:1": 10 }, types: { number: 10 } };
  assert.equal(workerMessageProblem({ ...heartbeat, transfers }), null);
  assert.match(
    workerMessageProblem({ ...heartbeat, transfers: { peers: { a: "10" }, types: {} } }) ?? "",
    /transfers are not \{peers, types\} byte counts/,
  );
});
