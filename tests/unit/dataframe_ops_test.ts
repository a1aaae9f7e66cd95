// The dataframe collection against plain TypeScript references, on random data with nulls, empty
// and one-row partitions, on the sync and threads schedulers.
import assert from "node:assert/strict";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as dd from "../../collections/dataframe/mod.ts";

type Row = { k: string | null; g: number; x: number | null; y: number; s: string | null };
const SCHEDULERS = ["sync", "threads"] as const;

function seeded(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomRows(n: number, seed: number): Row[] {
  const rand = seeded(seed);
  return Array.from({ length: n }, () => ({
    k: rand() < 0.1 ? null : ["a", "b", "c", "d"][Math.floor(rand() * 4)],
    g: Math.floor(rand() * 5),
    x: rand() < 0.2 ? null : Math.round((rand() * 200 - 100) * 100) / 100,
    y: Math.floor(rand() * 1000),
    s: rand() < 0.1 ? null : ["JFK", "LGA", "EWR", "jfk2"][Math.floor(rand() * 4)],
  }));
}

// (rows, partitions): many rows; fewer rows than partitions (empty ones); one row per partition
const CASES: [number, number, number][] = [[300, 7, 1], [3, 5, 2], [4, 4, 3], [0, 2, 4]];

const close = (a: number | null, b: number | null) =>
  a === null || b === null ? a === b : Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b));

function variance(values: number[], ddof = 1): number | null {
  if (values.length - ddof <= 0) return null;
  const mean = values.reduce((s, v) => s + v, 0) / values.length;
  return values.reduce((s, v) => s + (v - mean) ** 2, 0) / (values.length - ddof);
}

function quantile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  return sorted[lo] + (pos - lo) * ((sorted[Math.min(lo + 1, sorted.length - 1)]) - sorted[lo]);
}

function frameOf(rows: Row[], npartitions: number) {
  // the schema must be known even for zero rows: give one typed row and filter it out
  const typed = [{ k: "z", g: -1, x: 0.5, y: -1, s: "z" }, ...rows];
  const df = dd.fromRecords(typed, { npartitions });
  return df.filter(df.col("g").ge(0));
}

for (const [n, parts, seed] of CASES) {
  const rows = randomRows(n, seed);
  const xs = rows.map((r) => r.x).filter((x): x is number => x !== null);
  for (const scheduler of SCHEDULERS) {
    Deno.test(`dataframe reductions (${n} rows, ${parts} partitions, ${scheduler})`, async () => {
      const df = frameOf(rows, parts);
      const x = df.col("x");
      assert.equal(await df.length().compute({ scheduler }), n);
      assert.equal(await x.count().compute({ scheduler }), xs.length);
      assert.ok(close(await x.sum().compute({ scheduler }), xs.reduce((s, v) => s + v, 0)));
      assert.ok(
        close(
          await x.mean().compute({ scheduler }),
          xs.length ? xs.reduce((s, v) => s + v, 0) / xs.length : null,
        ),
      );
      assert.equal(await x.min().compute({ scheduler }), xs.length ? Math.min(...xs) : null);
      assert.equal(await x.max().compute({ scheduler }), xs.length ? Math.max(...xs) : null);
      assert.ok(close(await x.var({ splitEvery: 2 }).compute({ scheduler }), variance(xs)));
      const std = await x.std({ ddof: 0 }).compute({ scheduler });
      const v0 = variance(xs, 0);
      assert.ok(close(std, v0 === null ? null : Math.sqrt(v0)));
      assert.equal(
        await df.col("s").nunique().compute({ scheduler }),
        new Set(rows.map((r) => r.s).filter((s) => s !== null)).size,
      );
      assert.ok(close(await x.quantile(0.3).compute({ scheduler }), quantile(xs, 0.3)));
      // a mask, arithmetic and a comparison fused with the reduction
      const positive = df.filter(x.gt(0).and(df.col("k").eq("a")));
      const expected = rows.filter((r) => r.x !== null && r.x > 0 && r.k === "a")
        .map((r) => r.x! * 2 + r.y);
      const got = await positive.col("x").mul(2).add(positive.col("y")).sum().compute({
        scheduler,
      });
      assert.ok(close(got, expected.reduce((s, v) => s + v, 0)));
    });

    Deno.test(`dataframe groupby (${n} rows, ${parts} partitions, ${scheduler})`, async () => {
      const df = frameOf(rows, parts);
      for (const splitOut of [1, 3]) {
        const result = await df.groupby("k", { splitOut, splitEvery: 2 })
          .agg({ x: ["mean", "sum", "count", "max", "std"], y: "first", s: "nunique" })
          .compute({ scheduler });
        const groups = new Map<string, Row[]>();
        for (const r of rows) {
          if (r.k !== null) groups.set(r.k, [...(groups.get(r.k) ?? []), r]);
        }
        const byKey = new Map(result.toRecords().map((r) => [r.k as string, r]));
        assert.equal(byKey.size, groups.size, `splitOut ${splitOut}`);
        for (const [key, members] of groups) {
          const got = byKey.get(key)!;
          const gx = members.map((r) => r.x).filter((v): v is number => v !== null);
          assert.equal(got.x_count, gx.length);
          assert.ok(close(got.x_sum as number, gx.reduce((s, v) => s + v, 0)));
          assert.ok(
            close(
              got.x_mean as number | null,
              gx.length ? gx.reduce((s, v) => s + v, 0) / gx.length : null,
            ),
          );
          assert.equal(got.x_max, gx.length ? Math.max(...gx) : null);
          const sd = variance(gx);
          assert.ok(close(got.x_std as number | null, sd === null ? null : Math.sqrt(sd)));
          assert.equal(got.y, members[0].y);
          assert.equal(got.s, new Set(members.map((r) => r.s).filter((s) => s !== null)).size);
        }
      }
      const sizes = await df.groupby(df.col("g").mod(2).rename("parity")).size().compute({
        scheduler,
      });
      const even = rows.filter((r) => r.g % 2 === 0).length;
      const records = sizes.toRecords();
      if (even > 0) assert.equal(records.find((r) => r.parity === 0)?.size, even);
      const counts = await df.col("s").valueCounts().compute({ scheduler });
      const tally = new Map<string, number>();
      for (const r of rows) if (r.s !== null) tally.set(r.s, (tally.get(r.s) ?? 0) + 1);
      assert.deepEqual(
        new Map(counts.toRecords().map((r) => [r.s as string, r.count as number])),
        tally,
      );
      const c = counts.getColumn("count").toArray() as number[];
      assert.deepEqual(c, [...c].sort((a, b) => b - a));
    });

    Deno.test(`dataframe element-wise steps (${n} rows, ${parts} partitions, ${scheduler})`, async () => {
      const df = frameOf(rows, parts);
      const out = await df.assign({ z: df.col("x").fillna(0).add(1), flag: df.col("x").isna() })
        .fillna({ s: "none" })
        .dropna({ subset: ["k"] })
        .rename({ y: "yy" })
        .drop("g")
        .astype({ yy: "float64" })
        .compute({ scheduler });
      const expected = rows.filter((r) => r.k !== null);
      assert.deepEqual(out.columns, ["k", "x", "yy", "s", "z", "flag"]);
      assert.equal(out.height, expected.length);
      const got = out.toRecords();
      expected.forEach((r, i) => {
        assert.equal(got[i].z, (r.x ?? 0) + 1);
        assert.equal(got[i].flag, r.x === null);
        assert.equal(got[i].s, r.s ?? "none");
        assert.equal(got[i].yy, r.y);
      });
      assert.equal(out.getColumn("yy").dtype.variant, "Float64");
      const jfk = await df.filter(
        df.col("s").str.startsWith("JF").or(df.col("s").str.contains("2$")),
      )
        .length().compute({ scheduler });
      assert.equal(jfk, rows.filter((r) => r.s?.startsWith("JF") || r.s?.endsWith("2")).length);
      const head = await df.head(3, { npartitions: -1, scheduler });
      assert.deepEqual(head.getColumn("y").toArray(), rows.slice(0, 3).map((r) => r.y));
      const tail = await df.tail(2, { npartitions: -1, scheduler });
      assert.deepEqual(tail.getColumn("y").toArray(), rows.slice(-2).map((r) => r.y));
    });
  }
}

Deno.test("dataframe: a partition is one fused task however many element-wise steps", () => {
  const df = dd.fromRecords([{ a: 1, b: 2 }, { a: 3, b: 4 }], { npartitions: 2 });
  const positive = df.filter(df.col("a").gt(0));
  const chained = positive.assign({ c: positive.col("a").add(1) });
  const chained2 = chained.filter(chained.col("c").lt(10)).select(["a", "c"]);
  const tasks = [...chained2.graph.values()].filter((t) => t.fn !== null);
  assert.equal(tasks.length, 2);
});

Deno.test("dataframe: Series of another frame are refused with a clear error", () => {
  const a = dd.fromRecords([{ x: 1 }]);
  const b = dd.fromRecords([{ x: 2 }]);
  assert.throws(() => a.filter(b.col("x").gt(0)), /another DataFrame/);
  assert.throws(() => a.col("nope"), /no column "nope"/);
});

Deno.test("dataframe: .str methods run natively in every thread, as pandas' .str", async () => {
  const words = [" Ab ", "éÉ", null, "JFK", "", "straße", "x\tY\n", "Über"];
  const df = dd.fromRecords(words.map((s, i) => ({ i, s })), { npartitions: 3 });
  const s = df.col("s");
  const out = df.assign({
    lower: s.str.lower(),
    upper: s.str.upper(),
    len: s.str.len(),
    strip: s.str.strip(),
    stripLen: s.str.strip().str.len(),
    sw: s.str.startsWith("J"),
    ew: s.str.endsWith("e"),
    has: s.str.contains("b", { regex: false }),
  });
  assert.equal(out.dtypes.len, "UInt32");
  const map = <T>(f: (w: string) => T) => words.map((w) => (w === null ? null : f(w)));
  for (const scheduler of SCHEDULERS) {
    const got = await out.compute({ scheduler });
    assert.deepEqual(got.getColumn("lower").toArray(), map((w) => w.toLowerCase()));
    assert.deepEqual(got.getColumn("upper").toArray(), map((w) => w.toUpperCase()));
    assert.deepEqual(got.getColumn("len").toArray(), map((w) => [...w].length));
    assert.deepEqual(got.getColumn("strip").toArray(), map((w) => w.trim()));
    assert.deepEqual(got.getColumn("stripLen").toArray(), map((w) => [...w.trim()].length));
    assert.deepEqual(got.getColumn("sw").toArray(), map((w) => w.startsWith("J")));
    assert.deepEqual(got.getColumn("ew").toArray(), map((w) => w.endsWith("e")));
    assert.deepEqual(got.getColumn("has").toArray(), map((w) => w.includes("b")));
    // a filter on a derived string column, fused into the partition's task
    const n = await df.filter(s.str.lower().str.startsWith("j")).length().compute({ scheduler });
    assert.equal(n, 1);
  }
});

Deno.test("dataframe: mapPartitions runs a user function per partition", async () => {
  const df = dd.fromRecords([{ a: 1 }, { a: 2 }, { a: 3 }], { npartitions: 2 });
  const doubled = df.mapPartitions((part) =>
    part.withColumns(part.getColumn("a").mul(2).alias("b"))
  );
  assert.deepEqual(doubled.columns, ["a", "b"]);
  for (const scheduler of SCHEDULERS) {
    const out = await doubled.compute({ scheduler });
    assert.deepEqual(out.getColumn("b").toArray(), [2, 4, 6]);
  }
  shutdownThreads();
});
