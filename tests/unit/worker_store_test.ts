import assert from "node:assert/strict";
import { NDArray } from "../../core/ndarray.ts";
import { encode } from "../../core/value_codec.ts";
import { encodedBytes, encodedTypeName } from "../../worker/encoded_info.ts";
import { formatBytes, parseMemoryLimit } from "../../worker/memory_limit.ts";
import { DataStore } from "../../worker/store.ts";
import { SharedGarbage } from "../../threads/shared_garbage.ts";

const value = (n: number) => ({ encoded: encode(n), nbytes: n, typeName: "number" });

Deno.test("the store keeps values least recently used first and counts their bytes", () => {
  const store = new DataStore();
  store.set("a", value(10));
  store.set("b", value(20));
  store.set("c", value(30));
  assert.equal(store.nbytes, 60);
  store.get("a"); // a is now the most recently used
  assert.deepEqual([...store.leastRecentlyUsed()].map(([k]) => k), ["b", "c", "a"]);
  store.set("b", value(5)); // replacing counts the new size only
  assert.equal(store.nbytes, 45);
  assert.deepEqual(store.describe().map((d) => d.key), ["c", "a", "b"]);
  assert.equal(store.delete("c"), true);
  assert.equal(store.delete("c"), false);
  assert.equal(store.nbytes, 15);
  assert.equal(store.size, 2);
});

Deno.test("values leaving the store count their shared memory towards a collection", () => {
  const garbage = new SharedGarbage(1000);
  const store = new DataStore({ sharedGarbage: garbage });
  const withFrame = (frame: Uint8Array) => ({
    encoded: { body: new Uint8Array(1), frames: [frame] },
    nbytes: frame.byteLength,
    typeName: "Uint8Array",
  });
  store.set("private", withFrame(new Uint8Array(5000)));
  store.set("shared", withFrame(new Uint8Array(new SharedArrayBuffer(600))));
  store.set("shared-too", withFrame(new Uint8Array(new SharedArrayBuffer(600))));
  store.delete("private"); // V8 counts ordinary buffers itself
  assert.equal(garbage.due(), false);
  store.delete("shared");
  assert.equal(garbage.due(), false);
  store.clear();
  assert.equal(garbage.due(), true); // 1,200 bytes dropped
  assert.equal(garbage.due(), false); // and the tally starts again

  // A buffer that many tasks read counts once until the next collection.
  // (each task gets its own wrapper of the same memory: the key is what tells them apart)
  for (let task = 0; task < 5; task++) {
    garbage.drop("table", [new Uint8Array(new SharedArrayBuffer(600))]);
  }
  assert.equal(garbage.due(), false);
  garbage.drop("other", [new Uint8Array(new SharedArrayBuffer(400))]);
  assert.equal(garbage.due(), true);
});

Deno.test("memory limits parse as bytes, units, auto and none", () => {
  const auto = { nthreads: 2, cores: 8, totalMemory: () => 16e9 };
  assert.equal(parseMemoryLimit("4GB", auto), 4e9);
  assert.equal(parseMemoryLimit("512MiB", auto), 512 * 2 ** 20);
  assert.equal(parseMemoryLimit("1.5 tb", auto), 1.5e12);
  assert.equal(parseMemoryLimit("4000000000", auto), 4e9);
  assert.equal(parseMemoryLimit("2e9", auto), 2e9);
  assert.equal(parseMemoryLimit("auto", auto), 4e9); // 16 GB × 2/8
  assert.equal(parseMemoryLimit("auto", { ...auto, nthreads: 16 }), 16e9); // capped at all of it
  assert.equal(parseMemoryLimit("none", auto), 0);
  assert.equal(parseMemoryLimit("0", auto), 0);
  assert.throws(() => parseMemoryLimit("4 parsecs", auto), /Invalid memory limit "4 parsecs"/);
  assert.throws(() => parseMemoryLimit("-1GB", auto), /Invalid memory limit/);
  assert.equal(formatBytes(4e9), "4.00 GB");
  assert.equal(formatBytes(512 * 2 ** 20), "536.87 MB");
  assert.equal(formatBytes(12), "12 B");
});

Deno.test("an encoded value's type and size are read without decoding it", () => {
  const cases: [unknown, string][] = [
    [1, "number"],
    [-3.5, "number"],
    [2 ** 40, "number"],
    ["text", "string"],
    ["x".repeat(300), "string"],
    [null, "null"],
    [undefined, "undefined"],
    [true, "boolean"],
    [[1, 2], "Array"],
    [{ a: 1 }, "Object"],
    [new Map([[1, 2]]), "Map"],
    [new Set([1]), "Set"],
    [new Date(0), "Date"],
    [10n, "bigint"],
    [new Float64Array(4), "Float64Array"],
    [new Float64Array(100_000), "Float64Array"], // out of band
    [new Uint8Array(3), "Uint8Array"],
    [new NDArray(new Float64Array(4), [2, 2]), "NDArray"],
    // an array of same-shape records travels as the codec's records extension
    [Array.from({ length: 20 }, (_, i) => ({ id: i, name: `n${i}` })), "Array"],
    [new BigInt64Array(3), "BigInt64Array"],
    [new Int16Array(3), "Int16Array"],
    [new DataView(new ArrayBuffer(8)), "DataView"],
    [new ArrayBuffer(8), "ArrayBuffer"],
  ];
  for (const [v, name] of cases) assert.equal(encodedTypeName(encode(v)), name, String(v));
  const big = encode(new Float64Array(100_000));
  assert.ok(encodedBytes(big) >= 800_000 && encodedBytes(big) < 800_100);
});
