/**
 * Live updates for open pages, as server-sent events. The dashboard's timer calls {@link
 * LiveFeed.tick} every push interval (200 ms by default); each tick computes every view that an
 * open page shows — once, however many pages show it — and sends only what changed: the task
 * stream entries added since the last tick (the ring buffer's `since(seq)`), views whose JSON
 * differs from the last one sent, the graph's state changes. The scheduler's hot path does no
 * work for the dashboard; with no page open a tick costs O(workers).
 *
 * While tasks flood in (more than {@link LiveFeedOptions.coalesceAbove} in one push), runs that
 * follow each other on a thread are sent coalesced, with their count: a page's work then grows
 * with threads, not with tasks.
 *
 * Events: `status`, `tasks` (`{ first, total, entries, marks }`), `workers` (the table and the
 * bandwidth between workers and by type), `history`
 * (`{ samples }`, per-worker memory by kind, processing and occupancy over time; new samples only
 * after the first), `graph`, `info`.
 * Each carries `now`, the server clock in seconds, so pages can align their clocks.
 *
 * @module
 */

import type { DashboardModel } from "./model.ts";
import { coalesceRuns, type TaskStreamTuple, wallClock } from "./views.ts";

/** What a page can subscribe to; `status` includes the task stream. */
export type LiveView = "status" | "workers" | "graph" | "info";

export const LIVE_VIEWS: readonly LiveView[] = ["status", "workers", "graph", "info"];

/** Where a subscriber's events go. Returns false when the subscriber cannot keep up. */
export type LiveSink = (chunk: Uint8Array) => boolean;

export interface LiveFeedOptions {
  /** Task stream entries a page receives when it connects. */
  taskStreamHistory?: number;
  /** Most task stream entries sent in one tick (a page draws recent time only). */
  taskStreamBurst?: number;
  /** Event log entries a page receives when it connects. */
  eventHistory?: number;
  /**
   * Above this many task stream entries in one push, runs of one prefix that follow each other
   * on a thread are sent as one entry with their count (views.ts `coalesceRuns`).
   */
  coalesceAbove?: number;
}

/** Runs closer than this (seconds) coalesce: a third of a pixel of the pages' live window. */
const COALESCE_GAP_SECONDS = 0.005;

interface Subscriber {
  views: ReadonlySet<LiveView>;
  sink: LiveSink;
}

const encoder = new TextEncoder();

function sse(event: string, json: string): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${json}\n\n`);
}

/** `{"now":…,` followed by the rest of an object's JSON. */
function withNow(now: number, json: string): string {
  return json === "{}" ? `{"now":${now}}` : `{"now":${now},${json.slice(1)}`;
}

export class LiveFeed {
  readonly #model: DashboardModel;
  readonly #subscribers = new Set<Subscriber>();
  readonly #history: number;
  readonly #burst: number;
  readonly #eventHistory: number;
  readonly #coalesceAbove: number;
  /** The JSON last sent per view (without `now`), to send only changes. */
  readonly #lastSent = new Map<string, string>();
  #taskSeq = 0;
  #eventSeq = 0;

  constructor(model: DashboardModel, options: LiveFeedOptions = {}) {
    this.#model = model;
    this.#history = options.taskStreamHistory ?? 10_000;
    this.#burst = options.taskStreamBurst ?? 5_000;
    this.#eventHistory = options.eventHistory ?? 500;
    this.#coalesceAbove = options.coalesceAbove ?? 200;
  }

  get subscriberCount(): number {
    return this.#subscribers.size;
  }

  /**
   * Adds a page: sends it the full picture of `views` at once, then changes on every tick.
   * Returns the function that removes it.
   */
  subscribe(views: ReadonlySet<LiveView>, sink: LiveSink): () => void {
    const subscriber: Subscriber = { views, sink };
    const now = wallClock();
    const model = this.#model;
    const send = (event: string, json: string) => sink(sse(event, json));
    if (views.has("status")) {
      // Pages already open get any change first, so that all pages share one baseline.
      const status = this.#refresh("status", now);
      if (!this.#watched("status")) this.#taskSeq = model.state.taskStream.total;
      send("status", withNow(now, status));
      const stream = model.taskStream(0, this.#history, now);
      const marks = model.activity.toArray();
      const first = stream.total - stream.entries.length;
      const entries = this.#coalesced(stream.entries);
      send("tasks", JSON.stringify({ ...stream, entries, first, marks }));
    }
    if (views.has("workers")) {
      send("workers", withNow(now, this.#refresh("workers", now)));
      send("history", withNow(now, JSON.stringify({ samples: model.history.toArray() })));
    }
    if (views.has("graph")) {
      this.#pushGraph(now);
      send("graph", withNow(now, JSON.stringify(model.graph.snapshot(model.state))));
    }
    if (views.has("info")) {
      if (!this.#watched("info")) this.#eventSeq = model.state.eventLog.total;
      const info = model.info(0, this.#eventHistory, now);
      send("info", JSON.stringify({ ...info, first: info.eventsTotal - info.events.length }));
    }
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }

  /** One push interval: polls the model and sends every open page what changed. */
  tick(now = wallClock()): void {
    const model = this.#model;
    const { errors, marks, samples } = model.poll(now);
    if (this.#subscribers.size === 0) return;
    if (this.#watched("status")) {
      this.#refresh("status", now);
      const total = model.state.taskStream.total;
      if (total > this.#taskSeq || marks.length > 0) {
        const stream = model.taskStream(this.#taskSeq, this.#burst, now);
        const first = stream.total - stream.entries.length;
        this.#taskSeq = stream.total;
        const entries = this.#coalesced(stream.entries);
        this.#broadcast("status", "tasks", JSON.stringify({ ...stream, entries, first, marks }));
      }
    }
    if (this.#watched("workers")) {
      this.#refresh("workers", now);
      if (samples.length > 0) {
        this.#broadcast("workers", "history", withNow(now, JSON.stringify({ samples })));
      }
    }
    if (this.#watched("graph")) this.#pushGraph(now);
    if (this.#watched("info")) {
      const total = model.state.eventLog.total;
      const summary = JSON.stringify(model.summary());
      if (total > this.#eventSeq || errors.length > 0 || summary !== this.#lastSent.get("info")) {
        const events = model.info(this.#eventSeq, this.#eventHistory, now).events;
        const first = total - events.length;
        this.#eventSeq = total;
        this.#lastSent.set("info", summary);
        const json = `{"now":${now},"scheduler":${summary},"events":${JSON.stringify(events)},` +
          `"eventsTotal":${total},"first":${first},"errors":${JSON.stringify(errors)}}`;
        this.#broadcast("info", "info", json);
      }
    }
  }

  /** Drops every subscriber (their streams are closed by whoever opened them). */
  clear(): void {
    this.#subscribers.clear();
  }

  /** A flood of entries, coalesced; a trickle as it is (every run its own bar and tooltip). */
  #coalesced(entries: TaskStreamTuple[]): TaskStreamTuple[] {
    return entries.length > this.#coalesceAbove
      ? coalesceRuns(entries, COALESCE_GAP_SECONDS)
      : entries;
  }

  #watched(view: LiveView): boolean {
    for (const s of this.#subscribers) if (s.views.has(view)) return true;
    return false;
  }

  /** The view's JSON (without `now`); sent to the pages showing it when it changed. */
  #refresh(view: "status" | "workers", now: number): string {
    const model = this.#model;
    let json: string;
    if (view === "status") {
      const { now: _, ...status } = model.status(now);
      json = JSON.stringify(status);
    } else {
      json = JSON.stringify({
        workers: model.workers(now).workers,
        bandwidth: model.bandwidth(now),
      });
    }
    if (json !== this.#lastSent.get(view)) {
      this.#lastSent.set(view, json);
      this.#broadcast(view, view, withNow(now, json));
    }
    return json;
  }

  #pushGraph(now = wallClock()): void {
    const update = this.#model.graph.update(this.#model.state);
    if (update !== null) this.#broadcast("graph", "graph", withNow(now, JSON.stringify(update)));
  }

  #broadcast(view: LiveView, event: string, json: string): void {
    const chunk = sse(event, json);
    for (const s of this.#subscribers) {
      // A page that cannot keep up is dropped; its EventSource reconnects with a fresh picture.
      if (s.views.has(view) && !s.sink(chunk)) this.#subscribers.delete(s);
    }
  }
}
