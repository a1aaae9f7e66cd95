import assert from "node:assert/strict";
import {
  decode,
  DEFAULT_FRAME_THRESHOLD,
  encode,
  type Encoded,
  MAX_NESTING_DEPTH,
  sizeOf,
  transferables,
} from "../../core/value_codec.ts";
import { GraphError, UnserializableError } from "../../core/errors.ts";
import { NDArray } from "../../core/ndarray.ts";
import { TaskRef } from "../../core/task.ts";
import { EVERY_NUMBER_WIDTH } from "../fixtures/number_samples.ts";

const roundTrip = (value: unknown, threshold?: number): unknown =>
  decode(encode(value, { frameThreshold: threshold }));

type AnyTypedArray = ArrayBufferView & { length: number };

/** Same kind and same bytes: stricter than deepStrictEqual for floats (NaN, -0). */
function assertSameBuffer(actual: unknown, expected: ArrayBufferView): void {
  assert.ok(ArrayBuffer.isView(actual), `expected a ${expected.constructor.name}`);
  assert.equal(actual.constructor, expected.constructor);
  assert.deepEqual(
    new Uint8Array(actual.buffer, actual.byteOffset, actual.byteLength),
    new Uint8Array(expected.buffer, expected.byteOffset, expected.byteLength),
  );
}

function typedArraySamples(): AnyTypedArray[] {
  const samples: AnyTypedArray[] = [
    new Int8Array([0, -1, 127, -128]),
    new Uint8Array([0, 1, 255]),
    new Uint8ClampedArray([0, 128, 255]),
    new Int16Array([-32768, 0, 32767]),
    new Uint16Array([0, 65535]),
    new Int32Array([-(2 ** 31), 7, 2 ** 31 - 1]),
    new Uint32Array([0, 2 ** 32 - 1]),
    new Float32Array([1.5, -0, NaN, -Infinity]),
    new Float64Array([Math.PI, -0, NaN, Number.MIN_VALUE, Number.MAX_VALUE]),
    new BigInt64Array([-(2n ** 63n), 0n, 2n ** 63n - 1n]),
    new BigUint64Array([0n, 2n ** 64n - 1n]),
  ];
  const Float16 = (globalThis as { Float16Array?: new (xs: number[]) => AnyTypedArray })
    .Float16Array;
  if (Float16 !== undefined) samples.push(new Float16([1.5, -0, NaN, 65504]));
  return samples;
}

Deno.test("numbers round trip exactly, including -0, NaN and every integer width", () => {
  const numbers = EVERY_NUMBER_WIDTH;
  const decoded = roundTrip(numbers) as number[];
  assert.equal(decoded.length, numbers.length);
  numbers.forEach((n, i) => assert.ok(Object.is(decoded[i], n), `${n} came back as ${decoded[i]}`));
});

Deno.test("strings, booleans, null and undefined keep their identity", () => {
  const value = [
    "",
    "a".repeat(31),
    "a".repeat(32),
    "a".repeat(63),
    "a".repeat(64),
    "héllo wörld",
    "日本語のテキスト",
    "emoji 🎉🚀",
    "x".repeat(100_000),
    true,
    false,
    null,
    undefined,
  ];
  assert.deepStrictEqual(roundTrip(value), value);
});

Deno.test("undefined stays undefined inside arrays, objects and maps, and null stays null", () => {
  const value = {
    list: [undefined, null, 1, undefined],
    nested: { u: undefined, n: null },
    map: new Map<unknown, unknown>([[undefined, null], [null, undefined]]),
  };
  const decoded = roundTrip(value) as typeof value;
  assert.deepStrictEqual(decoded, value);
  assert.ok("u" in decoded.nested, "a key whose value is undefined is kept");
  assert.equal(decoded.list[0], undefined);
  assert.equal(decoded.list[1], null);
  assert.equal(decoded.map.get(undefined), null);
  assert.ok(decoded.map.has(null) && decoded.map.get(null) === undefined);
});

Deno.test("every typed array kind, DataView and ArrayBuffer round trip inline and as frames", () => {
  for (const threshold of [Infinity, 0]) {
    for (const sample of typedArraySamples()) {
      assertSameBuffer(roundTrip(sample, threshold), sample);
      const nested = roundTrip({ inside: [new Map([["k", sample]])] }, threshold) as {
        inside: [Map<string, unknown>];
      };
      assertSameBuffer(nested.inside[0].get("k"), sample);
    }
    const bytes = new Uint8Array([1, 2, 3, 4, 5, 6]);
    const view = new DataView(bytes.buffer, 1, 4);
    const decodedView = roundTrip(view, threshold) as DataView;
    assert.ok(decodedView instanceof DataView);
    assert.deepEqual(
      new Uint8Array(decodedView.buffer, decodedView.byteOffset, 4),
      bytes.slice(1, 5),
    );
    const decodedBuffer = roundTrip(bytes.buffer, threshold);
    assert.ok(decodedBuffer instanceof ArrayBuffer);
    assert.deepEqual(new Uint8Array(decodedBuffer), bytes);
  }
});

Deno.test("Date, Map, Set, BigInt and TaskRef round trip, nested in each other", () => {
  const value = {
    dates: [new Date(0), new Date(-86_400_000), new Date(1_700_000_000_123), new Date(NaN)],
    map: new Map<unknown, unknown>([
      [1, "one"],
      ["two", new Set([2n, new Date(2)])],
      [new TaskRef("x-1"), { deep: new Map([[3, [undefined]]]) }],
    ]),
    set: new Set<unknown>([1, "a", null, new Set([new Map()])]),
    ref: new TaskRef("inc-3f2a[0,1]"),
    bigints: [0n, 1n, -1n, 255n, 256n, -(2n ** 64n), 2n ** 64n, -(10n ** 100n), 10n ** 5000n],
  };
  const decoded = roundTrip(value) as typeof value;
  assert.deepStrictEqual(decoded, value);
  assert.ok(decoded.ref instanceof TaskRef);
  assert.ok(Number.isNaN(decoded.dates[3].getTime()), "an invalid Date stays invalid");
  assert.equal(decoded.bigints.at(-1), 10n ** 5000n);
});

Deno.test("errors keep name, message, stack, cause and key; subclasses keep their name", () => {
  const inner = new RangeError("too far");
  const outer = new TypeError("bad input", { cause: inner });
  const graph = new GraphError("missing dependency");
  Object.defineProperty(graph, "key", { value: "sum-1", enumerable: true });
  const plainCause = new Error("with data", { cause: { code: 7, where: [1, undefined] } });
  const decoded = roundTrip([outer, graph, plainCause]) as Error[];

  assert.ok(decoded[0] instanceof TypeError);
  assert.equal(decoded[0].message, "bad input");
  assert.equal(decoded[0].stack, outer.stack);
  assert.ok(decoded[0].cause instanceof RangeError, "an Error cause comes back as an Error");
  assert.equal((decoded[0].cause as Error).message, "too far");

  assert.equal(decoded[1].name, "GraphError");
  assert.equal(decoded[1].message, "missing dependency");
  assert.equal((decoded[1] as { key?: string }).key, "sum-1");

  assert.deepStrictEqual(decoded[2].cause, { code: 7, where: [1, undefined] });
});

Deno.test("NDArray keeps dtype and shape; views come back contiguous in row-major order", () => {
  const data = Float64Array.from({ length: 12 }, (_, i) => i - 0.5);
  const matrix = new NDArray(data, [3, 4]);
  const transposed = new NDArray(data, [4, 3], { strides: [1, 4] });
  const offsetRow = new NDArray(data, [4], { offset: 4 });
  const bools = new NDArray(new Uint8Array([1, 0, 1, 1]), [2, 2], { dtype: "bool" });
  const scalar = new NDArray(new Int16Array([-7]), []);
  for (const threshold of [Infinity, 0]) {
    for (const array of [matrix, transposed, offsetRow, bools, scalar]) {
      const decoded = roundTrip(array, threshold) as NDArray;
      assert.ok(decoded instanceof NDArray);
      assert.equal(decoded.dtype, array.dtype);
      assert.deepEqual(decoded.shape, array.shape);
      assert.ok(decoded.isContiguous);
      assert.deepStrictEqual(decoded.toArray(), array.toArray());
    }
  }
  const decoded = roundTrip({ t: transposed }) as { t: NDArray };
  assert.equal(decoded.t.get(1, 2), data[1 + 2 * 4]);
});

Deno.test("large buffers become frames that share the input's memory, and decode without copy", () => {
  const big = Float64Array.from({ length: 20_000 }, (_, i) => i * 0.25);
  const window = big.subarray(1_000, 19_000); // a view at a byte offset of 8000
  const value = { small: new Float64Array([1, 2]), big, window, nd: new NDArray(big, [100, 200]) };
  const encoded = encode(value);

  assert.equal(encoded.frames.length, 3, "small buffers stay in the body");
  for (const frame of encoded.frames) assert.equal(frame.buffer, big.buffer, "frames are views");
  assert.equal(encoded.frames[1].byteOffset, window.byteOffset);
  assert.equal(encoded.frames[1].byteLength, window.byteLength);
  assert.ok(encoded.body.byteLength < 200, `body is ${encoded.body.byteLength} bytes`);

  const decoded = decode(encoded) as typeof value;
  assert.equal(decoded.big.buffer, big.buffer, "an aligned frame is shared, not copied");
  assert.equal(decoded.window.byteOffset, window.byteOffset);
  assert.equal(decoded.nd.data.buffer, big.buffer);
  assertSameBuffer(decoded.window, window);
  assert.notEqual(decoded.small.buffer, value.small.buffer, "inline buffers are copied out");
  assertSameBuffer(decoded.small, value.small);

  assert.deepEqual(transferables(encoded), [big.buffer], "one buffer behind three frames");
});

Deno.test("the frame threshold is honoured at its boundary", () => {
  const exact = new Uint8Array(DEFAULT_FRAME_THRESHOLD);
  const under = new Uint8Array(DEFAULT_FRAME_THRESHOLD - 1);
  assert.equal(encode(exact).frames.length, 1);
  assert.equal(encode(under).frames.length, 0);
  assert.equal(encode(under, { frameThreshold: 16 }).frames.length, 1);
});

Deno.test("misaligned frames and bodies at any offset decode correctly", () => {
  const values = Float64Array.from({ length: 10_000 }, (_, i) => Math.sin(i));
  const encoded = encode({ values });
  // Move body and frame to odd offsets of other buffers, as a network reader might.
  const shift = (bytes: Uint8Array, offset: number): Uint8Array => {
    const holder = new Uint8Array(bytes.byteLength + offset);
    holder.set(bytes, offset);
    return holder.subarray(offset);
  };
  const moved: Encoded = { body: shift(encoded.body, 3), frames: [shift(encoded.frames[0], 1)] };
  const decoded = decode(moved) as { values: Float64Array };
  assertSameBuffer(decoded.values, values);
  assert.equal(decoded.values.byteOffset % 8, 0, "a misaligned frame is copied to alignment");

  const aligned: Encoded = { body: shift(encoded.body, 5), frames: [shift(encoded.frames[0], 8)] };
  const shared = decode(aligned) as { values: Float64Array };
  assert.equal(shared.values.buffer, aligned.frames[0].buffer, "an aligned frame is shared");
});

Deno.test("transferables lists each ArrayBuffer once and leaves shared memory out", () => {
  const a = new Float64Array(20_000);
  const b = new Uint8Array(100_000);
  const shared = new Int32Array(new SharedArrayBuffer(100_000));
  const encoded = encode([a, a.subarray(5_000), b, shared]);
  assert.equal(encoded.frames.length, 4);
  assert.deepEqual(transferables(encoded), [a.buffer, b.buffer]);
  assert.deepEqual(transferables(encode([1, 2])), []);
});

Deno.test("a SharedArrayBuffer travels as its bytes and arrives as an ArrayBuffer", () => {
  const shared = new SharedArrayBuffer(100_000);
  new Uint8Array(shared).fill(3, 10, 20);
  const back = decode(encode({ shared })) as { shared: ArrayBuffer };
  assert.ok(back.shared instanceof ArrayBuffer);
  assert.deepEqual(new Uint8Array(back.shared), new Uint8Array(shared));
  assert.equal(sizeOf(shared), 100_000);
});

function unserializableMessage(value: unknown, rootName?: string): UnserializableError {
  try {
    encode(value, { rootName });
  } catch (error) {
    assert.ok(error instanceof UnserializableError, `got ${error}`);
    return error;
  }
  assert.fail("encode should have thrown");
}

Deno.test("a function inside data is refused with its path", () => {
  const error = unserializableMessage([1, { config: { fn: () => 1 } }], "args");
  assert.equal(error.path, "args[1].config.fn");
  assert.match(error.message, /^args\[1\]\.config\.fn is a function/);
  assert.match(error.message, /task's function/);
});

Deno.test("paths use bracket notation for odd keys, .get() for map values", () => {
  assert.equal(unserializableMessage({ "my key": [0, Symbol("s")] }).path, 'value["my key"][1]');
  assert.equal(
    unserializableMessage({ m: new Map([["conn", { x: () => 0 }]]) }).path,
    'value.m.get("conn").x',
  );
  assert.equal(unserializableMessage(new Set([1, () => 0])).path, "value.values()[1]");
  assert.equal(
    unserializableMessage(new Error("e", { cause: { f: () => 0 } })).path,
    "value.cause.f",
  );
});

Deno.test("class instances, promises and weak collections are refused with a hint", () => {
  class Connection {
    constructor(readonly host: string) {}
  }
  const instance = unserializableMessage({ items: [1, 2, new Connection("db")] });
  assert.equal(instance.path, "value.items[2]");
  assert.match(instance.message, /an instance of Connection/);
  assert.match(instance.message, /plain data/);

  assert.match(unserializableMessage({ p: Promise.resolve(1) }).message, /Promise.*Await it/);
  assert.match(unserializableMessage([new WeakMap()]).message, /WeakMap.*Map or Set/);
  assert.match(unserializableMessage(/regex/).message, /an instance of RegExp/);
});

Deno.test("cycles are refused at the reference that closes them", () => {
  const root: Record<string, unknown> = { a: { b: [] } };
  (root.a as { b: unknown[] }).b.push({ back: root });
  const error = unserializableMessage(root);
  assert.equal(error.path, "value.a.b[0].back");
  assert.match(error.message, /a reference back to value \(a cycle\)/);

  const list: unknown[] = [1];
  list.push(list);
  assert.equal(unserializableMessage({ list }).path, "value.list[1]");
  assert.match(unserializableMessage({ list }).message, /back to value\.list /);

  const map = new Map<string, unknown>();
  map.set("self", map);
  assert.equal(unserializableMessage(map).path, 'value.get("self")');
});

Deno.test("nesting deeper than the limit is refused without overflowing the stack", () => {
  let deep: unknown = 0;
  for (let i = 0; i < MAX_NESTING_DEPTH; i++) deep = { next: deep };
  assert.ok((decode(encode(deep)) as { next: unknown }).next !== undefined);
  const error = unserializableMessage({ next: deep });
  assert.match(error.message, /nested more than 1000 levels deep/);
  assert.ok(error.path.length < 400, "long paths are shortened");
});

Deno.test("the shared encoder is clean after a refused value", () => {
  assert.throws(() => encode({ a: [1, 2, () => 0], big: new Float64Array(10_000) }));
  const encoded = encode({ a: [1, 2, 3] });
  assert.equal(encoded.frames.length, 0);
  assert.deepStrictEqual(decode(encoded), { a: [1, 2, 3] });
});

Deno.test("malformed input fails to decode with a clear error", () => {
  const unknownExt = new Uint8Array([0xd4, 99, 0]);
  assert.throws(
    () => decode({ body: unknownExt, frames: [] }),
    /Unknown msgpack extension type 99/,
  );
  const encoded = encode(new Float64Array(10_000));
  assert.throws(() => decode({ body: encoded.body, frames: [] }), /refers to frame 0/);
  assert.throws(() => decode({ body: encoded.body.subarray(0, 3), frames: encoded.frames }));
  const wrongSize = encode([new Float64Array(10_000)]);
  assert.throws(
    () => decode({ body: wrongSize.body, frames: [new Uint8Array(12)] }),
    /not whole elements/,
  );
});

Deno.test("sizeOf is exact for buffers and estimates containers from a bounded sample", () => {
  assert.equal(sizeOf(new Float64Array(1000)), 8000);
  assert.equal(sizeOf(new Float64Array(1000).subarray(10, 20)), 80);
  assert.equal(sizeOf(new ArrayBuffer(123)), 123);
  assert.equal(sizeOf(new NDArray(new Float32Array(100), [10, 10])), 400);
  const text = "x".repeat(10_000);
  assert.ok(Math.abs(sizeOf(text) - 10_000) < 100);

  // Many items: the estimate from a sample stays close to the real sum.
  const rows = Array.from(
    { length: 200_000 },
    (_, i) => ({ id: i, data: new Float64Array(i % 7) }),
  );
  const truth = rows.reduce((sum, row) => sum + row.data.byteLength, 0);
  const estimate = sizeOf(rows);
  assert.ok(
    estimate > truth + rows.length * 16 && estimate < truth + rows.length * 200,
    `estimate ${estimate} vs buffers ${truth}: the records' buffers must be counted`,
  );

  const numbers = new Array(1_000_000).fill(1.5);
  assert.ok(Math.abs(sizeOf(numbers) / 16_000_000 - 1) < 0.1);
  assert.ok(sizeOf(new Map([[1, new Float64Array(100)]])) >= 800);
  assert.ok(sizeOf(new Set(["a", "b"])) > 0);

  const cyclic: unknown[] = [];
  cyclic.push(cyclic, cyclic);
  assert.ok(Number.isFinite(sizeOf(cyclic)), "cycles do not hang");
});
