/**
 * Everything the dashboard knows: the scheduler state it reads (never writes) plus what it
 * remembers on its own — errors with their stacks, transfer and spill marks, the graph it last
 * showed, the event-loop lag. The HTTP routes and the live feed both read from here.
 *
 * @module
 */

import type { SchedulerState } from "../state.ts";
import { ErrorLog, type ErrorView } from "./error_log.ts";
import { GraphTracker } from "./graph_view.ts";
import {
  eventsSince,
  type InfoView,
  type SchedulerSummary,
  schedulerSummary,
  type ServerIdentity,
} from "./info_view.ts";
import { LoopLag } from "./loop_lag.ts";
import { CpuMeter } from "../../core/process_stats.ts";
import { type SystemView, systemView } from "./system_view.ts";
import { prometheusText } from "./metrics.ts";
import {
  type StatusView,
  statusView,
  type TaskStreamView,
  taskStreamView,
  wallClock,
  type WorkersView,
  workersView,
} from "./views.ts";
import { type ActivityMark, WorkerActivity } from "./worker_activity.ts";
import { WorkerHistory, type WorkerSample } from "./worker_history.ts";
import { type WorkerView, workerView } from "./worker_view.ts";
import { BandwidthMeter, type BandwidthView } from "./bandwidth_view.ts";
import {
  type CallStacksView,
  callStacksView,
  type ProfileView,
  profileView,
  type TaskCallStackView,
  taskCallStackView,
  type WorkerSamplers,
} from "./profile_view.ts";

export interface DashboardModelOptions {
  /** Most tasks the Graph page draws. */
  maxGraphNodes?: number;
  /** Above this many tasks the Graph page draws task groups. */
  graphGroupsAbove?: number;
  /** The workers' samplers (the scheduler's peer connections); none: task-stream profile only. */
  samplers?: WorkerSamplers;
}

/** What one poll found that is new. */
export interface PollResult {
  errors: ErrorView[];
  marks: ActivityMark[];
  /** Memory, occupancy and processing per worker, when a sample was due. */
  samples: WorkerSample[];
}

export class DashboardModel {
  readonly errors = new ErrorLog();
  readonly activity = new WorkerActivity();
  readonly history = new WorkerHistory();
  readonly bandwidthMeter = new BandwidthMeter();
  readonly graph: GraphTracker;
  readonly lag = new LoopLag();
  readonly #cpu = new CpuMeter();

  constructor(
    readonly state: SchedulerState,
    readonly identity: ServerIdentity,
    options: DashboardModelOptions = {},
  ) {
    this.graph = new GraphTracker(options.maxGraphNodes ?? 5000, options.graphGroupsAbove ?? 300);
    this.#samplers = options.samplers ?? null;
  }

  readonly #samplers: WorkerSamplers | null;

  /** Reads what is new since the last poll: O(workers + new log entries). */
  poll(now = wallClock()): PollResult {
    this.bandwidthMeter.sample(this.state, now);
    return {
      errors: this.errors.harvest(this.state),
      marks: this.activity.sample(this.state, now),
      samples: this.history.sample(this.state, now),
    };
  }

  status(now = wallClock()): StatusView {
    return statusView(this.state, now);
  }

  workers(now = wallClock()): WorkersView {
    return workersView(this.state, now);
  }

  taskStream(since: number, limit: number, now = wallClock()): TaskStreamView {
    return taskStreamView(this.state, since, limit, now);
  }

  summary(): SchedulerSummary {
    return schedulerSummary(this.state, this.identity, this.lag);
  }

  info(since: number, limit: number, now = wallClock()): InfoView {
    this.errors.harvest(this.state);
    return {
      now,
      scheduler: this.summary(),
      events: eventsSince(this.state, since, limit),
      eventsTotal: this.state.eventLog.total,
      errors: this.errors.toArray(),
    };
  }

  /** Bytes per second between workers and by type, over the last seconds. */
  bandwidth(now = wallClock()): BandwidthView {
    return this.bandwidthMeter.view(this.state, now);
  }

  /** The workers' sampled call trees of `[start, stop]` by prefix (task time without sampling). */
  profile(start: number, stop: number): Promise<ProfileView> {
    return profileView(this.state, this.#samplers, start, stop);
  }

  /** What a worker's task threads run now; null when no worker has that address. */
  callStacks(address: string): Promise<CallStacksView | null> {
    return callStacksView(this.state, this.#samplers, address);
  }

  /** The call stack of one task while it runs (the Task page). */
  taskCallStack(key: string): Promise<TaskCallStackView> {
    return taskCallStackView(this.state, this.#samplers, key);
  }

  /** One worker's page, or null when no worker has that address. */
  worker(address: string, now = wallClock()): WorkerView | null {
    return workerView(this.state, address, now);
  }

  system(now = wallClock()): SystemView {
    return systemView(this.state, this.identity.schedulerAddress, this.#cpu, now);
  }

  metrics(): string {
    return prometheusText(this.state, this.lag);
  }
}
