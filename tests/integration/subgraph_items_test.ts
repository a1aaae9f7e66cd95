/**
 * Items that run a whole subgraph (`RunItem.members`, posted by the local `threads` and
 * `processes` schedulers): sent to real Web Worker threads and Deno subprocesses through their
 * pools, as pool_run.ts sends them.
 */

import assert from "node:assert/strict";
import { type Delayed, delayed, shutdownProcesses } from "../../mod.ts";
import { describeFunction } from "../../core/function_codec.ts";
import { type Key, TaskRef } from "../../core/task.ts";
import { decode, encode } from "../../core/value_codec.ts";
import { ProcessPool } from "../../threads/process_pool.ts";
import { ThreadPool } from "../../threads/thread_pool.ts";
import type { TaskPool } from "../../threads/task_pool.ts";
import type { RunItem, RunResult } from "../../threads/thread_protocol.ts";
import { waitSeceded } from "../fixtures/seceding_tasks.ts";
import {
  isSeceded,
  keyAfterAwait,
  ownKey,
  secedeAndKey,
} from "../fixtures/member_context_tasks.ts";

const inc = (x: number) => x + 1;
const double = async (x: number) => {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return 2 * x;
};
const add = (x: number, y: number) => x + y;
const boom = (x: number) => {
  throw new RangeError(`no ${x}`);
};

type Member = { key: Key; fn: (...args: never[]) => unknown; args: unknown[] };

/** Starts a pool of one runner, posts `members` as one item, and settles with its results. */
async function runMembers(
  start: (onResults: (slot: number, results: RunResult[]) => void) => TaskPool,
  members: Member[],
  exports: number[],
  outside: Record<Key, unknown> = {},
  { memberRefs, shareFunctions = false }: { memberRefs?: number[]; shareFunctions?: boolean } = {},
): Promise<RunResult[]> {
  let settle!: (results: RunResult[]) => void;
  const done = new Promise<RunResult[]>((resolve) => settle = resolve);
  const pool = start((_slot, results) => settle(results));
  pool.setBusy?.(true); // an idle process pool lets the script end
  try {
    // `shareFunctions`: each distinct function once in `fns`, `fnOf` naming each member's
    const distinct = shareFunctions ? [...new Set(members.map((m) => m.fn))] : [];
    const fnOf = shareFunctions ? members.map((m) => distinct.indexOf(m.fn)) : undefined;
    const fns = (shareFunctions ? distinct : members.map((m) => m.fn))
      .map((fn) => pool.functionFor(0, describeFunction(fn)));
    const item: RunItem = {
      id: 7,
      key: members.at(-1)!.key,
      fn: fns[fnOf?.at(-1) ?? members.length - 1],
      args: encode(members.map((m) => m.args)),
      depKeys: Object.keys(outside),
      depValues: Object.values(outside).map((v) => encode(v)),
      members: {
        keys: members.map((m) => m.key),
        fns,
        ...(fnOf === undefined ? {} : { fnOf }),
        exports,
        readers: [...members.keys()].filter((i) =>
          members[i].args.some((a) => a instanceof TaskRef || (a !== null && typeof a === "object"))
        ),
        ...(memberRefs === undefined ? {} : { memberRefs }),
      },
    };
    pool.post(0, [item]);
    return await done;
  } finally {
    await pool.close();
  }
}

const pools: [string, (onResults: (slot: number, results: RunResult[]) => void) => TaskPool][] = [
  ["threads", (onResults) => new ThreadPool(1, onResults)],
  ["processes", (onResults) => new ProcessPool(1, onResults, () => {})],
];

for (const [name, start] of pools) {
  Deno.test(`${name}: an item with members runs them in order and sends back only its exports`, async () => {
    const results = await runMembers(
      start,
      [
        { key: "inc-1", fn: inc, args: [new TaskRef("x-0")] },
        { key: "double-1", fn: double, args: [new TaskRef("inc-1")] },
        { key: "add-1", fn: add, args: [new TaskRef("inc-1"), new TaskRef("double-1")] },
      ],
      [0, 2],
      { "x-0": 4 },
    );
    assert.equal(results.length, 1, "one report for the whole item");
    const [result] = results;
    assert.ok(result.ok, JSON.stringify(result));
    assert.equal(result.id, 7);
    assert.deepEqual(result.exported?.map((v) => decode(v)), [5, 15]);
    assert.equal(result.durations?.length, 3);
    assert.ok(result.durations!.every((ms) => ms >= 0));
    assert.ok(result.durations![1] >= 0.5, "the awaited member's time is its own");
  });

  Deno.test(`${name}: an argument that is an earlier member's value travels by its position`, async () => {
    const pair = (a: number, o: { v: number }) => [a, o.v];
    const [result] = await runMembers(
      start,
      [
        { key: "inc-1", fn: inc, args: [new TaskRef("x-0")] },
        // `memberRefs` puts inc-1's value in place of each null; the reference inside the
        // object is still found by key
        { key: "add-1", fn: add, args: [null, null] },
        { key: "pair-1", fn: pair, args: [null, { v: new TaskRef("add-1") }] },
      ],
      [1, 2],
      { "x-0": 4 },
      { memberRefs: [1, 0, 0, 1, 1, 0, 2, 0, 0] },
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.exported?.map((v) => decode(v)), [10, [5, 10]]);
  });

  Deno.test(`${name}: a value passed by position is not searched for references`, async () => {
    const cyclic = () => {
      const o: { self?: unknown } = {};
      o.self = o;
      return o;
    };
    const use = (o: { self: unknown }, w: { v: number }) => o.self === o ? w.v : -1;
    const [result] = await runMembers(
      start,
      [
        { key: "cyclic-1", fn: cyclic, args: [] },
        // a reader (a reference inside its second argument) whose first argument is a value
        // that contains itself: as `sync` passes it, not walked
        { key: "use-1", fn: use, args: [null, { v: new TaskRef("x-0") }] },
      ],
      [1],
      { "x-0": 4 },
      { memberRefs: [1, 0, 0] },
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.exported?.map((v) => decode(v)), [4]);
  });

  Deno.test(`${name}: members sharing a function name it once (fnOf)`, async () => {
    const [result] = await runMembers(
      start,
      [
        { key: "inc-1", fn: inc, args: [1] },
        { key: "add-1", fn: add, args: [new TaskRef("inc-1"), 10] },
        { key: "inc-2", fn: inc, args: [new TaskRef("add-1")] },
        { key: "add-2", fn: add, args: [new TaskRef("inc-2"), new TaskRef("inc-1")] },
      ],
      [3],
      {},
      { shareFunctions: true },
    );
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.exported?.map((v) => decode(v)), [15]);
  });

  Deno.test(`${name}: a member that fails ends its item with its own key and error`, async () => {
    const [result] = await runMembers(start, [
      { key: "inc-1", fn: inc, args: [1] },
      { key: "boom-1", fn: boom, args: [new TaskRef("inc-1")] },
      { key: "add-1", fn: add, args: [new TaskRef("boom-1"), 1] },
    ], [2]);
    assert.ok(!result.ok);
    assert.equal(result.error.key, "boom-1");
    assert.equal(result.error.name, "RangeError");
    assert.equal(result.error.message, "no 2");
  });
}

for (const [name, start] of pools) {
  Deno.test(`${name}: each member's task context is its own`, async () => {
    const [result] = await runMembers(start, [
      { key: "own-1", fn: ownKey, args: [1] },
      { key: "secede-2", fn: secedeAndKey, args: [new TaskRef("own-1")] },
      { key: "seceded-3", fn: isSeceded, args: [new TaskRef("secede-2")] },
      { key: "await-4", fn: keyAfterAwait, args: [new TaskRef("seceded-3")] },
      { key: "own-5", fn: ownKey, args: [new TaskRef("await-4")] },
    ], [0, 1, 2, 3, 4]);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(
      result.exported?.map((v) => decode(v)),
      ["own-1", "secede-2", false, "await-4", "own-5"],
      "each member sees its own key, and a member after one that seceded has not seceded",
    );
  });

  Deno.test(`${name}: a member that secedes lets the runner go on with later batches`, async () => {
    const order: number[] = [];
    let settle!: () => void;
    const done = new Promise<void>((resolve) => settle = resolve);
    const pool = start((_slot, results) => {
      for (const r of results) {
        assert.ok(r.ok, JSON.stringify(r));
        order.push(r.id);
      }
      if (order.length === 2) settle();
    });
    pool.setBusy?.(true);
    try {
      const fns = [inc, waitSeceded, inc].map((fn) => pool.functionFor(0, describeFunction(fn)));
      pool.post(0, [{
        id: 1,
        key: "wait-1",
        fn: fns[1],
        args: encode([[1], [200]]),
        depKeys: [],
        depValues: [],
        members: { keys: ["inc-1", "wait-1"], fns: [fns[0], fns[1]], exports: [1], readers: [] },
      }]);
      pool.post(0, [{
        id: 2,
        key: "inc-2",
        fn: fns[2],
        args: encode([2]),
        depKeys: [],
        depValues: [],
      }]);
      await done;
      assert.deepEqual(order, [2, 1], "the later batch ran while the member waited");
    } finally {
      await pool.close();
    }
  });
}

Deno.test("processes: a batch that cannot be sent leaves the pool's function links whole", async () => {
  const options = { scheduler: "processes", numWorkers: 1, optimizeGraph: false } as const;
  // two functions of one name: the second's tasks join batches sized by what the first taught
  const first = { step: (x: number) => x + 1 }.step;
  const second = { step: (x: unknown) => typeof x === "number" ? x + 2 : 0 }.step;
  const chain = (fn: (x: never) => number, start: unknown, length: number): Delayed<number> => {
    let d = delayed(fn as (x: unknown) => number)(start);
    for (let i = 1; i < length; i++) d = delayed(fn as (x: unknown) => number)(d);
    return d;
  };
  try {
    assert.equal(await chain(first, 0, 20).compute(options), 20);
    const error = await chain(second, { conn: () => 1 }, 20).compute(options)
      .then(() => null, (e) => e);
    assert.equal(error?.name, "UnserializableError", String(error));
    assert.match(error.message, /conn/);
    assert.equal(await chain(second, 0, 20).compute(options), 40);
  } finally {
    await shutdownProcesses();
  }
});
