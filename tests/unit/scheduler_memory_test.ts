/** The scheduler's compact per-task bookkeeping: CompactSet and packed task arguments. */
import assert from "node:assert/strict";
import { CompactSet } from "../../core/compact_set.ts";
import { ScratchList } from "../../core/scratch_list.ts";
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

Deno.test("an empty CompactSet iterates as empty again and again, also beside other empty sets", () => {
  const a = { n: "a" };
  const empty = new CompactSet<{ n: string }>();
  const other = new CompactSet<{ n: string }>();
  // the empty sets share one finished iterator: each loop, nested or not, must still see nothing
  for (let round = 0; round < 3; round++) {
    let visits = 0;
    for (const _ of empty) {
      for (const _inner of other) visits++;
      visits++;
    }
    assert.equal(visits, 0, `round ${round}`);
    const iterator = empty[Symbol.iterator]();
    assert.equal(iterator.next().done, true);
    assert.equal(iterator.next().done, true, "a finished iterator stays finished");
    assert.deepEqual([...other], []);
    assert.deepEqual(Array.from(empty), []);
  }
  // filled, then emptied by delete or clear, then iterated repeatedly: still empty each time
  empty.add(a);
  assert.deepEqual([...empty], [a]);
  assert.deepEqual([...empty], [a], "a one-member set iterates its member each time");
  empty.delete(a);
  assert.deepEqual([...empty], []);
  assert.deepEqual([...empty], []);
  other.add(a).add({ n: "b" });
  other.clear();
  assert.deepEqual([...other], []);
  assert.deepEqual([...other], []);
  // and an emptied set that fills again iterates its new member
  other.add(a);
  assert.deepEqual([...other], [a]);
});

Deno.test("CompactSet loops reuse finished iterators, and nested, broken and thrown-out loops still see every member", () => {
  const members = Array.from({ length: 20 }, (_, i) => ({ n: i }));
  const one = new CompactSet<{ n: number }>().add(members[0]);
  const few = new CompactSet<{ n: number }>();
  for (const m of members.slice(0, 5)) few.add(m);
  // a finished loop's iterator serves the next loop (no allocation per loop)
  for (const set of [one, few]) {
    const first = set[Symbol.iterator]();
    while (!first.next().done);
    assert.equal(set[Symbol.iterator](), first, "the finished iterator is reused");
  }
  // loops nested over the same and other sets, left early by break and by a throw, in any order
  for (let round = 0; round < 3; round++) {
    const pairs: string[] = [];
    for (const a of few) {
      for (const b of one) pairs.push(`${a.n}${b.n}`);
      for (const b of few) {
        if (b.n > 1) break;
        pairs.push(`${a.n}${b.n}`);
      }
      try {
        for (const _ of few) throw new Error("out");
      } catch { /* left by a throw: its iterator goes back too */ }
    }
    assert.deepEqual(pairs, [
      "00",
      "00",
      "01",
      "10",
      "10",
      "11",
      "20",
      "20",
      "21",
      "30",
      "30",
      "31",
      "40",
      "40",
      "41",
    ], `round ${round}`);
    assert.deepEqual([...one], [members[0]]);
    assert.deepEqual(Array.from(few).map((m) => m.n), [0, 1, 2, 3, 4]);
  }
  // an empty set's loop makes no result object either
  const empty = new CompactSet<{ n: number }>()[Symbol.iterator]();
  assert.equal(empty.next(), empty.next(), "one answer serves every empty loop");
  assert.deepEqual([...new CompactSet()], []);
  // a finished iterator stays finished until a new loop takes it
  const done = one[Symbol.iterator]();
  while (!done.next().done);
  assert.equal(done.next().done, true);
  // past 16 members (a Set) and back, loops still see each member once
  const many = new CompactSet<{ n: number }>();
  for (const m of members) many.add(m);
  assert.deepEqual([...many].map((m) => m.n), members.map((m) => m.n));
  for (const m of members.slice(1)) many.delete(m);
  assert.deepEqual([...many], [members[0]]);
});

Deno.test("ScratchList: pushed, sorted (by insertion and past 16 on a copy), truncated and cleared, read by index", () => {
  const list = new ScratchList<number>();
  for (const size of [5, 40, 0, 16, 17]) {
    const values = Array.from({ length: size }, (_, i) => (i * 7919) % 101);
    for (const v of values) list.push(v);
    assert.equal(list.size, size);
    list.sort((a, b) => a - b);
    const read = Array.from({ length: list.size }, (_, i) => list.at(i));
    assert.deepEqual(list.toArray(), read);
    assert.deepEqual(read, [...values].sort((a, b) => a - b), `size ${size}`);
    if (size > 2) {
      list.set(1, -1);
      list.truncate(2);
      assert.deepEqual([list.at(0), list.at(1), list.size], [read[0], -1, 2]);
    }
    list.clear();
    assert.equal(list.size, 0);
  }
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

Deno.test("CompactSet matches a Set through random adds, deletes and loops that change it", () => {
  let seed = 11;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  const items = Array.from({ length: 40 }, (_, n) => ({ n }));
  const pick = () => items[Math.floor(random() * (random() < 0.7 ? 6 : items.length))];
  for (let round = 0; round < 300; round++) {
    const set = new CompactSet<{ n: number }>();
    const model = new Set<{ n: number }>();
    const steps = 1 + Math.floor(random() * 60);
    for (let step = 0; step < steps; step++) {
      const item = pick();
      if (random() < 0.55) {
        set.add(item);
        model.add(item);
      } else assert.equal(set.delete(item), model.delete(item));
      assert.equal(set.size, model.size);
      for (const probe of items.slice(0, 8)) assert.equal(set.has(probe), model.has(probe));
      assert.deepEqual([...set], [...model], `round ${round} step ${step}`);
    }
    // A loop that deletes members as it goes visits what a Set's loop visits: deleted members
    // not reached yet are skipped, the current one and those behind may go.
    const doomed = Array.from({ length: 6 }, pick);
    const seen: number[] = [], modelSeen: number[] = [];
    let i = 0;
    for (const member of set) {
      seen.push(member.n);
      set.delete(doomed[i++ % doomed.length]);
    }
    i = 0;
    for (const member of model) {
      modelSeen.push(member.n);
      model.delete(doomed[i++ % doomed.length]);
    }
    assert.deepEqual(seen, modelSeen, `round ${round}`);
    assert.deepEqual([...set], [...model]);
  }
});
