/**
 * Event-loop lag: how late a periodic timer fires. A scheduler whose loop lags answers every
 * worker and client late, so it is the first number to look at when things feel slow.
 *
 * @module
 */

/** Keeps the latest lag and the worst one over a sliding window of samples. */
export class LoopLag {
  /** Latest lag, seconds. */
  last = 0;
  /** Samples taken. */
  samples = 0;
  /** Sum of all lags, seconds (a Prometheus counter). */
  total = 0;
  readonly #window: Float64Array;
  #next = 0;

  constructor(windowSize = 25) {
    this.#window = new Float64Array(windowSize);
  }

  /** Records one timer that was due `expectedMs` after the previous and came `actualMs` after. */
  record(expectedMs: number, actualMs: number): void {
    const lag = Math.max(0, actualMs - expectedMs) / 1000;
    this.last = lag;
    this.samples++;
    this.total += lag;
    this.#window[this.#next] = lag;
    this.#next = (this.#next + 1) % this.#window.length;
  }

  /** Worst lag of the recent samples, seconds. */
  get recentMax(): number {
    let max = 0;
    for (const lag of this.#window) if (lag > max) max = lag;
    return max;
  }
}
