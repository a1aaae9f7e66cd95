import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { eventTasks } from "../fixtures/event_tasks.ts";

Deno.test("getTaskStream and the taskStream recorder report the runs of real workers", async () => {
  await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
  await client.gather(client.map((x: number) => x + 1, [1, 2, 3]));
  const before = Date.now() / 1000;

  const ts = await client.taskStream();
  {
    await using _ = ts;
    const doubled = client.map((x: number) => x * 2, [1, 2, 3, 4, 5]);
    const failing = client.submit((x: number) => {
      if (x > 0) throw new Error("no");
      return x;
    }, 1);
    await client.gather(doubled);
    await assert.rejects(() => failing.result(), /no/);
  }
  // only what ran in scope: the five doubles and the failure, not the earlier three
  assert.equal(ts.data.length, 6);
  assert.equal(ts.data.filter((e) => e.status === "erred").length, 1);
  const workers = new Set((await client.workers()).map((w) => w.address));
  for (const entry of ts.data) {
    assert.ok(workers.has(entry.worker), `${entry.worker} is one of the workers`);
    assert.ok(entry.stop >= entry.start);
  }

  const all = await client.getTaskStream();
  assert.equal(all.length, 9);
  assert.equal((await client.getTaskStream({ count: 2 })).length, 2);
  assert.deepEqual(
    (await client.getTaskStream({ count: 2 })).map((e) => e.key),
    all.slice(-2).map((e) => e.key),
  );
  const recent = await client.getTaskStream({ start: before });
  assert.equal(recent.length, 6, "start keeps the runs that ended after it");
  assert.equal((await client.getTaskStream({ stop: before - 3600 })).length, 0);
  await assert.rejects(() => client.getTaskStream({ count: -1 }), /count must be/);
});

Deno.test("logEvent and getEvents share structured events between clients of one scheduler", async () => {
  await using client = await Client.local({ nWorkers: 1, threadsPerWorker: 1 });
  await using other = await Client.connect(client.schedulerAddress, { setAsDefault: false });
  const before = Date.now() / 1000;
  await client.logEvent("etl", { stage: "loaded", rows: 1000 });
  await client.logEvent(["etl", "audit"], "done");
  const etl = await other.getEvents("etl");
  assert.deepEqual(etl.map(([, msg]) => msg), [{ stage: "loaded", rows: 1000 }, "done"]);
  assert.ok(etl[0][0] >= before - 1, "each message carries the time it was logged");
  assert.deepEqual((await other.getEvents("audit")).map(([, msg]) => msg), ["done"]);
  assert.deepEqual(await other.getEvents("never-logged"), []);
  const all = await other.getEvents();
  assert.deepEqual(Object.keys(all).sort(), ["audit", "etl"]);
  await assert.rejects(() => client.logEvent("", "x"), /topic/);

  // from inside a task, through getClient()
  assert.equal(await client.submit(eventTasks.logFromTask, "from-task", 7), 7);
  assert.deepEqual((await client.getEvents("from-task")).map(([, msg]) => msg), [{
    from: "task",
    x: 7,
  }]);
});
