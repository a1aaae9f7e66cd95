/**
 * `/metrics`: the scheduler in the Prometheus text exposition format (version 0.0.4). Metric
 * names follow Dask's (`dask_scheduler_*`) so existing dashboards and alerts carry over.
 * O(prefixes + workers).
 *
 * @module
 */

import { FIRE_AND_FORGET } from "../../protocol/messages.ts";
import type { SchedulerState } from "../state.ts";
import { SCHEDULER_TASK_STATES } from "../task_prefix_stats.ts";
import type { LoopLag } from "./loop_lag.ts";
import { metric } from "./views.ts";

export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Record<string, string>;

/** Builds exposition text, one metric family at a time. */
class Exposition {
  readonly #lines: string[] = [];

  family(
    name: string,
    type: "gauge" | "counter",
    help: string,
    samples: [Labels, number][],
  ): void {
    this.#lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) {
      this.#lines.push(`${name}${formatLabels(labels)} ${formatValue(value)}`);
    }
  }

  toString(): string {
    return this.#lines.join("\n") + "\n";
  }
}

function escapeLabel(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll("\n", "\\n").replaceAll('"', '\\"');
}

function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

export function prometheusText(state: SchedulerState, lag: LoopLag): string {
  const out = new Exposition();
  out.family(
    "dask_scheduler_tasks",
    "gauge",
    "Tasks on the scheduler by state (forgotten: ever forgotten).",
    SCHEDULER_TASK_STATES.map((s) => [{ state: s }, state.stateCounts[s]]),
  );
  const prefixStates: [Labels, number][] = [];
  const finished: [Labels, number][] = [];
  const erred: [Labels, number][] = [];
  const computeSeconds: [Labels, number][] = [];
  const prefixBytes: [Labels, number][] = [];
  for (const p of state.prefixes.values()) {
    const labels = { task_prefix_name: p.name };
    for (const s of SCHEDULER_TASK_STATES) {
      if (s !== "forgotten" && p.counts[s] > 0) {
        prefixStates.push([{ task_prefix_name: p.name, state: s }, p.counts[s]]);
      }
    }
    finished.push([labels, p.finished]);
    erred.push([labels, p.erred]);
    computeSeconds.push([labels, p.totalDuration]);
    prefixBytes.push([labels, p.nbytesInMemory]);
  }
  out.family(
    "dask_scheduler_prefix_state_totals",
    "gauge",
    "Live tasks per task prefix and state.",
    prefixStates,
  );
  out.family(
    "dask_scheduler_tasks_finished_total",
    "counter",
    "Tasks run to completion.",
    finished,
  );
  out.family("dask_scheduler_tasks_erred_total", "counter", "Tasks that raised an error.", erred);
  out.family(
    "dask_scheduler_tasks_compute_seconds_total",
    "counter",
    "Compute time of finished tasks per prefix.",
    computeSeconds,
  );
  out.family(
    "dask_scheduler_prefix_memory_bytes",
    "gauge",
    "Bytes of results in memory per task prefix (one copy counted).",
    prefixBytes,
  );

  let clients = 0;
  for (const id of state.clients.keys()) if (id !== FIRE_AND_FORGET) clients++;
  out.family("dask_scheduler_clients", "gauge", "Connected clients.", [[{}, clients]]);
  out.family("dask_scheduler_workers", "gauge", "Connected workers.", [[{}, state.workers.size]]);
  out.family("dask_scheduler_threads", "gauge", "Threads over all workers.", [[
    {},
    state.totalThreads,
  ]]);

  const memory: [Labels, number][] = [];
  const spilled: [Labels, number][] = [];
  const processing: [Labels, number][] = [];
  const inFlight: [Labels, number][] = [];
  let totalMemory = 0;
  let totalSpilled = 0;
  let totalInFlight = 0;
  for (const w of state.workers.values()) {
    const labels = { worker: w.address };
    const s = metric(w.metrics, "spilled") ?? 0;
    const f = metric(w.metrics, "inFlight") ?? 0;
    memory.push([labels, w.nbytes]);
    spilled.push([labels, s]);
    processing.push([labels, w.processing.size]);
    inFlight.push([labels, f]);
    totalMemory += w.nbytes;
    totalSpilled += s;
    totalInFlight += f;
  }
  out.family(
    "dask_scheduler_memory_bytes",
    "gauge",
    "Bytes of results held on workers, as the scheduler counts them.",
    [[{}, totalMemory]],
  );
  out.family("dask_scheduler_spilled_bytes", "gauge", "Bytes workers spilled to disk.", [[
    {},
    totalSpilled,
  ]]);
  out.family(
    "dask_scheduler_transfers_in_flight",
    "gauge",
    "Worker-to-worker transfers in flight, as workers last reported.",
    [[{}, totalInFlight]],
  );
  out.family(
    "dask_scheduler_bandwidth_bytes_per_second",
    "gauge",
    "Estimated worker-to-worker bandwidth.",
    [[{}, state.bandwidth]],
  );
  const steals = state.stealingCounts;
  out.family("dask_scheduler_stealing_total", "counter", "Work-stealing requests by outcome.", [
    [{ outcome: "requested" }, steals.requested],
    [{ outcome: "confirmed" }, steals.confirmed],
    [{ outcome: "rejected" }, steals.rejected],
  ]);
  out.family("dask_scheduler_task_stream_total", "counter", "Task runs recorded.", [[
    {},
    state.taskStream.total,
  ]]);
  out.family(
    "dask_scheduler_event_loop_lag_seconds",
    "gauge",
    "Worst event-loop lag of the last few seconds.",
    [[{}, lag.recentMax]],
  );
  out.family(
    "dask_scheduler_event_loop_lag_seconds_total",
    "counter",
    "Sum of sampled event-loop lags.",
    [[{}, lag.total]],
  );
  out.family("dask_worker_memory_bytes", "gauge", "Bytes of results held per worker.", memory);
  out.family("dask_worker_spilled_bytes", "gauge", "Bytes spilled to disk per worker.", spilled);
  out.family("dask_worker_processing_tasks", "gauge", "Tasks assigned per worker.", processing);
  out.family(
    "dask_worker_transfers_in_flight",
    "gauge",
    "Transfers in flight into each worker.",
    inFlight,
  );
  return out.toString();
}
