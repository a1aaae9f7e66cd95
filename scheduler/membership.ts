/**
 * Membership: the workers registered with the scheduler, by address and by name, which of them
 * take new tasks (`running`; the others are `paused`, short of memory, or `closing`, being
 * retired), the cluster's thread count, and why lost workers died (for KilledWorker errors).
 * Placement and stealing see the running workers only. It also keeps the bandwidth estimate the
 * workers' heartbeats measure.
 *
 * @module
 */

import type { WorkerAddress } from "../protocol/messages.ts";
import type { WorkerRunState } from "../protocol/session.ts";
import { WorkerRecord } from "./records.ts";
import type { WorkerSpec } from "./events.ts";

/** How many causes of death are remembered (the oldest go first). */
const DEATH_CAUSES_KEPT = 1000;

export class WorkerMembership {
  readonly workers = new Map<WorkerAddress, WorkerRecord>();
  readonly workersByName = new Map<string, WorkerRecord>();
  /** Workers that take new tasks, by address and by name: what placement and stealing see. */
  readonly running = new Map<WorkerAddress, WorkerRecord>();
  readonly runningByName = new Map<string, WorkerRecord>();
  /** Paused workers that cannot spill and run nothing: they will not resume by themselves. */
  readonly exhausted = new Set<WorkerRecord>();
  /** Workers that do not take new tasks, and why. */
  readonly #notRunning = new Map<WorkerRecord, Exclude<WorkerRunState, "running">>();
  /** Why lost workers died, when they said (terminated for memory). */
  readonly #deathCauses = new Map<WorkerAddress, string>();
  totalThreads = 0;
  /** Worker-to-worker bandwidth estimate, bytes/s: the configured guess, then measured. */
  bandwidth: number;

  constructor(bandwidth: number) {
    this.bandwidth = bandwidth;
  }

  /** Folds a worker's measured bandwidth into the estimate (a moving average). */
  measuredBandwidth(bytesPerSecond: number): void {
    this.bandwidth = 0.9 * this.bandwidth + 0.1 * bytesPerSecond;
  }

  /** Workers that take no new tasks, and why. */
  get notRunning(): ReadonlyMap<WorkerRecord, Exclude<WorkerRunState, "running">> {
    return this.#notRunning;
  }

  /** Why lost workers died, by address, when they said. */
  get deathCauses(): ReadonlyMap<WorkerAddress, string> {
    return this.#deathCauses;
  }

  /** Registers a joining worker (running), or returns why it is refused. */
  add(spec: WorkerSpec, now: number): WorkerRecord | string {
    if (this.workers.has(spec.address)) {
      return `worker ${spec.address} registered twice; ignoring the second`;
    }
    if (!(spec.nthreads >= 1)) {
      return `worker ${spec.address} has ${spec.nthreads} threads; ignoring it`;
    }
    const worker = new WorkerRecord(
      spec.address,
      spec.name ?? spec.address,
      spec.nthreads,
      spec.memoryLimit ?? 0,
      spec.resources ?? {},
      now,
    );
    this.workers.set(worker.address, worker);
    worker.member = true;
    if (!this.workersByName.has(worker.name)) this.workersByName.set(worker.name, worker);
    this.#startRunning(worker);
    this.totalThreads += worker.nthreads;
    return worker;
  }

  /** Unregisters a worker that left or was lost (`cause`: why it died, if it said). */
  remove(worker: WorkerRecord, cause: string | undefined): void {
    const address = worker.address;
    if (cause !== undefined) {
      this.#deathCauses.set(address, cause);
      // the oldest causes go first: a task blames at most allowedFailures + 1 of them
      if (this.#deathCauses.size > DEATH_CAUSES_KEPT) {
        this.#deathCauses.delete(this.#deathCauses.keys().next().value!);
      }
    }
    this.workers.delete(address);
    worker.member = false;
    if (this.workersByName.get(worker.name) === worker) this.workersByName.delete(worker.name);
    this.totalThreads -= worker.nthreads;
    this.#stopRunning(worker);
    this.#notRunning.delete(worker);
    this.exhausted.delete(worker);
  }

  /** Whether `worker` takes new tasks. */
  isRunning(worker: WorkerRecord): boolean {
    return worker.takesTasks;
  }

  /** Whether `worker` takes new tasks, and if not, why. */
  status(worker: WorkerRecord): WorkerRunState {
    return this.#notRunning.get(worker) ?? "running";
  }

  /**
   * Changes a worker's status; false when nothing changed. A retired worker stays retired
   * whatever its memory does.
   */
  setStatus(worker: WorkerRecord, status: WorkerRunState): boolean {
    const current = this.status(worker);
    if (current === status || current === "closing") return false;
    if (status === "running") {
      this.#notRunning.delete(worker);
      this.#startRunning(worker);
    } else {
      this.#notRunning.set(worker, status);
      this.#stopRunning(worker);
    }
    return true;
  }

  #startRunning(worker: WorkerRecord): void {
    this.running.set(worker.address, worker);
    worker.takesTasks = true;
    if (!this.runningByName.has(worker.name)) this.runningByName.set(worker.name, worker);
  }

  /** Takes a worker out of placement and stealing. */
  #stopRunning(worker: WorkerRecord): void {
    if (this.running.get(worker.address) === worker) this.running.delete(worker.address);
    worker.takesTasks = false;
    if (this.runningByName.get(worker.name) === worker) {
      this.runningByName.delete(worker.name);
      // Another running worker with the same name (rare) takes the name over.
      for (const other of this.running.values()) {
        if (other.name === worker.name) {
          this.runningByName.set(other.name, other);
          break;
        }
      }
    }
  }
}
