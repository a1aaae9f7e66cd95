/** A pure SchedulerState driven by events, its books validated after each (unit tests). */

import assert from "node:assert/strict";
import type { TaskOptions } from "../../core/task.ts";
import type { GraphTaskSpec, SchedulerToClientMsg } from "../../protocol/messages.ts";
import {
  type Outgoing,
  type SchedulerConfig,
  type SchedulerEvent,
  SchedulerState,
  type WorkerSpec,
} from "../../scheduler/state.ts";

/** An event without its time (the driver supplies it unless given). */
type EventInput = SchedulerEvent extends infer E
  ? E extends SchedulerEvent ? Omit<E, "now"> & { now?: number } : never
  : never;

// A small driver: events in (time advancing by itself), books validated after each, messages out.
export class Driver {
  readonly s: SchedulerState;
  constructor(config: Partial<SchedulerConfig> = {}) {
    this.s = new SchedulerState({ stealing: false, ...config });
  }
  now = 0;

  run(event: EventInput): Outgoing[] {
    this.s.handle({ ...event, now: event.now ?? ++this.now } as SchedulerEvent);
    this.s.validate();
    return this.s.takeOutgoing();
  }

  addWorker(address: string, extra: Partial<WorkerSpec> = {}): Outgoing[] {
    return this.run({ type: "worker-added", worker: { address, nthreads: 1, ...extra } });
  }

  submit(tasks: GraphTaskSpec[], keys: string[]): Outgoing[] {
    return this.run({
      type: "client-message",
      client: "c1",
      msg: { op: "update-graph", tasks, keys },
    });
  }

  finish(key: string, nbytes = 8): Outgoing[] {
    const task = this.s.tasks.get(key)!;
    assert.equal(task.state, "processing", `${key} should be processing`);
    return this.run({
      type: "worker-message",
      worker: task.processingOn!.address,
      msg: { op: "task-finished", key, runId: task.runId, nbytes, typeName: "number" },
    });
  }

  fail(key: string): Outgoing[] {
    const task = this.s.tasks.get(key)!;
    return this.run({
      type: "worker-message",
      worker: task.processingOn!.address,
      msg: { op: "task-erred", key, runId: task.runId, error: { name: "Error", message: "no" } },
    });
  }

  state(key: string): string {
    return this.s.tasks.get(key)?.state ?? "forgotten";
  }

  on(key: string): string | undefined {
    return this.s.tasks.get(key)?.processingOn?.address;
  }
}

export const spec = (key: string, deps: string[] = [], options?: TaskOptions): GraphTaskSpec => ({
  key,
  fn: "fn",
  args: deps,
  deps,
  options,
});

export const computes = (out: Outgoing[], worker?: string): string[] =>
  out.flatMap((o) =>
    o.to === "worker" && o.msg.op === "compute-task" &&
      (worker === undefined || o.worker === worker)
      ? [o.msg.key]
      : []
  );

export const toClient = (out: Outgoing[]): SchedulerToClientMsg[] =>
  out.flatMap((o) => o.to === "client" ? [o.msg] : []);

/** `worker` reports `key` finished, run on `thread` from `start` to `stop` (scheduler clock). */
export function finishTask(
  state: SchedulerState,
  worker: string,
  key: string,
  start: number,
  stop: number,
  thread = 0,
): void {
  state.handle({
    type: "worker-message",
    worker,
    msg: {
      op: "task-finished",
      key,
      runId: state.tasks.get(key)!.runId,
      nbytes: 8,
      typeName: "number",
      start,
      stop,
      thread,
    },
    now: stop,
  });
}
