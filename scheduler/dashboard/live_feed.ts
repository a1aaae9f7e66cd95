/**
 * Live updates for open pages, as server-sent events. The dashboard's timer calls {@link
 * LiveFeed.tick} every push interval (500 ms by default); each tick computes every view that an
 * open page shows — once, however many pages show it — and sends each page one message with what
 * changed in the views it shows: the task stream entries added since the last tick (the ring
 * buffer's `since(seq)`), views whose JSON differs from the last one sent, the graph's state
 * changes. What a page receives per second is bounded whatever the task rate: one message per
 * push interval, at most {@link LiveFeedOptions.taskStreamCap} task stream rectangles in it, sent
 * column by column (views.ts `taskStreamColumns`), as Dask's task stream caps its rectangles. The
 * scheduler's hot path does no work for the dashboard; with no page open a tick costs O(workers).
 *
 * While tasks flood in (more than {@link LiveFeedOptions.coalesceAbove} in one push), runs that
 * follow each other on a thread are sent coalesced, with their count: a page's work then grows
 * with threads, not with tasks.
 *
 * A message is the SSE event `update`, `{ now, parts: [[name, data], …] }`, parts in the order a
 * page applies them: `status`, `tasks` (`{ first, total, columns, marks }`), `workers` (the table
 * and the bandwidth between workers and by type), `history` (`{ samples }`, per-worker memory by
 * kind, processing and occupancy over time; new samples only after the first), `graph`, `info`.
 * `now` is the server clock in seconds, so pages can align their clocks.
 *
 * @module
 */

import type { DashboardModel } from "./model.ts";
import { coalesceRuns, taskStreamColumns, type TaskStreamTuple, wallClock } from "./views.ts";

/** What a page can subscribe to; `status` includes the task stream. */
export type LiveView = "status" | "workers" | "graph" | "info";

export const LIVE_VIEWS: readonly LiveView[] = ["status", "workers", "graph", "info"];

/** Where a subscriber's events go. Returns false when the subscriber cannot keep up. */
export type LiveSink = (chunk: Uint8Array) => boolean;

export interface LiveFeedOptions {
  /** Task stream entries a page receives when it connects. */
  taskStreamHistory?: number;
  /** Most task stream entries read in one tick (a page draws recent time only). */
  taskStreamBurst?: number;
  /** Most task stream rectangles sent in one tick, after coalescing: the newest are kept. */
  taskStreamCap?: number;
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
  /** The views, in the order their parts go out: names subscribers showing the same views. */
  id: string;
  sink: LiveSink;
}

const encoder = new TextEncoder();

/** One message: the parts (`["name",{…}]` JSON) of one push interval for one page. */
function update(now: number, parts: readonly string[]): Uint8Array {
  return encoder.encode(`event: update\ndata: {"now":${now},"parts":[${parts.join(",")}]}\n\n`);
}

function part(name: string, json: string): string {
  return `["${name}",${json}]`;
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
  readonly #cap: number;
  /** Parts waiting for this tick's messages, by view. */
  readonly #pending = new Map<LiveView, string[]>();
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
    this.#cap = options.taskStreamCap ?? 1_000;
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
    const ordered = LIVE_VIEWS.filter((view) => views.has(view));
    const subscriber: Subscriber = { views, id: ordered.join(","), sink };
    const now = wallClock();
    const model = this.#model;
    const parts: string[] = [];
    const add = (event: string, json: string) => parts.push(part(event, json));
    // Pages already open get any change first, so that all pages share one baseline.
    const status = views.has("status") ? this.#refresh("status", now) : "";
    const workers = views.has("workers") ? this.#refresh("workers", now) : "";
    if (views.has("graph")) this.#pushGraph(now);
    this.#flush(now);
    if (views.has("status")) {
      if (!this.#watched("status")) this.#taskSeq = model.state.taskStream.total;
      add("status", withNow(now, status));
      const stream = model.taskStream(0, this.#history, now);
      add("tasks", this.#tasksJson(stream.entries, stream.total, model.activity.toArray(), now));
    }
    if (views.has("workers")) {
      add("workers", withNow(now, workers));
      add("history", withNow(now, JSON.stringify({ samples: model.history.toArray() })));
    }
    if (views.has("graph")) {
      add("graph", withNow(now, JSON.stringify(model.graph.snapshot(model.state))));
    }
    if (views.has("info")) {
      if (!this.#watched("info")) this.#eventSeq = model.state.eventLog.total;
      const info = model.info(0, this.#eventHistory, now);
      add("info", JSON.stringify({ ...info, first: info.eventsTotal - info.events.length }));
    }
    sink(update(now, parts));
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
        this.#taskSeq = stream.total;
        const json = this.#tasksJson(stream.entries, stream.total, marks, now, this.#cap);
        this.#broadcast("status", "tasks", json);
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
    this.#flush(now);
  }

  /** Drops every subscriber (their streams are closed by whoever opened them). */
  clear(): void {
    this.#subscribers.clear();
  }

  /**
   * The `tasks` part: the entries up to sequence number `total`, a flood of them coalesced (a
   * trickle as it is: every run its own bar and tooltip), at most `cap` of them (the newest),
   * column by column.
   */
  #tasksJson(
    entries: TaskStreamTuple[],
    total: number,
    marks: unknown[],
    now: number,
    cap = Infinity,
  ): string {
    let sent = entries.length > this.#coalesceAbove
      ? coalesceRuns(entries, COALESCE_GAP_SECONDS)
      : entries;
    if (sent.length > cap) sent = sent.slice(sent.length - cap);
    const columns = taskStreamColumns(sent);
    return JSON.stringify({ now, total, first: total - sent.length, columns, marks });
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

  /** Queues a part for the pages showing `view`; {@link flush} sends it. */
  #broadcast(view: LiveView, event: string, json: string): void {
    if (!this.#watched(view)) return;
    const parts = this.#pending.get(view) ?? [];
    parts.push(part(event, json));
    this.#pending.set(view, parts);
  }

  /** Sends each page one message with the queued parts of the views it shows. */
  #flush(now: number): void {
    if (this.#pending.size === 0) return;
    /** Messages by subscribers' views: pages showing the same views share one. */
    const messages = new Map<string, Uint8Array | null>();
    for (const s of this.#subscribers) {
      let chunk = messages.get(s.id);
      if (chunk === undefined) {
        const parts = LIVE_VIEWS.flatMap((view) =>
          s.views.has(view) ? this.#pending.get(view) ?? [] : []
        );
        chunk = parts.length === 0 ? null : update(now, parts);
        messages.set(s.id, chunk);
      }
      // A page that cannot keep up is dropped; its EventSource reconnects with a fresh picture.
      if (chunk !== null && !s.sink(chunk)) this.#subscribers.delete(s);
    }
    this.#pending.clear();
  }
}
