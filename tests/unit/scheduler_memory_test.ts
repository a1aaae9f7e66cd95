/** The scheduler's compact per-task bookkeeping: CompactSet and packed task arguments. */
import assert from "node:assert/strict";
import { CompactSet } from "../../core/compact_set.ts";
import { ArgsArena, packArgs, PackedArgs, unpackArgs } from "../../scheduler/args_arena.ts";
import { decode, encode } from "../../core/value_codec.ts";

Deno.test("CompactSet behaves as a Set through one, two and back to no members", () => {
  const [a, b, c] = [{ n: "a" }, { n: "b" }, { n: "c" }];
  const set = new CompactSet<{ n: string }>();
  assert.equal(set.size, 0);
  assert.deepEqual([...set], []);
  set.add(a).add(a);
  assert.equal(set.size, 1);
  assert.ok(set.has(a) && !set.has(b));
  assert.deepEqual([...set], [a]);
  set.add(b).add(c);
  assert.deepEqual([...set], [a, b, c], "insertion order");
  assert.equal(set.delete(b), true);
  assert.equal(set.delete(b), false);
  assert.deepEqual([...set], [a, c]);
  set.clear();
  assert.equal(set.size, 0);
  assert.equal(set.delete(a), false);
  set.add(c);
  // deleting the only member while iterating ends the iteration cleanly
  const seen: unknown[] = [];
  for (const item of set) {
    seen.push(item);
    set.delete(item);
  }
  assert.deepEqual(seen, [c]);
  assert.equal(set.size, 0);
  // every empty set shares one finished iterator: iterating empties again and again sees nothing,
  // and a set that fills afterwards iterates its members
  assert.deepEqual([...set], []);
  assert.deepEqual([...new CompactSet()], []);
  set.add(a);
  assert.deepEqual([...set], [a]);
});

Deno.test("small argument bodies are packed into shared buffers and travel unchanged", () => {
  const arena = new ArgsArena();
  const packed = Array.from({ length: 1000 }, (_, i) => packArgs(encode([i, `x${i}`]), arena));
  assert.ok(packed.every((p) => p instanceof PackedArgs));
  const buffers = new Set(packed.map((p) => (p as PackedArgs).arena.buffer));
  assert.ok(buffers.size < 10, `${buffers.size} buffers for 1000 small bodies`);
  packed.forEach((p, i) => assert.deepEqual(decode(unpackArgs(p) as never), [i, `x${i}`]));
  // big bodies, bodies with frames and non-encoded values are kept as they are
  const big = encode(new Float64Array(1000));
  assert.equal(packArgs(big, arena), big);
  const framed = encode(new Uint8Array(1 << 17));
  assert.ok(framed.frames.length > 0);
  assert.equal(packArgs(framed, arena), framed);
  assert.deepEqual(packArgs([1, 2], arena), [1, 2]);
  assert.deepEqual(unpackArgs([1, 2]), [1, 2]);
});
