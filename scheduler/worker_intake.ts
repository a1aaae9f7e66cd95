/**
 * Worker intake: workers joining (with the results a reconnecting worker kept), pausing, resuming,
 * being retired, leaving or dying, and what they report — results, failures (retried, delayed or
 * erred), copies made or dropped, data a peer did not have, steal answers and heartbeats. It keeps
 * the membership, replica and queue books in step; the state changes it causes go through
 * {@link TaskMoves}.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type {
  StealResponseMsg,
  TaskErredMsg,
  TaskFinishedMsg,
  UpdateGraphMsg,
  WorkerAddress,
  WorkerToSchedulerMsg,
} from "../protocol/messages.ts";
import type { WorkerRunState } from "../protocol/session.ts";
import {
  type ClientRecord,
  hasFreeResources,
  type TaskRecord,
  type WorkerRecord,
} from "./records.ts";
import type { SchedulerConfig } from "./config.ts";
import type { WorkerSpec } from "./events.ts";
import { killedWorkerError } from "./scheduler_errors.ts";
import type { RestartGrace } from "./restart_grace.ts";
import type { RetryQueue } from "./retries.ts";
import type { WorkStealing } from "./stealing.ts";
import type { TaskStream } from "./task_stream.ts";
import type { SchedulerOutbox } from "./outbox.ts";
import type { Replicas } from "./replicas.ts";
import type { TaskQueues } from "./queuing.ts";
import type { WorkerMembership } from "./membership.ts";
import type { ClientIntake } from "./client_intake.ts";
import type { TaskMoves } from "./task_moves.ts";
import { missingData } from "./missing_data.ts";

/** The books worker intake keeps in step, besides the tasks. */
export interface WorkerIntakeBooks {
  config: Readonly<SchedulerConfig>;
  outbox: SchedulerOutbox;
  replicas: Replicas;
  queues: TaskQueues;
  membership: WorkerMembership;
  clients: ClientIntake;
  grace: RestartGrace<ClientRecord, UpdateGraphMsg>;
  retries: RetryQueue;
  stealing: WorkStealing;
  taskStream: TaskStream;
}

export class WorkerIntake {
  readonly #moves: TaskMoves;
  readonly #config: Readonly<SchedulerConfig>;
  readonly #outbox: SchedulerOutbox;
  readonly #replicas: Replicas;
  readonly #queues: TaskQueues;
  readonly #members: WorkerMembership;
  readonly #clients: ClientIntake;
  readonly #grace: RestartGrace<ClientRecord, UpdateGraphMsg>;
  readonly #retries: RetryQueue;
  readonly #stealing: WorkStealing;
  readonly #taskStream: TaskStream;

  constructor(moves: TaskMoves, books: WorkerIntakeBooks) {
    this.#moves = moves;
    this.#config = books.config;
    this.#outbox = books.outbox;
    this.#replicas = books.replicas;
    this.#queues = books.queues;
    this.#members = books.membership;
    this.#clients = books.clients;
    this.#grace = books.grace;
    this.#retries = books.retries;
    this.#stealing = books.stealing;
    this.#taskStream = books.taskStream;
  }

  // -------------------------------------------------------------------------------------------
  // Membership

  /** A worker joined; results it kept (it reconnected) are taken or freed. */
  added(spec: WorkerSpec): void {
    const moves = this.#moves;
    const worker = this.#members.add(spec, moves.now);
    if (typeof worker === "string") return moves.log("worker", worker);
    this.#loadChanged(worker, true);
    moves.log("worker", `worker ${worker.address} joined with ${worker.nthreads} threads`);
    let adopted = 0;
    for (const held of spec.keys ?? []) {
      const task = moves.tasks.get(held.key);
      if (task !== undefined && task.state === "memory") this.#replicas.add(task, worker);
      else if (task !== undefined && this.#adopt(task, worker, held)) adopted++;
      else if (task === undefined && this.#grace.open(moves.now)) {
        this.#clients.orphanHeld(worker, held.key, held);
      } else this.#outbox.freeKeys(worker, held.key);
    }
    if ((spec.keys?.length ?? 0) > 0) this.#clients.retryParkedGraphs();
    if (adopted > 0) {
      moves.log(
        "worker",
        `adopted ${adopted} results ${worker.address} kept`,
        undefined,
        worker.address,
      );
    }
    this.#placeUnrunnable();
  }

  /**
   * A reconnecting worker holds the result of a task that is not in memory on the books (it
   * was lost with this worker, or is being computed again): take the copy instead of
   * recomputing. False when the task's data is not wanted.
   */
  #adopt(
    task: TaskRecord,
    worker: WorkerRecord,
    held: { nbytes: number; typeName?: string },
  ): boolean {
    const state = task.state;
    if (
      !task.runnable ||
      (state !== "waiting" && state !== "queued" && state !== "no-worker" && state !== "processing")
    ) return false;
    task.nbytes = held.nbytes;
    if (held.typeName !== undefined) task.typeName = held.typeName;
    this.#replicas.add(task, worker);
    this.#moves.toMemory(task);
    return true;
  }

  /** `worker`'s load or status changed: its root-ish slots and its place for stealing follow. */
  #loadChanged(worker: WorkerRecord, running: boolean): void {
    this.#queues.updateSlots(worker, running);
    this.#stealing.loads.update(worker);
  }

  /** Tasks nobody could run (`no-worker`) are placed again: a worker joined or resumed. */
  #placeUnrunnable(): void {
    for (const task of this.#queues.takeUnrunnable()) this.#moves.placeAgain(task);
  }

  /** A worker paused, resumed or is being retired. */
  setStatus(worker: WorkerRecord, status: WorkerRunState): void {
    if (!this.#members.setStatus(worker, status)) return;
    if (status === "running") {
      this.#loadChanged(worker, true);
      this.#moves.log("worker", `worker ${worker.address} runs again`, undefined, worker.address);
      this.#placeUnrunnable();
      return;
    }
    // Steals it is part of finish normally: a paused thief's task is placed again.
    this.#loadChanged(worker, false);
    this.#moves.log(
      "worker",
      status === "paused"
        ? `worker ${worker.address} paused (short of memory): no new tasks until it resumes`
        : `worker ${worker.address} is being retired: no new tasks`,
      undefined,
      worker.address,
    );
  }

  /**
   * A worker left (`lost`: it died; its running tasks count it as a failure, `cause` when it
   * said why): its tasks are placed again, results only it held are lost.
   */
  removed(address: WorkerAddress, lost: boolean, cause?: string): void {
    const moves = this.#moves;
    const worker = this.#members.workers.get(address);
    if (worker === undefined) return;
    this.#grace.removeWorker(address);
    this.#members.remove(worker, cause);
    this.#loadChanged(worker, false);
    this.#stealing.removeWorker(worker);
    moves.log(
      "worker",
      `worker ${address} ${lost ? "was lost" : "left"} while processing ` +
        `${worker.processing.size} tasks and holding ${worker.hasWhat.size} results`,
      undefined,
      address,
    );
    // Replicas go first, so rescheduled tasks see which inputs are gone.
    const lostData = this.#replicas.dropWorker(worker);
    for (const task of [...worker.processing]) {
      moves.exitProcessing(task, false);
      if (lost) {
        (task.diedOn ??= []).push(address);
        if (task.diedOn.length > this.#config.allowedFailures) {
          task.error = killedWorkerError(task.key, task.diedOn, this.#members.deathCauses);
          task.blamedKey = task.key;
          moves.log("task", task.error.message, task.key, address);
          moves.toErred(task);
          continue;
        }
      }
      moves.recommend(task, "waiting");
    }
    for (const task of lostData) moves.dataLost(task);
    this.#queues.resourcesChanged();
  }

  // -------------------------------------------------------------------------------------------
  // Messages

  /** Applies one message of `worker`. */
  message(worker: WorkerRecord, msg: WorkerToSchedulerMsg): void {
    const moves = this.#moves;
    worker.lastSeen = moves.now;
    switch (msg.op) {
      case "task-finished":
        return this.#taskFinished(worker, msg);
      case "task-erred":
        return this.#taskErred(worker, msg);
      // (loops by index over a message's arrays: this switch is not optimized as a whole, and a
      // `for…of` here made an iterator result per key, 104 B per task of a shuffle)
      case "add-keys":
        for (let i = 0; i < msg.keys.length; i++) {
          const key = msg.keys[i].key;
          const task = moves.tasks.get(key);
          if (task !== undefined && task.state === "memory") this.#replicas.add(task, worker);
          else this.#outbox.freeKeys(worker, key);
        }
        return;
      case "release-worker-data":
        for (let i = 0; i < msg.keys.length; i++) {
          const key = msg.keys[i];
          const task = moves.tasks.get(key);
          if (task === undefined || !task.whoHas.has(worker)) continue;
          this.#replicas.remove(task, worker);
          if (task.state === "memory" && task.whoHas.size === 0) moves.dataLost(task);
        }
        return;
      case "missing-data":
        return this.#missingData(worker, msg.keys, msg.errantWorker);
      case "long-running":
        return this.#longRunning(worker, msg.key, msg.runId);
      case "steal-response":
        return this.#stealResponse(worker, msg);
      case "heartbeat": {
        worker.metrics = msg.metrics;
        if (msg.logs !== undefined) worker.logs.addAll(msg.logs);
        if (msg.transfers !== undefined) {
          for (const [peer, n] of Object.entries(msg.transfers.peers)) {
            worker.received.set(peer, (worker.received.get(peer) ?? 0) + n);
          }
          for (const [type, n] of Object.entries(msg.transfers.types)) {
            worker.receivedByType.set(type, (worker.receivedByType.get(type) ?? 0) + n);
          }
        }
        const measured = msg.metrics.bandwidth;
        if (typeof measured === "number" && measured > 0) {
          this.#members.measuredBandwidth(measured);
        }
        return;
      }
    }
  }

  /**
   * A task gave its thread slot back (`secede`): it stays processing there but no longer counts
   * as that worker's load (nor may it be stolen: it is running), so more work goes there.
   */
  #longRunning(worker: WorkerRecord, key: Key, runId: number): void {
    const task = this.#moves.tasks.get(key);
    if (task === undefined || task.processingOn !== worker || task.runId !== runId) return;
    if (task.longRunning) return;
    task.longRunning = true;
    worker.longRunning++;
    worker.occupancy = Math.max(0, worker.occupancy - task.estimate);
    task.estimate = 0;
    task.prefix.guessed.delete(task);
    this.#stealing.pin(task, worker);
    this.#loadChanged(worker, this.#members.isRunning(worker));
  }

  #taskFinished(worker: WorkerRecord, msg: TaskFinishedMsg): void {
    const moves = this.#moves;
    const task = moves.tasks.get(msg.key);
    if (task !== undefined && task.processingOn === worker) {
      // An older assignment on this same worker: the current one will report.
      if (msg.runId !== task.runId) return;
      moves.exitProcessing(task, false);
      const prefix = task.prefix;
      if (msg.start !== undefined && msg.stop !== undefined) {
        if (prefix.recordDuration(msg.stop - msg.start, this.#config.durationSmoothing)) {
          moves.reviseGuesses(prefix);
        }
        this.#taskStream.record(
          task.key,
          prefix.name,
          worker.address,
          msg.thread,
          msg.start,
          msg.stop,
          false,
        );
      }
      worker.finished++;
      task.nbytes = msg.nbytes;
      task.typeName = msg.typeName;
      this.#replicas.add(task, worker);
      // A tiny result asked for rides along to the holders told now, and is not kept.
      moves.toMemory(task, msg.value);
      return;
    }
    if (task !== undefined && task.state === "memory" && task.whoHas.has(worker)) return;
    // A result of an assignment that was withdrawn: the worker must not keep untracked data.
    this.#outbox.freeKeys(worker, msg.key);
  }

  #taskErred(worker: WorkerRecord, msg: TaskErredMsg): void {
    const moves = this.#moves;
    const task = moves.tasks.get(msg.key);
    if (task === undefined || task.processingOn !== worker) {
      this.#outbox.freeKeys(worker, msg.key);
      return;
    }
    if (msg.runId !== task.runId) return;
    if (msg.start !== undefined && msg.stop !== undefined) {
      this.#taskStream.record(
        task.key,
        task.prefix.name,
        worker.address,
        msg.thread,
        msg.start,
        msg.stop,
        true,
      );
    }
    if (task.retries > 0) {
      task.retries--;
      moves.exitProcessing(task, true);
      const delay = this.#retries.delayOf(task);
      moves.log(
        "task",
        `${task.key} failed on ${worker.address}; retrying` +
          (delay > 0 ? ` in ${delay} s` : "") + ` (${task.retries} retries left)`,
        task.key,
      );
      if (delay > 0) {
        // Held on the scheduler (queued) until the delay is over; ticks release it.
        moves.toQueued(task, this.#retries.heap);
        this.#retries.hold(task, moves.now + delay);
        return;
      }
      moves.recommend(task, "waiting");
      return;
    }
    moves.exitProcessing(task, false);
    task.erredOn = worker.address;
    task.error = msg.error;
    task.blamedKey = task.key;
    moves.log("task", `${task.key} erred: ${msg.error.name}: ${msg.error.message}`, task.key);
    moves.toErred(task);
  }

  /** `reporter` could not fetch `keys` from `errantAddress` (missing_data.ts). */
  #missingData(reporter: WorkerRecord, keys: Key[], errantAddress: WorkerAddress): void {
    const errant = this.#members.workers.get(errantAddress);
    const { remaining } = missingData(this.#moves, this.#replicas, errant, keys);
    if (remaining.length > 0) {
      const locations = remaining.map((task) => this.#replicas.location(task));
      this.#outbox.toWorker(reporter, { op: "refresh-who-has", keys: locations });
    }
  }

  /** Tasks whose retry delay is over go back to being placed. */
  releaseDueRetries(): void {
    for (const task of this.#retries.takeDue(this.#moves.now)) this.#moves.placeAgain(task);
  }

  #stealResponse(victim: WorkerRecord, msg: StealResponseMsg): void {
    const moves = this.#moves;
    const task = moves.tasks.get(msg.key);
    if (task === undefined) return;
    const info = this.#stealing.settle(task, msg.stealId);
    if (info === null || info.victim !== victim || task.processingOn !== victim) {
      moves.log("stealing", `stale steal response for ${msg.key}`, msg.key, victim.address);
      return;
    }
    const state = msg.state;
    if (state === "executing" || state === "memory" || state === "error") {
      this.#stealing.rejected++;
      // It runs there now: asking again would only block steals of tasks still queued.
      this.#stealing.pin(task, victim);
      moves.log("stealing", `${msg.key} already ${state} on ${victim.address}`, msg.key);
      return;
    }
    // The victim gave the task up (waiting/ready), or never had it: it must run elsewhere.
    moves.exitProcessing(task, false);
    const thief = info.thief;
    if (
      (state === "waiting" || state === "ready") && this.#members.isRunning(thief) &&
      (task.resources === null || hasFreeResources(thief, task.resources))
    ) {
      this.#stealing.confirmed++;
      moves.reassign(task, thief);
      moves.log("stealing", `moved ${msg.key} from ${victim.address} to ${thief.address}`, msg.key);
    } else {
      moves.recommend(task, "waiting");
    }
  }
}
