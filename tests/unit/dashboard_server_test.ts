import assert from "node:assert/strict";
import { SchedulerState } from "../../scheduler/state.ts";
import { startDashboard } from "../../scheduler/dashboard/mod.ts";

const WORKER = "tcp://127.0.0.1:1";

function cluster(): SchedulerState {
  const state = new SchedulerState();
  state.handle({ type: "worker-added", worker: { address: WORKER, nthreads: 1 }, now: 1 });
  state.handle({
    type: "client-message",
    client: "Client-1",
    msg: {
      op: "update-graph",
      tasks: [{ key: "inc-1", fn: {}, args: null, deps: [] }],
      keys: ["inc-1"],
    },
    now: 1,
  });
  return state;
}

/** Reads server-sent events from a response body until `until` accepts one. */
async function readEvents(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  until: (event: string, data: { [k: string]: unknown }) => boolean,
): Promise<void> {
  const decoder = new TextDecoder();
  let buffer = "";
  while (true) {
    const { value, done } = await reader.read();
    if (done) throw new Error("the event stream ended");
    buffer += decoder.decode(value, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const event = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (event !== "update" || data === undefined) continue;
      // one message per push, its parts in the order a page applies them
      for (const [name, part] of JSON.parse(data).parts) if (until(name, part)) return;
    }
  }
}

Deno.test("the dashboard serves pages, assets, health, metrics and JSON", async () => {
  const state = cluster();
  const dashboard = await startDashboard({
    state,
    hostname: "127.0.0.1",
    port: 0,
    schedulerAddress: "tcp://127.0.0.1:8786",
  });
  try {
    assert.equal(dashboard.url, `http://127.0.0.1:${dashboard.port}/status`);
    const base = `http://127.0.0.1:${dashboard.port}`;
    const get = (path: string) => fetch(base + path);

    const health = await get("/health");
    assert.equal(await health.text(), "ok");
    const page = await get("/graph");
    assert.match(page.headers.get("content-type")!, /text\/html/);
    assert.match(await page.text(), /<script type="module" src="\/assets\/app.js">/);
    const js = await get("/assets/task_stream.js");
    assert.match(js.headers.get("content-type")!, /javascript/);
    const taskStreamJs = await js.text();
    assert.match(taskStreamJs, /export class TaskStream/);
    // The page imports the shared display modules relative to itself; a browser resolves that
    // against /assets/ to /core/display/, where the dashboard serves them.
    const displayImport = taskStreamJs.match(/from "(\.\.\/[^"]*format\.js)"/)![1];
    const format = await get(new URL(displayImport, `${base}/assets/task_stream.js`).pathname);
    assert.equal(format.status, 200);
    assert.match(await format.text(), /export function formatBytes/);
    const metrics = await get("/metrics");
    assert.match(metrics.headers.get("content-type")!, /^text\/plain; version=0\.0\.4/);
    assert.match(await metrics.text(), /^dask_scheduler_tasks\{state="processing"\} 1$/m);

    const status = await (await get("/api/v1/status")).json();
    assert.deepEqual(status.prefixes.map((p: { name: string }) => p.name), ["inc"]);
    const workers = await (await get("/api/v1/workers")).json();
    assert.equal(workers.workers[0].address, WORKER);
    const graph = await (await get("/api/v1/graph")).json();
    assert.deepEqual(graph.nodes, [["inc-1", 0]]);
    const info = await (await get("/api/v1/info")).json();
    assert.equal(info.scheduler.address, "tcp://127.0.0.1:8786");
    const missing = await get("/api/v1/nothing");
    assert.equal(missing.status, 404);
    assert.match((await missing.json()).error, /see \/api\/v1/);
    const badView = await get("/api/v1/live?views=status,bogus");
    assert.equal(badView.status, 400);
    await badView.body?.cancel();

    state.handle({
      type: "worker-message",
      worker: WORKER,
      msg: {
        op: "task-finished",
        key: "inc-1",
        runId: state.tasks.get("inc-1")!.runId,
        nbytes: 8,
        typeName: "number",
        start: 1,
        stop: 2,
        thread: 0,
      },
      now: 2,
    });
    const stream = await (await get("/api/v1/task-stream?since=0")).json();
    assert.deepEqual(stream.entries.map((e: unknown[]) => e[0]), ["inc-1"]);
    assert.equal(stream.total, 1);
    const later = await (await get("/api/v1/task-stream?since=1")).json();
    assert.equal(later.entries.length, 0);

    // The Task page's story: every transition of the key, with what caused it.
    assert.match(await (await get("/task")).text(), /id="task-story"/);
    assert.match(await (await get("/assets/task_page.js")).text(), /export class TaskPage/);
    const story = await (await get("/api/v1/story?key=inc-1")).json();
    assert.deepEqual(
      story.transitions.map((t: { finish: string }) => t.finish).slice(-2),
      ["processing", "memory"],
    );
    assert.match(story.transitions.at(-1).stimulus, /^task-finished-2$/);
    assert.equal(story.transitions.at(-1).worker, WORKER);
    const noKey = await get("/api/v1/story");
    assert.equal(noKey.status, 400);
    await noKey.body?.cancel();

    // A worker's page: its row, its threads' last runs, its logs (from its heartbeats).
    state.handle({
      type: "worker-message",
      worker: WORKER,
      msg: { op: "heartbeat", metrics: { memory: 8 }, logs: [[1.5, "something to say"]] },
      now: 3,
    });
    const one = await (await get(`/api/v1/worker?address=${encodeURIComponent(WORKER)}`)).json();
    assert.equal(one.worker.address, WORKER);
    assert.equal(one.threads[0].last.key, "inc-1");
    assert.equal(one.threads[0].runs, 1);
    assert.deepEqual(one.logs, [[1.5, "something to say"]]);
    const unknown = await get("/api/v1/worker?address=tcp://nowhere:1");
    assert.equal(unknown.status, 404);
    assert.match((await unknown.json()).error, /No worker at tcp:\/\/nowhere:1/);
    const profile = await (await get("/api/v1/profile?start=0&stop=10")).json();
    assert.equal(profile.root.children.inc.count, 1, "inc-1 ran from 1 to 2");
    const backwards = await get("/api/v1/profile?start=10&stop=0");
    assert.equal(backwards.status, 400);
    assert.match((await backwards.json()).error, /start before stop/);
    const noAddress = await get("/api/v1/worker");
    assert.equal(noAddress.status, 400);
    await noAddress.body?.cancel();
  } finally {
    await dashboard.close();
  }
});

Deno.test("an open page hears of a finished task on the stream it keeps open", async () => {
  const state = cluster();
  const dashboard = await startDashboard({
    state,
    hostname: "127.0.0.1",
    port: 0,
    schedulerAddress: "tcp://127.0.0.1:8786",
  });
  try {
    const response = await fetch(`http://127.0.0.1:${dashboard.port}/api/v1/live?views=status`);
    assert.match(response.headers.get("content-type")!, /text\/event-stream/);
    const reader = response.body!.getReader();
    await readEvents(reader, (event) => event === "tasks");
    state.handle({
      type: "worker-message",
      worker: WORKER,
      msg: {
        op: "task-finished",
        key: "inc-1",
        runId: state.tasks.get("inc-1")!.runId,
        nbytes: 8,
        typeName: "number",
        start: 1,
        stop: 2,
        thread: 0,
      },
      now: 2,
    });
    // The change is pushed on the same stream: the page neither polls nor reconnects.
    await readEvents(reader, (event, data) => event === "tasks" && data.total === 1);
    // close() ends open streams rather than waiting for pages to leave.
    await dashboard.close();
    assert.equal((await reader.read()).done, true);
  } finally {
    await dashboard.close();
  }
});

Deno.test("a taken port falls back to a free one, or fails when asked to", async () => {
  const state = new SchedulerState();
  const first = await startDashboard({
    state,
    hostname: "127.0.0.1",
    port: 0,
    schedulerAddress: "tcp://127.0.0.1:8786",
  });
  const warn = console.warn;
  const warnings: string[] = [];
  console.warn = (message: string) => warnings.push(message);
  try {
    const second = await startDashboard({
      state,
      hostname: "127.0.0.1",
      port: first.port,
      schedulerAddress: "tcp://127.0.0.1:8786",
    });
    assert.notEqual(second.port, first.port);
    assert.match(warnings[0], /already in use/);
    await second.close();
    await assert.rejects(
      startDashboard({
        state,
        hostname: "127.0.0.1",
        port: first.port,
        schedulerAddress: "tcp://127.0.0.1:8786",
        onPortInUse: "fail",
      }),
      /--no-dashboard/,
    );
  } finally {
    console.warn = warn;
    await first.close();
  }
});

Deno.test("a wildcard listener advertises the scheduler's host", async () => {
  const dashboard = await startDashboard({
    state: new SchedulerState(),
    hostname: "0.0.0.0",
    port: 0,
    schedulerAddress: "tcp://192.0.2.7:8786",
  });
  await dashboard.close();
  assert.equal(dashboard.url, `http://192.0.2.7:${dashboard.port}/status`);
});
