import assert from "node:assert/strict";
import { BandwidthMeter } from "../../scheduler/dashboard/bandwidth_view.ts";
import { SchedulerState } from "../../scheduler/state.ts";

const A = "tcp://127.0.0.1:1001";
const B = "tcp://127.0.0.1:1002";

function twoWorkers(): SchedulerState {
  const state = new SchedulerState();
  for (const address of [A, B]) {
    state.handle({ type: "worker-added", worker: { address, nthreads: 1 }, now: 0 });
  }
  return state;
}

function heartbeat(
  state: SchedulerState,
  worker: string,
  now: number,
  peers: Record<string, number>,
) {
  state.handle({
    type: "worker-message",
    worker,
    msg: {
      op: "heartbeat",
      metrics: {},
      transfers: { peers, types: { number: Object.values(peers)[0] } },
    },
    now,
  });
}

Deno.test("bandwidth: bytes per second by worker pair, per worker and by type, over a window", () => {
  const state = twoWorkers();
  const meter = new BandwidthMeter(5);
  meter.sample(state, 0);
  heartbeat(state, B, 1, { [A]: 1000 });
  heartbeat(state, B, 2, { [A]: 1500 });
  meter.sample(state, 2);
  const view = meter.view(state, 5);
  assert.deepEqual(view.pairs, [{ to: B, from: A, rate: 500, total: 2500 }]);
  assert.deepEqual(view.workers, [{ address: A, in: 0, out: 500 }, {
    address: B,
    in: 500,
    out: 0,
  }]);
  assert.deepEqual(view.types, [{ type: "number", rate: 500, total: 2500 }]);
  // Nothing more moves: once the window has passed the snapshot that saw it all, the rate is 0.
  meter.sample(state, 8);
  assert.deepEqual(meter.view(state, 13).pairs, [{ to: B, from: A, rate: 0, total: 2500 }]);
});
