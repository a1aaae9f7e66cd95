/**
 * A process's recent log lines, kept so that they can travel: a worker sends the lines logged
 * since its last heartbeat with the next one, and the scheduler keeps the newest of them per
 * worker for the dashboard's worker pages (Dask's `get_worker_logs`).
 *
 * @module
 */

/** A log line: `[time in seconds since the epoch, text]`. */
export type LogLine = [number, string];

export class RecentLines {
  #lines: LogLine[] = [];
  /** Lines dropped since the last {@link RecentLines.take} because more came than fit. */
  #dropped = 0;

  /** Keeps at most `capacity` lines (the newest). */
  constructor(readonly capacity = 200) {}

  add(text: string, time = Date.now() / 1000): void {
    this.#lines.push([time, text]);
    // Trim in batches: one shift per line would cost O(capacity) each time.
    if (this.#lines.length >= 2 * this.capacity) {
      this.#dropped += this.#lines.length - this.capacity;
      this.#lines.splice(0, this.#lines.length - this.capacity);
    }
  }

  /** Appends lines that came from elsewhere (the scheduler's copy of a worker's lines). */
  addAll(lines: readonly LogLine[]): void {
    for (const [time, text] of lines) this.add(text, time);
  }

  /** The newest `capacity` lines, oldest first. */
  toArray(): LogLine[] {
    return this.#lines.slice(-this.capacity);
  }

  /**
   * The lines since the last call (at most `capacity`, oldest first), and forgets them; a line
   * saying how many were dropped leads when more came than fit.
   */
  take(): LogLine[] {
    const lines = this.toArray();
    const dropped = this.#dropped + this.#lines.length - lines.length;
    this.#lines = [];
    this.#dropped = 0;
    if (dropped > 0 && lines.length > 0) {
      lines.unshift([lines[0][0], `(${dropped} earlier log lines dropped)`]);
    }
    return lines;
  }
}

/** True for a list of `[number, string]` pairs (what a heartbeat's `logs` must be). */
export function isLogLines(value: unknown): value is LogLine[] {
  return Array.isArray(value) &&
    value.every((line) =>
      Array.isArray(line) && line.length === 2 && typeof line[0] === "number" &&
      typeof line[1] === "string"
    );
}
