/**
 * The Info page's data: who the scheduler is, what it holds, and what happened (events, errors).
 *
 * @module
 */

import { FIRE_AND_FORGET } from "../../protocol/messages.ts";
import type { SchedulerLogEntry, SchedulerState } from "../state.ts";
import type { StateCounts } from "../task_prefix_stats.ts";
import type { ErrorView } from "./error_log.ts";
import type { LoopLag } from "./loop_lag.ts";

export interface SchedulerSummary {
  address: string;
  dashboard: string;
  /** Server clock, seconds; uptime is `now - startedAt`. */
  startedAt: number;
  workers: number;
  threads: number;
  /** Connected clients (the internal fire-and-forget holder is not one). */
  clients: number;
  tasks: StateCounts;
  /** Estimated worker-to-worker bandwidth, bytes/s. */
  bandwidth: number;
  stealing: { requested: number; confirmed: number; rejected: number };
  /** Worst event-loop lag of the last few seconds, seconds. */
  loopLag: number;
}

/** An event log entry with its sequence number. */
export type EventView = SchedulerLogEntry & { seq: number };

export interface InfoView {
  now: number;
  scheduler: SchedulerSummary;
  /** Event log entries numbered `since` and later (the newest `limit`). */
  events: EventView[];
  /** Sequence number of the next event. */
  eventsTotal: number;
  errors: ErrorView[];
}

export interface ServerIdentity {
  schedulerAddress: string;
  dashboardUrl: string;
  startedAt: number;
}

export function schedulerSummary(
  state: SchedulerState,
  identity: ServerIdentity,
  lag: LoopLag,
): SchedulerSummary {
  let clients = 0;
  // Fire-and-forget keys are held by a pseudo-client that is not a connection.
  for (const id of state.clients.keys()) if (id !== FIRE_AND_FORGET) clients++;
  return {
    address: identity.schedulerAddress,
    dashboard: identity.dashboardUrl,
    startedAt: identity.startedAt,
    workers: state.workers.size,
    threads: state.totalThreads,
    clients,
    tasks: { ...state.stateCounts },
    bandwidth: state.bandwidth,
    stealing: state.stealingCounts,
    loopLag: Math.round(lag.recentMax * 1e4) / 1e4,
  };
}

/** Event log entries numbered `since` and later, the newest `limit` of them. */
export function eventsSince(state: SchedulerState, since: number, limit: number): EventView[] {
  const log = state.eventLog;
  const first = Math.max(since, log.total - Math.min(limit, log.size));
  return log.since(first).map((entry, i) => ({ ...entry, seq: first + i }));
}
