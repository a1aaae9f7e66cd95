/** Which specs match a stored task, and which foreign keys an identity may join (co_ownership.ts). */
import assert from "node:assert/strict";
import { joinableTasks, sameTaskSpec } from "../../scheduler/co_ownership.ts";
import { SchedulerState } from "../../scheduler/state.ts";
import type { GraphTaskSpec } from "../../protocol/messages.ts";

const encoded = (...bytes: number[]) => ({ body: new Uint8Array(bytes), frames: [] });
const source = (text: string, origin?: object) => ({
  kind: "source",
  id: `id-${text}`,
  name: "f",
  source: text,
  ...(origin === undefined ? {} : { origin }),
});

/** The tasks of one graph, as a scheduler stores them. */
function stored(specs: GraphTaskSpec[]) {
  const s = new SchedulerState();
  s.handle({ type: "client-connected", client: "c", now: 1 });
  s.handle({
    type: "client-message",
    client: "c",
    msg: { op: "update-graph", tasks: specs, keys: specs.map((t) => t.key) },
    now: 2,
  });
  return s.tasks;
}

Deno.test("the same function, argument bytes and inputs match; where it was written does not count", () => {
  const x: GraphTaskSpec = { key: "x", fn: source("a => a + 1"), args: encoded(1, 2), deps: [] };
  const y: GraphTaskSpec = {
    key: "y",
    fn: { kind: "bound", id: "b", name: "g", factory: source("f"), fns: [source("h")] },
    args: encoded(3),
    deps: ["x"],
  };
  const tasks = stored([x, y]);
  const here = { url: "file:///a.ts", line: 1, column: 1 };
  const there = { url: "file:///b.ts", line: 9, column: 3 };
  assert.equal(sameTaskSpec(tasks.get("x")!, { ...x, fn: source("a => a + 1", there) }), true);
  assert.equal(sameTaskSpec(tasks.get("x")!, { ...x, args: encoded(1, 2) }), true);
  assert.equal(
    sameTaskSpec(tasks.get("y")!, {
      ...y,
      fn: { kind: "bound", id: "b", name: "g", factory: source("f", here), fns: [source("h")] },
    }),
    true,
  );
  assert.equal(sameTaskSpec(tasks.get("y")!, { ...y, deps: ["x", "x"] }), true);
  // anything that changes what runs does
  assert.equal(sameTaskSpec(tasks.get("x")!, { ...x, fn: source("a => a + 2") }), false);
  assert.equal(sameTaskSpec(tasks.get("x")!, { ...x, fn: "id-a => a + 1" }), false);
  assert.equal(sameTaskSpec(tasks.get("x")!, { ...x, args: encoded(1, 3) }), false);
  assert.equal(sameTaskSpec(tasks.get("x")!, { ...x, args: encoded(1, 2, 0) }), false);
  assert.equal(sameTaskSpec(tasks.get("y")!, { ...y, deps: [] }), false);
  assert.equal(sameTaskSpec(tasks.get("y")!, { ...y, deps: ["x", "z"] }), false);
  assert.equal(
    sameTaskSpec(tasks.get("y")!, {
      ...y,
      fn: { kind: "bound", id: "b", name: "g", factory: source("f"), fns: [source("evil")] },
    }),
    false,
  );
  // nesting too deep to compare is not the same (and does not exhaust the stack)
  const nested = () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = { d: deep };
    return deep;
  };
  const deepTasks = stored([{ key: "d", fn: null, args: nested(), deps: [] }]);
  const deep = nested(); // equal, but another object: compared level by level
  assert.equal(
    sameTaskSpec(deepTasks.get("d")!, { key: "d", fn: null, args: deep, deps: [] }),
    false,
  );
});

Deno.test("a foreign key is joinable with its whole lineage only, along a long chain too", () => {
  const n = 10_000;
  const specs: GraphTaskSpec[] = Array.from({ length: n }, (_, i) => ({
    key: `k${i}`,
    fn: null,
    args: i,
    deps: i === 0 ? [] : [`k${i - 1}`],
  }));
  const tasks = stored(specs);
  const all = new Set(tasks.values());
  assert.equal(joinableTasks(all, () => false).size, n);
  // without its root among the candidates (nor readable), nothing above it joins
  const withoutRoot = new Set([...all].filter((t) => t.key !== "k0"));
  assert.equal(joinableTasks(withoutRoot, () => false).size, 0);
  // a readable root is enough
  assert.equal(joinableTasks(withoutRoot, (t) => t.key === "k0").size, n - 1);
  // a break in the middle: only what is below it joins
  const broken = new Set([...all].filter((t) => t.key !== "k5000"));
  assert.equal(joinableTasks(broken, () => false).size, 5000);
});
