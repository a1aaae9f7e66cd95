// The value decoder held to the reference msgpack implementation, both directions.

import * as assert from "node:assert/strict";
// deno-lint-ignore no-import-prefix
import * as reference from "npm:@msgpack/msgpack@^3";
import { decode, DecodeError, encode } from "../../core/value_codec.ts";
import { EVERY_NUMBER_WIDTH } from "../fixtures/number_samples.ts";

const body = (bytes: Uint8Array) => ({ body: bytes, frames: [] });

/** Plain msgpack values covering every width of every type the format has. */
function plainSamples(): unknown[] {
  const numbers = [...EVERY_NUMBER_WIDTH, Number.MAX_VALUE, -1.25e300];
  const strings = [
    "",
    "a",
    "x".repeat(31),
    "y".repeat(32),
    "z".repeat(255),
    "w".repeat(256),
    "v".repeat(70000),
    "héllo wörld",
    "日本語のテキスト",
    "emoji 🎉 and more 🚀",
    "tcp://127.0.0.1:8786",
    "é".repeat(200),
  ];
  const arrays = [
    [],
    [1, "two", null],
    Array.from({ length: 16 }, (_, i) => i),
    new Array(70000).fill(7),
  ];
  const maps = [
    {},
    { op: "task-finished", key: "inc-0123456789abcdef", nbytes: 8 },
    Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
    { nested: { deeper: [{ deepest: true }] } },
  ];
  return [null, true, false, ...numbers, ...strings, ...arrays, ...maps, {
    all: [numbers, strings, maps],
  }];
}

Deno.test("plain msgpack written by the reference library decodes as the reference reads it", () => {
  for (const value of plainSamples()) {
    const bytes = reference.encode(value);
    assert.deepEqual(decode(body(bytes)), reference.decode(bytes));
  }
});

Deno.test("what our encoder writes, the reference library reads back the same", () => {
  for (const value of plainSamples()) {
    const encoded = encode(value);
    assert.deepEqual(reference.decode(encoded.body), value);
    assert.deepEqual(decode(encoded), value);
  }
});

Deno.test("float32 and bin, which our encoder never writes, are read as the reference reads them", () => {
  const float32 = new Uint8Array([0xca, 0x3f, 0xc0, 0x00, 0x00]); // 1.5
  assert.equal(decode(body(float32)), reference.decode(float32));
  const bin = reference.encode(new Uint8Array([1, 2, 3]));
  const decoded = decode(body(bin)) as Uint8Array;
  assert.deepEqual([...decoded], [1, 2, 3]);
  bin[bin.length - 1] = 9;
  assert.deepEqual([...decoded], [1, 2, 3], "bin data is a copy, not a view of the body");
});

Deno.test("short strings that collide in the string table never come back as each other", () => {
  // 20,000 distinct short strings through a 4,096-slot table: collisions are certain.
  const strings = Array.from({ length: 20_000 }, (_, i) => `k-${(i * 7919).toString(36)}`);
  for (let round = 0; round < 2; round++) {
    assert.deepEqual(decode(encode(strings)), strings);
  }
  // Same length, bytes differing in one place.
  const near = ["abcdefgh", "abcdefgi", "bbcdefgh", "abcdefgh"];
  assert.deepEqual(decode(encode(near)), near);
});

Deno.test("every truncation of a message is a DecodeError, never a crash or a wrong value", () => {
  const message = encode({
    op: "compute-task",
    key: "inc-0123456789abcdef",
    args: { body: new Uint8Array([1, 2, 3]), frames: [] },
    priority: [0, 1, 2],
    when: new Date(0),
    big: 2n ** 70n,
    map: new Map([["a", 1]]),
    set: new Set([1, 2]),
    text: "é".repeat(40),
  });
  for (let cut = 0; cut < message.body.length; cut++) {
    assert.throws(
      () => decode({ body: message.body.subarray(0, cut), frames: [] }),
      DecodeError,
      `a body cut at ${cut} of ${message.body.length} bytes`,
    );
  }
});

Deno.test("bytes after the value, a __proto__ key and non-string keys are refused", () => {
  assert.throws(() => decode(body(new Uint8Array([0x01, 0x02]))), /1 bytes follow the value/);
  const proto = new Uint8Array([0x81, 0xa9, ...new TextEncoder().encode("__proto__"), 0x01]);
  assert.throws(() => decode(body(proto)), /"__proto__" is not allowed/);
  const arrayKey = new Uint8Array([0x81, 0x90, 0x01]);
  assert.throws(() => decode(body(arrayKey)), /map key must be a string or a number/);
  const numberKey = new Uint8Array([0x81, 0x01, 0xa3, 0x6f, 0x6e, 0x65]); // {1: "one"}
  assert.deepEqual(decode(body(numberKey)), reference.decode(numberKey));
  assert.throws(() => decode(body(new Uint8Array([0xc1]))), /0xc1 at 0 starts no msgpack value/);
});

Deno.test("the deepest value the encoder accepts decodes, Maps included", () => {
  let nested: unknown = 1;
  for (let i = 0; i < 999; i++) nested = i % 2 === 0 ? [nested] : new Map([["m", nested]]);
  assert.deepEqual(decode(encode(nested)), nested);
  const tooDeep = new Uint8Array(3000).fill(0x91); // 3,000 nested one-item arrays
  assert.throws(() => decode(body(tooDeep)), /nested more than/);
});
