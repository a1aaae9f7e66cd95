import assert from "node:assert/strict";
import { delayed } from "../../collections/delayed.ts";
import { progress, ProgressDisplay, type Trackable } from "../../collections/progress.ts";

/** A task handle that ends when told to, like a Future. */
class Handle implements Trackable {
  status = "pending";
  #callbacks: (() => void)[] = [];
  constructor(readonly key: string) {}
  addDoneCallback(callback: () => void): void {
    if (this.status !== "pending") callback();
    else this.#callbacks.push(callback);
  }
  end(status: "finished" | "error"): void {
    this.status = status;
    for (const callback of this.#callbacks) callback();
  }
}

Deno.test("plain progress lines count per prefix, errors and the total", () => {
  const lines: string[] = [];
  const display = new ProgressDisplay({
    terminal: false,
    intervalMs: 0,
    write: (t) => lines.push(t),
  });
  display.expect(["inc-a1", "inc-b2", "add-c3"]);
  display.taskDone("inc-a1");
  display.taskDone("add-c3", true);
  display.taskDone("inc-b2");
  display.finish();
  assert.ok(lines.every((l) => l.endsWith("\n") && !l.includes("\r") && !l.includes("\x1b")));
  assert.match(lines[0], /^\[ 33%\] 1\/3 tasks \| inc 1\/2, add 0\/1 \| /);
  assert.match(lines.at(-1)!, /^\[100%\] 3\/3 tasks \| inc 2\/2, add 1\/1 \| 1 erred \| \d/);
});

Deno.test("terminal progress redraws its bars in place", () => {
  const out: string[] = [];
  const display = new ProgressDisplay({ terminal: true, intervalMs: 0, write: (t) => out.push(t) });
  display.expect(["load-1", "load-2", "sum-1"]);
  display.taskDone("load-1");
  display.taskDone("load-2");
  display.finish();
  assert.ok(!out[0].includes("\x1b[3F"), "the first picture starts where the cursor is");
  assert.ok(out[1].startsWith("\x1b[3F"), "later pictures go back up over the 3 lines");
  const last = display.barLines();
  assert.match(last[0], /^load {2}\[#{30}\] 100% 2\/2$/);
  assert.match(last[1], /^sum {3}\[-{30}\] {3}0% 0\/1$/);
  assert.match(last[2], /^2\/3 tasks \| /);
});

Deno.test("many prefixes are summed on one line", () => {
  const display = new ProgressDisplay({ terminal: true, intervalMs: 1e9, write: () => {} });
  display.expect(Array.from({ length: 20 }, (_, i) => `f${i}-x`));
  display.taskDone("f19-x");
  display.finish();
  const lines = display.barLines();
  assert.equal(lines.length, 13);
  assert.match(lines[11], /^\+9 more \[#{3}-{27}\] {2}11% 1\/9$/);
});

Deno.test("progress(futures) waits for every future and counts failures", async () => {
  const handles = [new Handle("inc-1"), new Handle("inc-2"), new Handle("div-3")];
  const lines: string[] = [];
  let settled = false;
  const watching = progress(handles, {
    terminal: false,
    intervalMs: 0,
    write: (t) => lines.push(t),
  })
    .then((items) => {
      settled = true;
      return items;
    });
  handles[0].end("finished");
  handles[2].end("error");
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(settled, false, "one future is still pending");
  handles[1].end("finished");
  assert.deepEqual(await watching, handles);
  assert.match(lines.at(-1)!, /3\/3 tasks \| inc 2\/2, div 1\/1 \| 1 erred/);
});

Deno.test("progress(lazy collection) computes it with a bar per prefix of its graph", async () => {
  const inc = (x: number) => x + 1;
  const add = (x: number, y: number) => x + y;
  const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
  const lines: string[] = [];
  const [persisted] = await progress(total, {
    scheduler: "sync",
    terminal: false,
    intervalMs: 0,
    write: (t) => lines.push(t),
  });
  assert.match(lines.at(-1)!, /^\[100%\] 3\/3 tasks \| (inc 2\/2, add 1\/1|add 1\/1, inc 2\/2)/);
  assert.equal(await persisted.compute({ scheduler: "sync" }), 5);
  await assert.rejects(progress([42 as never]), /progress\(\) takes futures and collections/);
});
