// Arrays of records (plain objects sharing their keys): written with the keys once
// (EXT_RECORDS, core/value_codec.ts), read back whole or one field at a time.

import assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix
import * as reference from "npm:@msgpack/msgpack@^3";
import { decode, decodedLength, DecodeError, decodeField, encode } from "../../core/value_codec.ts";
import { UnserializableError } from "../../core/errors.ts";
import { EXT_RECORDS, MIN_RECORDS } from "../../core/codec_kinds.ts";

const records = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: ["PushEvent", "WatchEvent", "ForkEvent"][i % 3],
    repo: `org${i % 7}/repo${i}`,
    size: i % 2 === 0 ? i * 1.5 : -i,
    tags: i % 5 === 0 ? undefined : [i, { deep: `x${i}` }],
    when: new Date(1e12 + i),
  }));

/** The extension type of a body that starts with an ext32 header, else undefined. */
const extType = (body: Uint8Array) => body[0] === 0xc9 ? body[5] : undefined;

Deno.test("an array of records travels with its keys once and comes back equal", () => {
  const value = records(500);
  const encoded = encode(value);
  assert.equal(extType(encoded.body), EXT_RECORDS);
  assert.deepStrictEqual(decode(encoded), value);
  // a third smaller than a map per record (the reference writes maps; it has no undefined/Date)
  const plain = value.map(({ type, repo, size }) => ({ type, repo, size }));
  assert.ok(encode(plain).body.length < 0.75 * reference.encode(plain).length);
  assert.deepStrictEqual(decode(encode(plain)), plain);
});

Deno.test("records nest: an array of records inside a record, inside a Map, in frames", () => {
  const inner = records(20);
  const value = new Map([["rows", Array.from({ length: 20 }, (_, i) => ({ i, inner }))]]);
  assert.deepStrictEqual(decode(encode(value)), value);
  const big = Array.from({ length: 20 }, (_, i) => ({ i, data: new Float64Array(10_000).fill(i) }));
  const encoded = encode(big);
  assert.equal(encoded.frames.length, 20, "large buffers inside records stay frames");
  assert.deepStrictEqual(decode(encoded), big);
});

Deno.test("arrays that are not all records of one shape are written item by item", () => {
  const n = MIN_RECORDS + 4;
  const cases: unknown[][] = [
    [...records(n - 1), { other: 1 }], // the last differs
    [...records(n - 1).map(({ type, repo }) => ({ type, repo })), { repo: "r", type: "t" }], // order
    [...records(n - 1), [1, 2]],
    [...records(n - 1), null],
    [...records(n - 1), new Map()],
    Array.from({ length: n }, () => ({})), // no keys
    records(MIN_RECORDS - 1), // short
    Array.from({ length: n }, (_, i) => Object.fromEntries([...Array(70)].map((_, k) => [k, i]))),
  ];
  for (const value of cases) {
    const encoded = encode(value);
    assert.notEqual(extType(encoded.body), EXT_RECORDS);
    assert.deepStrictEqual(decode(encoded), value);
  }
  const nullProto = Array.from({ length: n }, (_, i) => Object.assign(Object.create(null), { i }));
  assert.deepEqual(decode(encode(nullProto)), nullProto.map(({ i }) => ({ i })));
});

Deno.test("a getter inside records is read once, and what cannot travel is named by its path", () => {
  let reads = 0;
  const withGetter = Array.from({ length: MIN_RECORDS }, (_, i) => ({
    get v() {
      reads++;
      return i;
    },
  }));
  const mixed = [...withGetter, { other: true }];
  decode(encode(mixed));
  assert.equal(reads, MIN_RECORDS, "a getter is read once even when the array is not records");
  const bad = records(30).map((r, i) => i === 21 ? { ...r, tags: [0, () => 1] } : r);
  assert.throws(
    () => encode(bad, { rootName: "args" }),
    (e: unknown) => e instanceof UnserializableError && e.message.includes("args[21].tags[1]"),
  );
  const cyclic = records(30) as unknown[];
  (cyclic[25] as { tags: unknown }).tags = cyclic;
  assert.throws(() => encode(cyclic), /cycle/i);
  assert.throws(
    () => encode(Array.from({ length: 20 }, () => JSON.parse('{"__proto__": 1}'))),
    /__proto__/,
  );
});

Deno.test("one field of the records is read without building the records", () => {
  const value = records(300);
  const body = encode(value, { frameThreshold: Infinity }).body;
  assert.deepStrictEqual(decodeField(body, "repo"), value.map((r) => r.repo));
  assert.deepStrictEqual(decodeField(body, "tags"), value.map((r) => r.tags));
  assert.deepStrictEqual(decodeField(body, "when"), value.map((r) => r.when));
  assert.equal(decodeField(body, "missing"), undefined);
  assert.equal(decodeField(encode([1, 2, 3]).body, "x"), undefined);
  assert.equal(decodeField(encode({ repo: 1 }).body, "repo"), undefined);
  assert.equal(decodedLength(body), 300);
  assert.equal(decodedLength(encode([]).body), 0);
  assert.equal(decodedLength(encode(new Array(70_000).fill(1)).body), 70_000);
  assert.equal(decodedLength(encode("abc").body), undefined);
});

Deno.test("a truncated or altered records payload is a DecodeError", () => {
  const body = encode(records(40), { frameThreshold: Infinity }).body;
  for (let cut = 1; cut < body.length; cut += 7) {
    const part = body.subarray(0, cut);
    assert.throws(() => decode({ body: part, frames: [] }), DecodeError, `cut at ${cut}`);
    assert.throws(() => decodeField(part, "repo"), DecodeError, `field, cut at ${cut}`);
  }
  // ext32 header (6 bytes), the keys (an array of 5 fixstr of 4 letters), then the count
  const countAt = 6 + 1 + 5 * 5;
  assert.equal(body[countAt], 40);
  for (const count of [39, 41]) {
    const altered = body.slice();
    altered[countAt] = count;
    assert.throws(() => decode({ body: altered, frames: [] }), DecodeError, `count ${count}`);
    assert.throws(() => decodeField(altered, "size"), DecodeError, `field, count ${count}`);
  }
});

Deno.test("long arrays of distinct strings, then recurring ones, decode equal", () => {
  // the first items decide whether the rest goes through the table of recent strings
  const distinct = Array.from({ length: 300 }, (_, i) => `id-${i * 7919}`);
  const recurring = Array.from({ length: 300 }, (_, i) => ["a", "bb", "ccc"][i % 3]);
  for (const value of [distinct, [...distinct, ...recurring], [...recurring, ...distinct]]) {
    assert.deepStrictEqual(decode(encode(value)), value);
  }
  const withOthers = [...distinct.slice(0, 100), 1, null, "é".repeat(20), [distinct], ...distinct];
  assert.deepStrictEqual(decode(encode(withOthers)), withOthers);
});
