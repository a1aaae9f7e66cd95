import assert from "node:assert/strict";
import { decode, encode } from "../../core/value_codec.ts";
import { WorkerState } from "../../worker/state.ts";
import { SpillDirectory } from "../../worker/spill.ts";
import { DataStore, type StoredValue } from "../../worker/store.ts";

/** A stored Float64Array of `n` elements filled with `fill` (8n bytes, travels as a frame). */
function array(n: number, fill: number): StoredValue {
  return {
    encoded: encode(new Float64Array(n).fill(fill)),
    nbytes: 8 * n,
    typeName: "Float64Array",
  };
}

function files(dir: string | null): number {
  return dir === null ? 0 : [...Deno.readDirSync(dir)].length;
}

Deno.test("spill files keep body and frames, read back as aligned views", () => {
  const parent = Deno.makeTempDirSync();
  try {
    const spill = new SpillDirectory({ parent });
    const value = { a: new Float64Array([1.5, 2.5, 3.5]), b: "text", c: new Uint8Array(5000) };
    const location = spill.write(encode(value));
    assert.ok(spill.path!.startsWith(parent));
    const back = spill.read(location);
    for (const frame of back.frames) assert.equal(frame.byteOffset % 8, 0);
    assert.deepEqual(decode(back), value);
    // frames in shared memory (a worker's received data) are written the same way
    const encoded = encode(value);
    const shared = encoded.frames.map((frame) => {
      const copy = new Uint8Array(new SharedArrayBuffer(frame.byteLength));
      copy.set(frame);
      return copy;
    });
    const sharedLocation = spill.write({ body: encoded.body, frames: shared });
    assert.deepEqual(decode(spill.read(sharedLocation)), value);
    spill.delete(sharedLocation);
    spill.delete(location);
    assert.equal(files(spill.path), 0);
    spill.remove();
    assert.equal([...Deno.readDirSync(parent)].length, 0);
  } finally {
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("the store spills least recently used values past its target and reads them back", () => {
  const spill = new SpillDirectory();
  try {
    const store = new DataStore({ spill, targetBytes: 2000 });
    store.set("a", array(100, 1)); // 800 B each
    store.set("b", array(100, 2));
    store.get("a"); // a is now more recent than b
    store.set("c", array(100, 3)); // 2400 B > 2000: b (least recently used) goes to disk
    assert.equal(store.memoryBytes, 1600);
    assert.equal(store.spilledBytes, 800);
    assert.equal(store.nbytes, 2400);
    assert.equal(store.size, 3);
    assert.ok(store.isSpilled("b"));
    assert.ok(store.spilledDiskBytes >= 800);
    assert.equal(files(spill.path), 1);
    assert.deepEqual(store.describe().map((d) => d.key).sort(), ["a", "b", "c"]);
    // Reading b back while memory is full leaves it on disk: the reader owns fresh buffers.
    const fresh = store.getOwned("b")!;
    assert.equal(fresh.owned, true);
    assert.deepEqual(decode(fresh.value.encoded), new Float64Array(100).fill(2));
    assert.ok(store.isSpilled("b"));
    // With room again, reading it moves it back into memory (shared buffers: not owned).
    store.delete("c");
    const back = store.getOwned("b")!;
    assert.equal(back.owned, false);
    assert.equal(back.value.typeName, "Float64Array");
    assert.ok(!store.isSpilled("b"));
    assert.equal(store.memoryBytes, 1600);
    assert.equal(store.unspillCount, 2);
    store.set("d", array(100, 4)); // 2400 B: a, now least recently used, goes to disk
    assert.ok(store.isSpilled("a"));
    assert.equal(store.spillCount, 2);
    // Deleting a spilled value removes its file; clear removes the rest.
    assert.equal(store.delete("a"), true);
    assert.equal(files(spill.path), 0);
    store.spillUntil(0);
    assert.equal(store.memoryBytes, 0);
    assert.equal(files(spill.path), 2); // b and d
    store.clear();
    assert.equal(files(spill.path), 0);
    assert.equal(store.nbytes, 0);
  } finally {
    spill.remove();
  }
});

Deno.test("a value bigger than the target goes straight to disk and stays there when read", () => {
  const spill = new SpillDirectory();
  try {
    const store = new DataStore({ spill, targetBytes: 1000 });
    store.set("small", array(10, 1));
    store.set("big", array(1000, 7)); // 8000 B
    assert.ok(store.isSpilled("big"));
    assert.ok(!store.isSpilled("small"));
    assert.equal((decode(store.get("big")!.encoded) as Float64Array)[999], 7);
    assert.ok(store.isSpilled("big"));
    assert.equal(store.memoryBytes, 80);
  } finally {
    spill.remove();
  }
});

Deno.test("without a spill directory nothing is spilled; a failing disk keeps values in memory", () => {
  const plain = new DataStore({ targetBytes: 10 });
  plain.set("a", array(100, 1));
  assert.equal(plain.memoryBytes, 800);
  assert.equal(plain.spillUntil(0), 0);

  const errors: string[] = [];
  const spill = new SpillDirectory({ parent: "/proc/no-such-place" });
  const store = new DataStore({ spill, targetBytes: 10, onSpillError: (key) => errors.push(key) });
  store.set("a", array(100, 1));
  assert.deepEqual(errors, ["a"]);
  assert.equal(store.memoryBytes, 800);
  assert.ok(store.get("a") !== undefined);
});

Deno.test("a paused worker state starts no task and no transfer until it resumes", () => {
  const w = new WorkerState({ address: "w1", nthreads: 2 });
  const held = w.handle({ type: "pause", now: 1 });
  held.push(...w.handle({
    type: "scheduler-message",
    msg: {
      op: "compute-task",
      key: "x",
      runId: 1,
      fn: "f",
      args: [],
      priority: [0, 0, 0],
      deps: [{ key: "remote", nbytes: 8, workers: ["w2"] }],
      resources: null,
      duration: 1,
    },
    now: 2,
  }));
  held.push(...w.handle({
    type: "scheduler-message",
    msg: {
      op: "compute-task",
      key: "y",
      runId: 2,
      fn: "f",
      args: [],
      priority: [0, 0, 1],
      deps: [],
      resources: null,
      duration: 1,
    },
    now: 3,
  }));
  assert.deepEqual(held, []);
  assert.equal(w.executing, 0);
  w.validate();
  const kinds = w.handle({ type: "resume", now: 4 }).map((i) => i.type);
  assert.deepEqual(kinds, ["execute", "gather-dependencies"]);
  assert.equal(w.executing, 1);
  w.validate();
});

Deno.test("a killed worker's spill directory is removed by the next one; a live one's is kept", async () => {
  const parent = Deno.makeTempDirSync();
  const spillModule = new URL("../../worker/spill.ts", import.meta.url).href;
  const codecModule = new URL("../../core/value_codec.ts", import.meta.url).href;
  // A process that spills one value, prints its directory, then waits to be killed.
  const spiller = () =>
    new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { SpillDirectory } from "${spillModule}";
         import { encode } from "${codecModule}";
         const spill = new SpillDirectory({ parent: ${JSON.stringify(parent)} });
         spill.write(encode(new Float64Array(10)));
         console.log(spill.path);
         setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  const started: Deno.ChildProcess[] = [];
  const directoryOf = async (child: Deno.ChildProcess) => {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    const { value } = await reader.read();
    reader.releaseLock();
    return value!.trim();
  };
  try {
    const killed = spiller();
    started.push(killed);
    const live = spiller();
    started.push(live);
    await directoryOf(killed); // it has spilled
    const liveDirectory = await directoryOf(live);
    killed.kill("SIGKILL");
    await killed.status;

    const spill = new SpillDirectory({ parent });
    spill.write(encode(new Float64Array(10)));
    const left = [...Deno.readDirSync(parent)].map((e) => `${parent}/${e.name}`).sort();
    assert.deepEqual(
      left,
      [liveDirectory, liveDirectory + ".lock", spill.path!, spill.path! + ".lock"].sort(),
      "the killed worker's directory and lock are gone, the live worker's stay",
    );
    spill.remove();
  } finally {
    for (const child of started) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
      await child.stdout.cancel().catch(() => {});
    }
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("a full spill directory stops spilling until a spilled value is deleted", () => {
  const parent = Deno.makeTempDirSync();
  const directory = new SpillDirectory({ parent });
  const changes: (string | null)[] = [];
  const bytes = (n: number) => ({
    encoded: { body: new Uint8Array(8), frames: [new Uint8Array(n)] },
    nbytes: n,
    typeName: "Uint8Array",
  });
  try {
    const store = new DataStore({
      spill: directory,
      targetBytes: 1000,
      spillLimitBytes: 2500,
      onSpillFull: (reason) => changes.push(reason),
    });
    store.set("a", bytes(1200)); // bigger than the target: to disk
    store.set("b", bytes(1200));
    assert.equal(store.spilledKeys, 2);
    assert.equal(store.spillFull, null);
    store.set("c", bytes(1200)); // would pass the limit: stays in memory, and spilling stops
    assert.equal(store.spilledKeys, 2);
    assert.ok(store.has("c") && !store.isSpilled("c"));
    assert.match(store.spillFull ?? "", /spill limit of 2500 bytes is reached/);
    assert.equal(changes.length, 1);
    store.set("d", bytes(10)); // not even tried while full
    assert.equal(store.spilledKeys, 2);
    store.delete("a"); // room on disk again
    assert.equal(store.spillFull, null);
    assert.deepEqual(changes.slice(1), [null]);
    store.spillUntil(0);
    assert.ok(store.isSpilled("c"), "spilling resumed");
    // a write that fails (here: the directory is gone, as with ENOSPC) also stops spilling
    store.delete("b");
    assert.equal(store.spillFull, null);
    Deno.removeSync(directory.path!, { recursive: true });
    store.set("e", bytes(1200));
    assert.ok(store.has("e") && !store.isSpilled("e"));
    assert.match(store.spillFull ?? "", /writing e failed/);
  } finally {
    directory.remove();
    Deno.removeSync(parent, { recursive: true });
  }
});

Deno.test("results live in a task thread count as memory, spill once encoded, and go with their thread", () => {
  const spill = new SpillDirectory();
  try {
    const store = new DataStore({ spill, targetBytes: 2000 });
    const asked: string[][] = [];
    store.spillLive = (keys) => asked.push(keys);
    store.setLive("a", { thread: 0, nbytes: 800, typeName: "DataFrame" });
    store.setLive("b", { thread: 1, nbytes: 800, typeName: "DataFrame" });
    assert.equal(store.memoryBytes, 1600);
    assert.equal(store.liveBytes, 1600);
    assert.equal(store.liveThread("a"), 0);
    assert.deepEqual(store.describeKey("b"), { nbytes: 800, typeName: "DataFrame" });
    // bytes are made only when it moves: reading it before is a bug, said plainly
    assert.throws(() => store.get("a"), /a is live in task thread 0; export it/);
    // past the target: encoded values spill first (none here), then the oldest live result is
    // asked for its bytes — once
    store.setLive("c", { thread: 0, nbytes: 800, typeName: "DataFrame" });
    assert.deepEqual(asked, [["a"]]);
    // one more value while a's bytes are on their way: a counts as gone, nothing else spills
    store.set("d", array(10, 4));
    assert.deepEqual(asked, [["a"]]);
    assert.equal(store.isSpilled("d"), false);
    // its bytes come: written to disk, memory back under the target
    store.spillEncoded("a", array(100, 1).encoded);
    assert.equal(store.isSpilled("a"), true);
    assert.equal(store.memoryBytes, 1680);
    assert.equal(store.spillCount, 1);
    assert.equal((decode(store.get("a")!.encoded) as Float64Array)[0], 1);
    // a live result whose bytes came for a reader is an ordinary value from then on
    assert.equal(store.fill("b", array(100, 2).encoded), true);
    assert.equal(store.liveThread("b"), undefined);
    assert.equal((decode(store.get("b")!.encoded) as Float64Array)[0], 2);
    assert.equal(store.fill("b", array(100, 2).encoded), false);
    // thread 0 ends: its live result is gone (its spilled one stays)
    assert.deepEqual(store.dropThread(0), ["c"]);
    assert.equal(store.has("c"), false);
    assert.equal(store.has("a"), true);
    assert.equal(store.liveBytes, 0);
    assert.equal(store.memoryBytes, 880);
  } finally {
    spill.remove();
  }
});
