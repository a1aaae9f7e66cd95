import assert from "node:assert/strict";
import { Journal } from "../../scheduler/journal.ts";
import { JournalBook, type JournalRecord, recordsFor } from "../../scheduler/journal_book.ts";
import { packKeys, packTasks, unpackKeys, unpackTasks } from "../../scheduler/journal_tasks.ts";
import { decode, encode } from "../../core/value_codec.ts";
import { type Outgoing, SchedulerState } from "../../scheduler/state.ts";
import type { SchedulerEvent } from "../../scheduler/events.ts";
import type { ClientToSchedulerMsg, GraphTaskSpec } from "../../protocol/messages.ts";
import { computes, spec } from "../helpers/scheduler_driver.ts";

const msg = (client: string, m: ClientToSchedulerMsg): JournalRecord => ({
  t: "msg",
  client,
  msg: m,
});
const graph = (tasks: GraphTaskSpec[], keys: string[]): ClientToSchedulerMsg => ({
  op: "update-graph",
  tasks,
  keys,
});

Deno.test("the journal book keeps what wanted keys need, and lets go of the rest", () => {
  const book = new JournalBook();
  book.apply(msg("c1", graph([spec("a"), spec("b", ["a"]), spec("c", ["b"])], ["c"])));
  book.apply(msg("c2", graph([spec("x")], ["x"])));
  assert.deepEqual(book.liveTasks().map((t) => t.key), ["a", "b", "c", "x"]);
  book.apply(msg("c2", { op: "client-releases-keys", keys: ["x"] }));
  assert.deepEqual(book.liveTasks().map((t) => t.key), ["a", "b", "c"]);
  // cancelling an input lets go of what reads it too
  book.apply(msg("c1", { op: "cancel", keys: ["b"] }));
  assert.deepEqual(book.liveTasks(), []);
  book.apply(msg("c1", graph([spec("d")], ["d"])));
  book.apply({ t: "gone", client: "c1" });
  assert.ok(book.isEmpty);
  // fire-and-forget keeps a key until it is final
  book.apply(msg("c3", graph([spec("f")], ["f"])));
  book.apply(msg("c3", { op: "fire-and-forget", keys: ["f"] }));
  book.apply({ t: "gone", client: "c3" });
  assert.deepEqual(book.liveTasks().map((t) => t.key), ["f"]);
  const finished: SchedulerEvent = {
    type: "worker-message",
    worker: "tcp://w",
    msg: { op: "task-finished", key: "f", nbytes: 8, typeName: "number" },
    now: 1,
  } as SchedulerEvent;
  for (const record of recordsFor(finished, book.fireAndForget)) book.apply(record);
  assert.ok(book.isEmpty);
});

Deno.test("the journal book folds queues, variables and leases, keeps them through a snapshot, and a client that left gives its leases back", () => {
  const value = (x: number) => ({ value: encode(x), keys: [`k${x}`] });
  const book = new JournalBook();
  const records: JournalRecord[] = [
    { t: "queue-declare", name: "q", maxsize: 3 },
    { t: "queue-put", name: "q", item: value(1) },
    { t: "queue-put", name: "q", item: value(2) },
    { t: "queue-put", name: "q", item: value(3) },
    { t: "queue-take", name: "q", n: 1 },
    { t: "queue-put", name: "unbounded", item: value(4) },
    { t: "queue-take", name: "unbounded", n: 1 },
    { t: "variable", name: "v", value: value(5) },
    { t: "variable", name: "gone", value: value(6) },
    { t: "variable", name: "gone", value: null },
    { t: "semaphore", name: "lock-a", maxLeases: 1 },
    { t: "lease", name: "lock-a", lease: "l1", holder: "c1" },
    { t: "semaphore", name: "pool", maxLeases: 2 },
    { t: "lease", name: "pool", lease: "p1", holder: "c1" },
    { t: "lease", name: "pool", lease: "p2", holder: "c2" },
    { t: "lease", name: "pool", lease: "p1", holder: null },
  ];
  for (const record of records) book.apply(record);
  const look = (b: JournalBook) => ({
    queues: [...b.queues].map(([name, q]) => [name, q.maxsize, q.items.map((i) => i.keys[0])]),
    variables: [...b.variables].map(([name, v]) => [name, v.keys]),
    leases: [...b.semaphores].map(([name, s]) => [name, s.maxLeases, [...s.leases]]),
  });
  const expected = {
    queues: [["q", 3, ["k2", "k3"]]],
    variables: [["v", ["k5"]]],
    leases: [["lock-a", 1, [["l1", "c1"]]], ["pool", 2, [["p2", "c2"]]]],
  };
  assert.deepEqual(look(book), expected);
  assert.deepEqual([...book.leaseHolders()], ["c1", "c2"]);
  assert.ok(!book.isEmpty);
  const again = new JournalBook();
  again.apply(decode(encode(book.snapshot(), { frameThreshold: Infinity })) as JournalRecord);
  assert.deepEqual(look(again), expected);
  again.apply({ t: "gone", client: "c1" });
  assert.deepEqual(look(again).leases, [["lock-a", 1, []], ["pool", 2, [["p2", "c2"]]]]);
});

Deno.test("journal columns: long key lists and dependencies come back exactly, whatever the keys hold", () => {
  const roundTrip = <T>(value: T): T => decode(encode(value, { frameThreshold: Infinity })) as T;
  const plain = Array.from({ length: 100 }, (_, i) => `k-${i}`);
  const unicode = plain.map((key) => `${key}-ünïcødé-✓`);
  const withNul = [...plain, "a\0b"];
  for (const keys of [plain, unicode, withNul, ["short"]]) {
    assert.deepEqual(unpackKeys(roundTrip(packKeys(keys))), keys);
  }
  assert.ok(!Array.isArray(packKeys(plain)), "a long plain list is packed");
  assert.ok(Array.isArray(packKeys(withNul)), "a list with a NUL in a key stays a list");
  const tasks: GraphTaskSpec[] = plain.map((key, i) => ({
    ...spec(key, i === 0 ? [] : [plain[i - 1], plain[0]].slice(0, 1 + (i % 2))),
    options: i === 3 ? { priority: 2 } : undefined,
  }));
  for (const task of tasks) if (task.options === undefined) delete task.options;
  const back = unpackTasks(roundTrip(packTasks(tasks)));
  assert.deepEqual(
    back.map((t) => [t.key, t.deps, t.options]),
    tasks.map((t) => [t.key, t.deps, t.options]),
  );
});

Deno.test("journal files: reopened they give the same book; a torn tail is dropped; a function is stored once", () => {
  const dir = Deno.makeTempDirSync({ prefix: "journal-unit-" });
  try {
    const big = { id: "fn-1", source: "x".repeat(10_000) };
    const tasks = Array.from({ length: 200 }, (_, i) => ({ ...spec(`t${i}`), fn: big }));
    const first = Journal.open(dir);
    first.append([msg("c1", graph(tasks, tasks.map((t) => t.key)))]);
    first.append([{
      t: "dataset",
      name: "kept",
      dataset: { keys: ["t0"], value: { body: new Uint8Array([1, 2, 3]), frames: [] } },
    }]);
    first.write();
    // the function's 10 kB source went to disk once, not 200 times
    const logBytes = () =>
      [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("log-"))
        .reduce((n, e) => n + Deno.statSync(`${dir}/${e.name}`).size, 0);
    assert.ok(logBytes() < 40_000, `${logBytes()} bytes`);
    first.close();
    // a scheduler killed mid-write leaves half a frame
    const log = [...Deno.readDirSync(dir)].find((e) => e.name.startsWith("log-"))!.name;
    Deno.writeFileSync(`${dir}/${log}`, new Uint8Array([200, 0, 0, 0, 1, 2]), { append: true });

    const second = Journal.open(dir);
    assert.ok(second.tornAtOpen);
    assert.equal(second.book.liveTasks().length, 200);
    assert.equal((second.book.liveTasks()[199].fn as { source: string }).source.length, 10_000);
    assert.deepEqual([...second.book.datasets.keys()], ["kept"]);
    assert.deepEqual([...second.book.datasets.get("kept")!.value.body], [1, 2, 3]);
    second.append([msg("c1", { op: "client-releases-keys", keys: tasks.map((t) => t.key) })]);
    second.compact();
    second.close();
    // one generation on disk: its snapshot (nothing wanted: no task) and its empty log
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "log-1.bin",
      "snapshot-1.bin",
    ]);
    assert.ok(Deno.statSync(`${dir}/snapshot-1.bin`).size < 1000);
    const third = Journal.open(dir);
    assert.ok(!third.tornAtOpen);
    assert.deepEqual(third.book.liveTasks(), []);
    assert.deepEqual([...third.book.datasets.keys()], ["kept"]);
    third.close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a replayed graph adopts the results reconnected workers hold instead of computing them", () => {
  const s = new SchedulerState({ stealing: false, restartGrace: 10 });
  const run = (event: SchedulerEvent): Outgoing[] => {
    s.handle(event);
    s.validate();
    return s.takeOutgoing();
  };
  // the worker comes back holding a (finished, wanted) and b (an input of the unfinished c)
  run({
    type: "worker-added",
    worker: {
      address: "tcp://w1",
      nthreads: 1,
      keys: [{ key: "a", nbytes: 8, typeName: "number" }, { key: "b", nbytes: 8 }],
    },
    now: 1,
  });
  const book = new JournalBook();
  book.apply(msg("c1", graph([spec("a"), spec("b"), spec("c", ["b"])], ["a", "c"])));
  const out = book.replayEvents(2).flatMap(run);
  // only c runs; a and b are in memory on the worker that brought them
  assert.deepEqual(computes(out), ["c"]);
  assert.equal(s.tasks.get("a")?.state, "memory");
  assert.equal(s.tasks.get("b")?.state, "memory");
  assert.deepEqual([...s.clients.get("c1")!.wantsWhat].map((t) => t.key).sort(), ["a", "c"]);
  assert.equal(s.clients.get("journal-replay"), undefined);
});
