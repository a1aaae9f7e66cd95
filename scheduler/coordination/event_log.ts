/**
 * Structured events by topic (Dask's `log_event` / `get_events`): each topic keeps its last
 * {@link EVENTS_PER_TOPIC} messages with the time they were logged. Pure: the caller passes the
 * time.
 *
 * @module
 */

import { RingBuffer } from "../../core/ring_buffer.ts";

/** Messages kept per topic; older ones fall out. */
export const EVENTS_PER_TOPIC = 100_000;

/** One logged message: `[seconds since the epoch, message]`, as Dask's tuples. */
export type LoggedEvent = [time: number, message: unknown];

export class EventLog {
  readonly #topics = new Map<string, RingBuffer<LoggedEvent>>();

  constructor(readonly perTopic = EVENTS_PER_TOPIC) {}

  /** Records `message` under each of `topics` at `time`. */
  log(topics: readonly string[], message: unknown, time: number): void {
    for (const topic of topics) {
      let ring = this.#topics.get(topic);
      if (ring === undefined) this.#topics.set(topic, ring = new RingBuffer(this.perTopic));
      ring.push([time, message]);
    }
  }

  /** A topic's messages, oldest first (none for a topic never logged to). */
  get(topic: string): LoggedEvent[] {
    return this.#topics.get(topic)?.toArray() ?? [];
  }

  /** Every topic's messages. */
  all(): Record<string, LoggedEvent[]> {
    const out: Record<string, LoggedEvent[]> = {};
    for (const [topic, ring] of this.#topics) out[topic] = ring.toArray();
    return out;
  }
}
