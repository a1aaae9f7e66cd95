import assert from "node:assert/strict";
import parsePrometheusTextFormat from "npm:parse-prometheus-text-format@^1";
import { SchedulerState } from "../../scheduler/state.ts";
import { LoopLag } from "../../scheduler/dashboard/loop_lag.ts";
import { prometheusText } from "../../scheduler/dashboard/metrics.ts";

/** A sample line of the text format: name, optional labels, a float value. */
const SAMPLE =
  /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{([a-zA-Z_][a-zA-Z0-9_]*="([^"\\\n]|\\[\\n"])*",?)*\})? (NaN|[+-]Inf|-?[0-9.e+-]+)$/;

function busyState(): SchedulerState {
  const state = new SchedulerState();
  state.handle({
    type: "worker-added",
    worker: { address: "tcp://127.0.0.1:1", name: 'w"1\\', nthreads: 2, memoryLimit: 1e9 },
    now: 1,
  });
  state.handle({ type: "client-connected", client: "Client-1", now: 1 });
  state.handle({
    type: "client-message",
    client: "Client-1",
    msg: {
      op: "update-graph",
      tasks: [
        { key: "inc-1", fn: {}, args: null, deps: [] },
        { key: "inc-2", fn: {}, args: null, deps: [] },
        { key: "sum-1", fn: {}, args: null, deps: ["inc-1", "inc-2"] },
      ],
      keys: ["sum-1"],
    },
    now: 1,
  });
  state.handle({
    type: "worker-message",
    worker: "tcp://127.0.0.1:1",
    msg: {
      op: "task-finished",
      key: "inc-1",
      runId: state.tasks.get("inc-1")!.runId,
      nbytes: 800,
      typeName: "number",
      start: 1,
      stop: 1.25,
      thread: 0,
    },
    now: 2,
  });
  state.handle({
    type: "worker-message",
    worker: "tcp://127.0.0.1:1",
    msg: { op: "heartbeat", metrics: { spilled: 4096, inFlight: 3 } },
    now: 2,
  });
  return state;
}

Deno.test("/metrics text follows the Prometheus exposition format", () => {
  const lag = new LoopLag();
  lag.record(200, 260);
  const text = prometheusText(busyState(), lag);
  assert.ok(text.endsWith("\n"), "the exposition ends with a newline");
  for (const line of text.trimEnd().split("\n")) {
    if (line.startsWith("# HELP ") || line.startsWith("# TYPE ")) continue;
    assert.match(line, SAMPLE, `not a valid sample line: ${line}`);
  }
  const families = parsePrometheusTextFormat(text) as {
    name: string;
    type: string;
    metrics: { value: string; labels?: Record<string, string> }[];
  }[];
  const byName = new Map(families.map((f) => [f.name, f]));
  const tasks = byName.get("dask_scheduler_tasks")!;
  assert.equal(tasks.type, "GAUGE");
  const count = (state: string) =>
    Number(tasks.metrics.find((m) => m.labels?.state === state)?.value);
  assert.equal(count("memory"), 1);
  assert.equal(count("processing"), 1);
  assert.equal(count("waiting"), 1);
  assert.equal(Number(byName.get("dask_scheduler_workers")!.metrics[0].value), 1);
  assert.equal(Number(byName.get("dask_scheduler_memory_bytes")!.metrics[0].value), 800);
  assert.equal(Number(byName.get("dask_scheduler_spilled_bytes")!.metrics[0].value), 4096);
  assert.equal(Number(byName.get("dask_scheduler_transfers_in_flight")!.metrics[0].value), 3);
  assert.ok(
    Math.abs(Number(byName.get("dask_scheduler_event_loop_lag_seconds")!.metrics[0].value) - 0.06) <
      1e-9,
  );
  const finished = byName.get("dask_scheduler_tasks_finished_total")!;
  assert.equal(finished.type, "COUNTER");
  assert.equal(
    Number(finished.metrics.find((m) => m.labels?.task_prefix_name === "inc")?.value),
    1,
  );
  // Every family is declared once.
  const typeLines = text.split("\n").filter((l) => l.startsWith("# TYPE "));
  assert.equal(new Set(typeLines).size, typeLines.length);
});
