/**
 * Delayed and compute behaviours of Dask's own tests: lazy attributes and methods, nout,
 * traverse, key, collections nested in arguments and in compute's arguments — on sync and
 * threads alike.
 */
import assert from "node:assert/strict";
import { types } from "node:util";
import * as array from "../../collections/array/mod.ts";
import * as bag from "../../collections/bag/mod.ts";
import { Delayed, delayed } from "../../collections/delayed.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { compute } from "../../mod.ts";
import type { NDArray } from "../../core/ndarray.ts";

const schedulers = ["sync", "threads"] as const;

Deno.test("attributes and methods of a Delayed's value are lazy (Dask's __getattr__)", async () => {
  try {
    for (const scheduler of schedulers) {
      const text = delayed((s: string) => s.trim())("  a,b,c ");
      const parts = text.split(",");
      assert.ok(parts instanceof Delayed);
      assert.deepEqual(await parts.compute({ scheduler }), ["a", "b", "c"]);
      assert.equal(await text.length.compute({ scheduler }), 5);
      assert.equal(await parts.length.compute({ scheduler }), 3);
      assert.equal(await text.toUpperCase().compute({ scheduler }), "A,B,C");
      // a lazy attribute is an argument like any Delayed
      const n = delayed((k: number, s: string[]) => k * s.length)(text.length, parts);
      assert.equal(await n.compute({ scheduler }), 15);
      // a Delayed is not a promise: await gives it back, not its value
      assert.equal(await Promise.resolve(text), text);
      await assert.rejects(
        (delayed((x: number) => x)(3) as unknown as { pop(): Delayed }).pop().compute({
          scheduler,
        }),
        /has no method "pop"/,
      );
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("nout unpacks a tuple result; traverse: false; key names the task", async () => {
  const divmod = (a: number, b: number): [number, number] => [Math.floor(a / b), a % b];
  try {
    for (const scheduler of schedulers) {
      const [q, r] = delayed(divmod, { nout: 2 })(7, 2);
      assert.deepEqual(await compute(q, r, { scheduler }), [3, 1]);
      assert.throws(() => [...(delayed(divmod)(7, 2) as unknown as Iterable<unknown>)]);
      const named = delayed(divmod, { key: "my-divmod" })(9, 4);
      assert.equal(named.key, "my-divmod");
      assert.deepEqual(await named.compute({ scheduler }), [2, 1]);
      const inner = delayed((x: number) => x + 1)(1);
      const sizeOf = (xs: unknown[]) => xs.map((x) => x instanceof Object ? "object" : typeof x);
      // traverse false: the array reaches the function as given (its Delayed not computed)
      const raw = delayed(sizeOf, { traverse: false })([inner, 5]);
      assert.deepEqual(await raw.compute({ scheduler: "sync" }), ["object", "number"]);
      assert.deepEqual(await delayed(sizeOf)([inner, 5]).compute({ scheduler }), [
        "number",
        "number",
      ]);
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("collections, Sets and iterators given to a delayed call", async () => {
  const total = (xs: Iterable<number>) => {
    let s = 0;
    for (const x of xs) s += x;
    return s;
  };
  try {
    for (const scheduler of schedulers) {
      const one = delayed((x: number) => x)(1);
      const two = delayed((x: number) => x)(2);
      // a Set holding Delayed values: computed first (before: the Delayed objects themselves)
      assert.equal(await delayed(total)(new Set([one, two, 4]) as never).compute({ scheduler }), 7);
      // a Bag and an array are computed first and passed whole
      const b = bag.range(10, { npartitions: 3 });
      assert.equal(await delayed(total)(b as never).compute({ scheduler }), 45);
      const x = array.arange(6, { chunks: 4 });
      const sumArray = (a: NDArray) => (a.toArray() as number[]).reduce((p, v) => p + v, 0);
      assert.equal(await delayed(sumArray)(x as never).compute({ scheduler }), 15);
      assert.deepEqual(
        await delayed((o: { a: NDArray; b: number[] }) => [o.a.size, o.b.length])({
          a: x as never,
          b: b as never,
        }).compute({ scheduler }),
        [6, 10],
      );
    }
    // a one-pass iterator is refused on every scheduler alike, before anything runs
    const gen = function* () {
      yield 1;
    };
    assert.throws(() => delayed(total)(gen()), /one-pass iterator.*Array\.from/);
  } finally {
    shutdownThreads();
  }
});

Deno.test("compute passes non-collections through and computes nested ones", async () => {
  try {
    for (const scheduler of schedulers) {
      const d = delayed((x: number) => x * 2)(21);
      const b = bag.fromSequence([1, 2, 3]);
      const [value, ten, nested, record] = await compute(d, 10, [d, "s", b], { k: d, n: null }, {
        scheduler,
      });
      assert.equal(value, 42);
      assert.equal(ten, 10);
      assert.deepEqual(nested, [42, "s", [1, 2, 3]]);
      assert.deepEqual(record, { k: 42, n: null });
      assert.deepEqual(await compute(), []);
      assert.deepEqual(await compute(d.toFixed(1), { scheduler }), ["42.0"]);
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("a Delayed is a plain object: lazy attributes come from its prototype", async () => {
  const d = delayed((s: string) => s.trim())(" ab ");
  // no Proxy of its own (making one per Delayed was a tenth of a million-task graph's build)
  assert.ok(!types.isProxy(d));
  assert.equal(d.compute, d.compute);
  assert.equal(Object.getPrototypeOf(d), Delayed.prototype);
  assert.ok(d instanceof Object && typeof d.toString === "function" && "hasOwnProperty" in d);
  assert.equal(await d.length.compute({ scheduler: "sync" }), 2);
  // the lazy attribute stands for a Delayed: the Delayed's methods work on it
  const length = d.length;
  assert.equal((await length.persist({ scheduler: "sync" })).key, length.key);
  const loose = d as unknown as Record<string, unknown>;
  assert.equal(loose.then, undefined);
  assert.equal(loose.toJSON, undefined);
  // the prototype itself is not a Delayed: reading it makes no lazy attribute
  assert.equal((Delayed.prototype as unknown as Record<string, unknown>).anything, undefined);
  // errors name the argument and the function, made only when one is thrown
  const gen = function* () {
    yield 1;
  };
  assert.throws(
    () => delayed((a: number, b: unknown) => [a, b], { name: "pair" })(1, gen()),
    /argument 1 of pair is a one-pass iterator/,
  );
  assert.throws(() => delayed(gen()), /the value given to delayed is a one-pass iterator/);
});
