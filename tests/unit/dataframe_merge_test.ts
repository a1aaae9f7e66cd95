// merge against a plain TypeScript nested-loop join: every `how`, broadcast and shuffle, keys
// with nulls and duplicates, empty and one-row partitions, on sync and threads.
import assert from "node:assert/strict";
import * as dd from "../../collections/dataframe/mod.ts";

type L = { k: number | null; a: number; v: string };
type R = { k: number | null; b: number; v: string };

function rows<T>(n: number, seed: number, make: (rand: () => number, i: number) => T): T[] {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, (_, i) => make(rand, i));
}

/** pandas' merge on `k` (null keys never match, as in pandas with nulls... see below). */
function reference(left: L[], right: R[], how: dd.JoinHow) {
  const out: Record<string, unknown>[] = [];
  const matchedRight = new Set<number>();
  for (const l of left) {
    let matched = false;
    right.forEach((r, j) => {
      if (l.k !== null && l.k === r.k) {
        out.push({ k: l.k, a: l.a, v_x: l.v, b: r.b, v_y: r.v });
        matchedRight.add(j);
        matched = true;
      }
    });
    if (!matched && (how === "left" || how === "outer")) {
      out.push({ k: l.k, a: l.a, v_x: l.v, b: null, v_y: null });
    }
  }
  if (how === "right" || how === "outer") {
    right.forEach((r, j) => {
      if (!matchedRight.has(j)) out.push({ k: r.k, a: null, v_x: null, b: r.b, v_y: r.v });
    });
  }
  return out;
}

const canonical = (records: Record<string, unknown>[]) =>
  records.map((r) => JSON.stringify([r.k, r.a, r.v_x, r.b, r.v_y])).sort();

const left = rows<L>(60, 3, (rand, i) => ({
  k: rand() < 0.1 ? null : Math.floor(rand() * 15),
  a: i,
  v: `l${i}`,
}));
const right = rows<R>(25, 9, (rand, i) => ({
  k: rand() < 0.1 ? null : Math.floor(rand() * 20),
  b: i * 10,
  v: `r${i}`,
}));

for (const scheduler of ["sync", "threads"] as const) {
  for (const how of ["inner", "left", "right", "outer"] as const) {
    Deno.test(`merge ${how} (${scheduler})`, async () => {
      const expected = canonical(reference(left, right, how));
      const cases: [string, dd.DataFrame, dd.DataFrame, dd.MergeOptions][] = [
        [
          "shuffle",
          dd.fromRecords(left, { npartitions: 7 }),
          dd.fromRecords(right, { npartitions: 30 }),
          { on: "k", how },
        ],
        [
          "one-partition side",
          dd.fromRecords(left, { npartitions: 4 }),
          dd.fromRecords(right, { npartitions: 1 }),
          { on: "k", how },
        ],
        [
          "one-partition left",
          dd.fromRecords(left, { npartitions: 1 }),
          dd.fromRecords(right, { npartitions: 3 }),
          { on: "k", how },
        ],
        [
          "broadcast",
          dd.fromRecords(left, { npartitions: 5 }),
          dd.fromRecords(right, { npartitions: 2 }),
          { on: "k", how, broadcast: true },
        ],
      ];
      for (const [label, l, r, options] of cases) {
        const merged = l.merge(r, options);
        assert.deepEqual(merged.columns, ["k", "a", "v_x", "b", "v_y"], label);
        const got = (await merged.compute({ scheduler })).toRecords();
        // pandas matches null keys with each other; we follow SQL/Polars (nulls never match),
        // so rows with null keys appear only as unmatched rows in both the reference and here
        assert.deepEqual(canonical(got), expected, label);
      }
    });
  }
}

Deno.test("merge refuses keys of different types with a fix", () => {
  const a = dd.fromRecords([{ k: 1, x: 1 }]);
  const b = dd.fromRecords([{ k: "1", y: 2 }]);
  assert.throws(() => a.merge(b, { on: "k" }), /astype/);
  assert.throws(() => a.merge(b, { on: "zz" }), /must be a column of both frames/);
});

/** pandas' merge with left_on="k", right_on="rk": both key columns kept. */
function referenceSided(left: L[], right: R[], how: dd.JoinHow) {
  return reference(left, right, how).map((r) => ({
    ...r,
    rk: r.b === null ? null : (r.k as number | null),
    k: r.a === null ? null : r.k,
  }));
}

const canonicalSided = (records: Record<string, unknown>[]) =>
  records.map((r) => JSON.stringify([r.k, r.a, r.v_x, r.rk, r.b, r.v_y])).sort();

for (const scheduler of ["sync", "threads"] as const) {
  Deno.test(`merge on differently named keys, leftOn/rightOn (${scheduler})`, async () => {
    const renamed = right.map(({ k, ...rest }) => ({ rk: k, ...rest }));
    for (const how of ["inner", "left", "right", "outer"] as const) {
      const expected = canonicalSided(referenceSided(left, right, how));
      for (const [label, lparts, rparts] of [["shuffle", 6, 4], ["broadcast", 5, 1]] as const) {
        const l = dd.fromRecords(left, { npartitions: lparts });
        const r = dd.fromRecords(renamed, { npartitions: rparts });
        const merged = l.merge(r, { leftOn: "k", rightOn: "rk", how });
        assert.deepEqual(merged.columns, ["k", "a", "v_x", "rk", "b", "v_y"], `${how} ${label}`);
        const got = (await merged.compute({ scheduler })).toRecords();
        assert.deepEqual(canonicalSided(got), expected, `${how} ${label}`);
      }
    }
  });
}

Deno.test("merge on the index (leftIndex/rightIndex): the setIndex column is the key", async () => {
  const keyed = left.filter((l) => l.k !== null);
  const keyedRight = right.filter((r) => r.k !== null).map(({ k, ...rest }) => ({
    rk: k,
    ...rest,
  }));
  const l = await dd.fromRecords(keyed, { npartitions: 4 }).setIndex("k");
  const r = await dd.fromRecords(keyedRight, { npartitions: 3 }).setIndex("rk");
  const expected = canonicalSided(referenceSided(keyed, right.filter((x) => x.k !== null), "left"));
  const byIndex = l.merge(r, { leftIndex: true, rightIndex: true, how: "left" });
  assert.deepEqual(canonicalSided((await byIndex.compute()).toRecords()), expected);
  const mixed = l.merge(dd.fromRecords(keyedRight, { npartitions: 2 }), {
    leftIndex: true,
    rightOn: "rk",
    how: "left",
  });
  assert.deepEqual(canonicalSided((await mixed.compute()).toRecords()), expected);
  // same-named keys on both indexes appear once, as with `on`
  const sameName = await dd.fromRecords(right.filter((x) => x.k !== null), { npartitions: 2 })
    .setIndex("k");
  const once = l.merge(sameName, { leftIndex: true, rightIndex: true });
  assert.deepEqual(once.columns, ["k", "a", "v_x", "b", "v_y"]);
  assert.deepEqual(
    canonical((await once.compute()).toRecords()),
    canonical(reference(keyed, right.filter((x) => x.k !== null), "inner")),
  );
});

Deno.test("merge refuses unclear keys with the reason", () => {
  const a = dd.fromRecords([{ k: 1, x: 1 }]);
  const b = dd.fromRecords([{ j: 1, y: 2 }]);
  assert.throws(() => a.merge(b, {}), /merge needs keys/);
  assert.throws(() => a.merge(b, { on: "k", rightOn: "j" }), /not both/);
  assert.throws(() => a.merge(b, { leftOn: ["k", "x"], rightOn: "j" }), /as many on each side/);
  assert.throws(() => a.merge(b, { leftIndex: true, rightOn: "j" }), /setIndex/);
  assert.throws(() => a.merge(b, { leftOn: "k", rightOn: "nope" }), /not a column of the right/);
});
