/**
 * A log that says at most a few lines per window and counts the rest: a worker whose thousand
 * tasks fail says so without flooding its terminal (issue 18: "worker terminals log nothing
 * when a task fails"). No timers: the window is checked when a line comes.
 *
 * @module
 */

/** How many lines a window lets through, and how long a window is. */
export interface RateLimit {
  lines: number;
  windowMs: number;
}

/** Writes up to `lines` lines per window; the next window starts with how many were held back. */
export class RateLimitedLog {
  readonly #write: (line: string) => void;
  readonly #limit: RateLimit;
  readonly #now: () => number;
  #windowStart = -Infinity;
  #written = 0;
  #suppressed = 0;

  constructor(
    write: (line: string) => void,
    limit: RateLimit = { lines: 10, windowMs: 10_000 },
    now: () => number = Date.now,
  ) {
    this.#write = write;
    this.#limit = limit;
    this.#now = now;
  }

  /** Writes `line` unless this window's lines are used up (then it is counted). */
  log(line: string): void {
    const now = this.#now();
    if (now - this.#windowStart >= this.#limit.windowMs) {
      if (this.#suppressed > 0) {
        this.#write(`... ${this.#suppressed} more like these in the last window were not shown`);
      }
      this.#windowStart = now;
      this.#written = 0;
      this.#suppressed = 0;
    }
    if (this.#written < this.#limit.lines) {
      this.#written++;
      this.#write(line);
    } else {
      this.#suppressed++;
    }
  }
}
