/**
 * Adaptive scaling, as Dask's `Adaptive`: every `interval` seconds ask the scheduler for its
 * target (scheduler/adaptive_target.ts), clamp it to `[minimum, maximum]`, start workers at once
 * when more are wanted, and retire a worker only after the scheduler recommended closing it
 * `waitCount` times in a row (hysteresis: a lull between two bursts does not cost a worker).
 *
 * @module
 */

/** Options of `cluster.adapt(...)`. */
export interface AdaptOptions {
  /** Fewest workers. Default 0. */
  minimum?: number;
  /** Most workers. Default: no limit. */
  maximum?: number;
  /** Seconds the known work should take on the cluster. Default 5 (Dask's). */
  targetDuration?: number;
  /** Consecutive recommendations before a worker is retired. Default 3 (Dask's). */
  waitCount?: number;
  /** Seconds between decisions. Default 1 (Dask's). */
  interval?: number;
}

/** What the controller drives: the cluster manager's side. */
export interface AdaptiveHost {
  /** A request to the scheduler (`adaptive-target`). */
  request<T>(method: string, params: Record<string, unknown>): Promise<T>;
  /** Names of the workers running or starting. */
  workers(): string[];
  /** Threads a new worker brings. */
  threadsPerWorker: number;
  /** Start workers until `n` run or start. */
  scaleUp(n: number): Promise<void>;
  /** Retire these workers (their data moves first), then stop them. */
  scaleDown(names: string[]): Promise<void>;
  /** Where the controller's notes go. */
  log(line: string): void;
}

/** Decisions kept in {@link Adaptive.history}. */
const HISTORY_LENGTH = 1000;

/** The scheduler's answer to `adaptive-target`. */
interface TargetAnswer {
  target: number;
  toClose: string[];
}

/**
 * A running adaptive controller (what `cluster.adapt(...)` returns); `stop()` ends it.
 *
 * @example
 * ```ts
 * import { Client, LocalCluster } from "./mod.ts";
 *
 * await using cluster = await LocalCluster.start({ nWorkers: 0 });
 * const adaptive = cluster.adapt({ minimum: 0, maximum: 4, targetDuration: 5 });
 * await using client = await Client.connect(cluster);
 * await client.gather(client.map((x: number) => x + 1, [1, 2, 3])); // workers start for it
 * adaptive.stop();
 * ```
 */
export class Adaptive {
  /** Fewest workers. */
  readonly minimum: number;
  /** Most workers. */
  readonly maximum: number;
  /** Seconds the known work should take. */
  readonly targetDuration: number;
  /** Consecutive recommendations before a worker is retired. */
  readonly waitCount: number;
  /** Seconds between decisions. */
  readonly interval: number;
  /** Consecutive close recommendations per worker name. */
  readonly #closeVotes = new Map<string, number>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  /** Resolves when no decision is being applied. */
  idle: Promise<void> = Promise.resolve();
  /** The last 1,000 decisions that added or removed workers (when, the target, the workers). */
  readonly history: { at: number; target: number; workers: number; action: string }[] = [];

  /** Starts deciding at once, then every `interval` seconds. */
  constructor(readonly host: AdaptiveHost, options: AdaptOptions = {}) {
    this.minimum = options.minimum ?? 0;
    this.maximum = options.maximum ?? Infinity;
    this.targetDuration = options.targetDuration ?? 5;
    this.waitCount = options.waitCount ?? 3;
    this.interval = options.interval ?? 1;
    const whole = (v: number) => Number.isInteger(v) && v >= 0;
    if (!whole(this.minimum) || !(whole(this.maximum) || this.maximum === Infinity)) {
      throw new TypeError(`adapt(): minimum and maximum are whole numbers ≥ 0`);
    }
    if (this.maximum < this.minimum) {
      throw new TypeError(`adapt(): maximum ${this.maximum} is below minimum ${this.minimum}`);
    }
    if (!(this.targetDuration > 0) || !(this.interval > 0) || !whole(this.waitCount)) {
      throw new TypeError(
        `adapt(): targetDuration and interval are seconds > 0, waitCount a whole number`,
      );
    }
    this.#schedule(0);
  }

  #schedule(seconds: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.idle = this.#step().catch((error) => {
        this.host.log(`decision failed: ${(error as Error).message}`);
      }).finally(() => this.#schedule(this.interval));
    }, seconds * 1000);
    // adapting serves the script's work; it does not keep a finished script alive
    Deno.unrefTimer(this.#timer);
  }

  /** One decision: ask, clamp, act. */
  async #step(): Promise<void> {
    const answer = await this.host.request<TargetAnswer>("adaptive-target", {
      targetDuration: this.targetDuration,
      threadsPerWorker: this.host.threadsPerWorker,
      minimum: this.minimum,
    });
    if (this.#stopped) return;
    const current = this.host.workers();
    const target = Math.min(this.maximum, Math.max(this.minimum, answer.target));
    const record = (action: string) => {
      this.history.push({ at: Date.now(), target, workers: current.length, action });
      if (this.history.length > HISTORY_LENGTH) this.history.shift();
    };
    if (target > current.length) {
      this.#closeVotes.clear();
      record(`up ${current.length} → ${target}`);
      await this.host.scaleUp(target);
      return;
    }
    if (target === current.length) {
      this.#closeVotes.clear();
      return;
    }
    // Fewer wanted: count votes for the workers the scheduler would close, ours only.
    const ours = new Set(current);
    const candidates = answer.toClose.filter((name) => ours.has(name))
      .slice(0, current.length - target);
    const voted = new Set(candidates);
    for (const name of [...this.#closeVotes.keys()]) {
      if (!voted.has(name)) this.#closeVotes.delete(name);
    }
    const ready: string[] = [];
    for (const name of candidates) {
      const votes = (this.#closeVotes.get(name) ?? 0) + 1;
      this.#closeVotes.set(name, votes);
      if (votes >= this.waitCount) ready.push(name);
    }
    if (ready.length === 0) return;
    for (const name of ready) this.#closeVotes.delete(name);
    record(`down ${current.length} → ${current.length - ready.length} (${ready.join(", ")})`);
    await this.host.scaleDown(ready);
  }

  /** Stops deciding (a decision under way finishes). */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
