import assert from "node:assert/strict";
import { keyFor, tokenize, tokenizeSymbol, uniqueToken } from "../../core/tokenize.ts";
import { NDArray } from "../../core/ndarray.ts";
import { TaskRef } from "../../core/task.ts";
import { shift } from "../fixtures/task_module.ts";

const HEX16 = /^[0-9a-f]{16}$/;

function allDistinct(values: unknown[][]): void {
  const tokens = values.map((args) => tokenize(...args));
  assert.equal(new Set(tokens).size, tokens.length, JSON.stringify(tokens));
}

Deno.test("tokens are fixed across processes: pinned values", () => {
  // Keys are shared between processes, so tokens depend on nothing but the values. Each pin is
  // xxh64 of the canonical text in the comment, computed with another xxh64 implementation
  // (hash-wasm). If the canonical text changes on purpose, recompute them.
  assert.equal(tokenize(), "ef46db3751d8e999"); // ""
  // "n1;s1:a[TN]{s1:bi2;}"
  assert.equal(tokenize(1, "a", [true, null], { b: 2n }), "91cb9d4120b2b29f");
  // "AFloat64Array:" + "d4eae4443a284f83" (xxh64 of the 24 bytes)
  assert.equal(tokenize(new Float64Array([1, 2, 3])), "12a065c0a8c36740");
});

Deno.test("primitives of different types or values never share a token", () => {
  allDistinct([
    [1],
    ["1"],
    [1n],
    [true],
    ["T"],
    [null],
    [undefined],
    ["undefined"],
    [NaN],
    [Infinity],
    [-Infinity],
    [0.1],
    [Symbol.for("a")],
    ["a"],
    [],
  ]);
  assert.equal(tokenize(-0), tokenize(0));
  assert.equal(tokenize(NaN), tokenize(Number("x")));
  assert.match(tokenize(1), HEX16);
});

Deno.test("strings and sequences are delimited: no concatenation collides", () => {
  allDistinct([
    ["ab", "c"],
    ["a", "bc"],
    ["abc"],
    [["ab", "c"]],
    [["ab"], "c"],
    ["s1:a"],
    [1, 2],
    [[1, 2]],
    [[1], [2]],
    [[[1, 2]]],
    [{ a: 1, b: 2 }],
    [{ a: 1 }, { b: 2 }],
  ]);
});

Deno.test("ill-formed strings (lone surrogates) stay distinct", () => {
  allDistinct([["\ud800"], ["\ud801"], ["\ufffd"], ["\udc00"]]);
  assert.equal(tokenize("\ud83d\ude00"), tokenize("😀"));
});

Deno.test("long strings are hashed in slices without splitting surrogate pairs", () => {
  const long = "x".repeat(65_535) + "😀" + "y".repeat(100_000);
  assert.equal(tokenize(long), tokenize(long.slice(0, 70_000) + long.slice(70_000)));
  assert.notEqual(tokenize(long), tokenize(long.slice(0, -1) + "z"));
  assert.notEqual(tokenize(long), tokenize(long.replace("😀", "😁")));
  const illFormed = "\ud800".repeat(70_000);
  assert.notEqual(tokenize(illFormed), tokenize("\ud801".repeat(70_000)));
});

Deno.test("plain objects, Maps and Sets do not depend on insertion order", () => {
  assert.equal(tokenize({ a: 1, b: [2, 3] }), tokenize({ b: [2, 3], a: 1 }));
  assert.notEqual(tokenize({ a: 1 }), tokenize({ a: 2 }));
  assert.notEqual(tokenize({ a: undefined }), tokenize({}));
  const nullProto = Object.assign(Object.create(null), { a: 1 });
  assert.equal(tokenize(nullProto), tokenize({ a: 1 }));
  assert.equal(
    tokenize(new Map<unknown, unknown>([["x", 1], [2, "y"]])),
    tokenize(new Map<unknown, unknown>([[2, "y"], ["x", 1]])),
  );
  assert.notEqual(tokenize(new Map([["x", 1]])), tokenize({ x: 1 }));
  assert.notEqual(tokenize(new Map([["x", 1]])), tokenize(new Map([["x", 2]])));
  assert.equal(tokenize(new Set([1, "a", [2]])), tokenize(new Set([[2], "a", 1])));
  assert.notEqual(tokenize(new Set([1, 2])), tokenize([1, 2]));
  assert.notEqual(tokenize(new Set([1, 2])), tokenize(new Set([1, 3])));
});

Deno.test("dates and regular expressions by value", () => {
  assert.equal(tokenize(new Date(5)), tokenize(new Date(5)));
  assert.notEqual(tokenize(new Date(5)), tokenize(new Date(6)));
  assert.notEqual(tokenize(new Date(5)), tokenize(5));
  assert.equal(tokenize(/a+/g), tokenize(new RegExp("a+", "g")));
  assert.notEqual(tokenize(/a+/g), tokenize(/a+/i));
});

Deno.test("binary data is hashed by its bytes and its kind", () => {
  const a = new Float64Array([1, 2, 3]);
  assert.equal(tokenize(a), tokenize(new Float64Array([1, 2, 3])));
  assert.notEqual(tokenize(a), tokenize(new Float64Array([1, 2, 4])));
  // Same bytes, another element type.
  assert.notEqual(tokenize(a), tokenize(new Uint8Array(a.buffer)));
  // A view hashes only its own bytes, not the whole buffer.
  const wide = new Float64Array([9, 1, 2, 3, 9]);
  assert.equal(tokenize(wide.subarray(1, 4)), tokenize(a));
  assert.equal(tokenize(new DataView(a.buffer)), tokenize(new DataView(a.slice().buffer)));
  assert.notEqual(tokenize(new DataView(a.buffer)), tokenize(new Uint8Array(a.buffer)));
  assert.equal(tokenize(a.buffer), tokenize(a.slice().buffer));
  assert.notEqual(tokenize(a.buffer), tokenize(a));
});

Deno.test("binary data above the streaming slice size is hashed whole", () => {
  const big = new Uint8Array(3 * (1 << 20) + 5);
  for (let i = 0; i < big.length; i += 4099) big[i] = i & 0xff;
  const copy = big.slice();
  assert.equal(tokenize(big), tokenize(copy));
  copy[copy.length - 1] ^= 1; // a change in the last slice
  assert.notEqual(tokenize(big), tokenize(copy));
  copy[copy.length - 1] ^= 1;
  copy[(1 << 20) + 7] ^= 1; // a change in a middle slice
  assert.notEqual(tokenize(big), tokenize(copy));
});

Deno.test("NDArrays by dtype, shape and row-major elements, whatever their layout", () => {
  const x = new NDArray(new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const transposed = new NDArray(x.data, [3, 2], { strides: [1, 3] });
  const transposedCopy = new NDArray(new Float64Array([1, 4, 2, 5, 3, 6]), [3, 2]);
  assert.equal(tokenize(transposed), tokenize(transposedCopy));
  assert.notEqual(tokenize(x), tokenize(new NDArray(x.data, [3, 2])), "shape matters");
  assert.notEqual(
    tokenize(new NDArray(new Uint8Array([1, 0]), [2], { dtype: "bool" })),
    tokenize(new NDArray(new Uint8Array([1, 0]), [2])),
    "dtype matters",
  );
  assert.notEqual(tokenize(x), tokenize(x.data));
});

Deno.test("task references by key", () => {
  assert.equal(tokenize(new TaskRef("inc-1")), tokenize(new TaskRef("inc-1")));
  assert.notEqual(tokenize(new TaskRef("inc-1")), tokenize(new TaskRef("inc-2")));
  assert.notEqual(tokenize(new TaskRef("inc-1")), tokenize("inc-1"));
});

Deno.test("functions by source text and name, module functions by reference", () => {
  const make = () => (x: number) => x + 1;
  assert.equal(tokenize(make()), tokenize(make()), "equal source, equal (empty) name");
  const inc = (x: number) => x + 1;
  const plusOne = (x: number) => x + 1;
  assert.notEqual(tokenize(inc), tokenize(plusOne), "the name is part of the token");
  assert.notEqual(tokenize(inc), tokenize((x: number) => x + 2));
  assert.equal(tokenize(Math.max), tokenize(Math.max));
  assert.notEqual(tokenize(Math.max), tokenize(Math.min));
  // A module function is named by url#export, not by its text.
  const shiftLookalike = { shift: (x: number): number => x + OFFSET }.shift;
  assert.notEqual(tokenize(shift), tokenize(shiftLookalike));
  assert.equal(tokenize(shift, 1), tokenize(shift, 1));
});

const OFFSET = 10;

Deno.test("functions that cannot travel are named by identity: closures never collide", () => {
  const adder = (k: number) => (x: number) => x + k;
  const addOne = adder(1);
  assert.notEqual(tokenize(addOne), tokenize(adder(2)), "same text, other captured value");
  assert.equal(tokenize(addOne), tokenize(addOne), "stable for the same object");
  const bound = Math.max.bind(null, 1);
  assert.notEqual(tokenize(bound), tokenize(Math.max.bind(null, 2)));
});

Deno.test("objects give their own token through tokenizeSymbol", () => {
  const collection = (name: string) => ({
    name,
    [tokenizeSymbol]: () => name,
    data: Math.random(),
  });
  assert.equal(tokenize(collection("x-1")), tokenize(collection("x-1")));
  assert.notEqual(tokenize(collection("x-1")), tokenize(collection("x-2")));
  assert.notEqual(tokenize(collection("x-1")), tokenize("x-1"));
  class Named {
    constructor(readonly key: string) {}
    [tokenizeSymbol]() {
      return ["Named", this.key];
    }
  }
  assert.equal(tokenize(new Named("a")), tokenize(new Named("a")));
  assert.equal(tokenizeSymbol, Symbol.for("dask.tokenize"));
});

Deno.test("other class instances are named by identity", () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const p = new Point(1);
  assert.equal(tokenize(p), tokenize(p));
  assert.notEqual(tokenize(p), tokenize(new Point(1)));
});

Deno.test("a value with a reference cycle is refused; shared references are fine", () => {
  const cyclic: unknown[] = [1];
  cyclic.push(cyclic);
  assert.throws(
    () => tokenize(cyclic),
    /values\[0\]\[1\] is a reference back to values\[0\] \(a cycle\)/,
  );
  const shared = { a: 1 };
  assert.equal(tokenize([shared, shared]), tokenize([{ a: 1 }, { a: 1 }]));
});

Deno.test("uniqueToken and keyFor", () => {
  const tokens = new Set(Array.from({ length: 2000 }, () => uniqueToken()));
  assert.equal(tokens.size, 2000);
  for (const token of tokens) assert.match(token, HEX16);
  assert.equal(keyFor("inc", 1), `inc-${tokenize(1)}`);
});
