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
