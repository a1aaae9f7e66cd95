// sortValues, setIndex + loc, repartition and partitions against plain TypeScript references.
import assert from "node:assert/strict";
import * as dd from "../../collections/dataframe/mod.ts";

function data(n: number, seed: number) {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  return Array.from({ length: n }, (_, i) => ({
    x: rand() < 0.05 ? null : Math.round(rand() * 1000) / 10,
    t: new Date(Date.UTC(2024, 0, 1 + Math.floor(rand() * 60))),
    s: `s${Math.floor(rand() * 50)}`,
    i,
  }));
}

for (const scheduler of ["sync", "threads"] as const) {
  Deno.test(`sortValues ascending and descending, nulls last (${scheduler})`, async () => {
    const rows = data(500, 4);
    const df = dd.fromRecords(rows, { npartitions: 6 });
    const xs = rows.map((r) => r.x);
    const nonNull = xs.filter((x): x is number => x !== null);
    const nulls = xs.length - nonNull.length;
    const up = await df.sortValues("x", { scheduler });
    assert.equal(up.npartitions, 6);
    assert.equal(up.divisions.length, 7);
    assert.deepEqual(
      (await up.compute({ scheduler })).getColumn("x").toArray(),
      [...[...nonNull].sort((a, b) => a - b), ...new Array(nulls).fill(null)],
    );
    const down = await df.sortValues(["x", "i"], { ascending: false, npartitions: 3, scheduler });
    assert.deepEqual(
      (await down.compute({ scheduler })).getColumn("x").toArray(),
      [...[...nonNull].sort((a, b) => b - a), ...new Array(nulls).fill(null)],
    );
    const byName = await df.sortValues("s", { scheduler });
    const names = (await byName.compute({ scheduler })).getColumn("s").toArray() as string[];
    assert.deepEqual(names, rows.map((r) => r.s).sort());
  });

  Deno.test(`setIndex then loc reads only the partitions that can hold the range (${scheduler})`, async () => {
    const rows = data(400, 8);
    const df = await dd.fromRecords(rows, { npartitions: 8 }).setIndex("x", { scheduler });
    assert.ok(df.knownDivisions);
    const part = df.loc(20, 35.5);
    assert.ok(part.npartitions < 8, `${part.npartitions} partitions read`);
    const got = (await part.compute({ scheduler })).getColumn("x").toArray();
    const expected = rows.map((r) => r.x).filter((x): x is number =>
      x !== null && x >= 20 && x <= 35.5
    )
      .sort((a, b) => a - b);
    assert.deepEqual(got, expected);
    const byDate = await dd.fromRecords(rows, { npartitions: 5 }).setIndex("t", { scheduler });
    const from = new Date(Date.UTC(2024, 0, 10));
    const to = new Date(Date.UTC(2024, 0, 20));
    const inRange = await byDate.loc(from, to).length().compute({ scheduler });
    assert.equal(inRange, rows.filter((r) => r.t >= from && r.t <= to).length);
  });

  Deno.test(`repartition keeps rows and order (${scheduler})`, async () => {
    const rows = data(103, 2);
    const df = dd.fromRecords(rows, { npartitions: 5 });
    for (const n of [1, 2, 5, 9, 40]) {
      const re = df.repartition(n);
      assert.equal(re.npartitions, n);
      const out = await re.compute({ scheduler });
      assert.deepEqual(out.getColumn("i").toArray(), rows.map((r) => r.i), `n = ${n}`);
    }
    const second = await df.partitions(1).compute({ scheduler });
    assert.deepEqual(second.getColumn("i").toArray(), rows.slice(20, 41).map((r) => r.i));
  });
}
