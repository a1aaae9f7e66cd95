// readCsv and toCsv on real files in a temp dir: blocks, quoting, missing values, gzip, headers,
// errors that name the file, the line and the pattern, and the projection pushed into the read.
import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as dd from "../../collections/dataframe/mod.ts";

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "dataframe-csv-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const HEADER = "id,name,score,flag\n";
function rowsText(from: number, to: number): string {
  let out = "";
  for (let i = from; i < to; i++) {
    const name = i % 7 === 0 ? `"Smith, ${i}"` : `n${i}`;
    const score = i % 5 === 0 ? "" : String(i * 1.5);
    out += `${i},${name},${score},${i % 2}\n`;
  }
  return out;
}

for (const scheduler of ["sync", "threads"] as const) {
  Deno.test(`readCsv: blocks give the same rows as whole files (${scheduler})`, async () => {
    await withDir(async (dir) => {
      await Deno.writeTextFile(`${dir}/a.csv`, HEADER + rowsText(0, 400));
      await Deno.writeTextFile(`${dir}/b.csv`, HEADER + rowsText(400, 450));
      const whole = dd.readCsv(`${dir}/*.csv`, { blocksize: null, dtype: { flag: "bool" } });
      const blocks = dd.readCsv(`${dir}/*.csv`, { blocksize: 1000, dtype: { flag: "bool" } });
      assert.equal(whole.npartitions, 2);
      assert.ok(blocks.npartitions > 5, `${blocks.npartitions} partitions`);
      const a = await whole.compute({ scheduler });
      const b = await blocks.compute({ scheduler });
      assert.equal(a.height, 450);
      assert.deepEqual(b.toRecords(), a.toRecords());
      assert.deepEqual(a.getColumn("id").toArray(), Array.from({ length: 450 }, (_, i) => i));
      assert.equal(a.getColumn("name").toArray()[7], "Smith, 7");
      assert.equal(a.getColumn("score").toArray()[5], null);
      assert.equal(a.getColumn("flag").toArray()[1], true);
      assert.equal(await blocks.length().compute({ scheduler }), 450);
    });
  });
}

Deno.test("readCsv: quoted fields with separators and newlines, header-only file, gzip", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(`${dir}/q.csv`, 'a,b\n1,"x,\ny"\n2,"say ""hi"""\n3,\n');
    await Deno.writeTextFile(`${dir}/empty.csv`, "a,b\n");
    const quoted = await dd.readCsv(`${dir}/q.csv`).compute({ scheduler: "sync" });
    assert.deepEqual(quoted.getColumn("b").toArray(), ["x,\ny", 'say "hi"', null]);
    const both = await dd.readCsv([`${dir}/q.csv`, `${dir}/empty.csv`]).compute({
      scheduler: "sync",
    });
    assert.equal(both.height, 3);
    const headerOnly = dd.readCsv(`${dir}/empty.csv`);
    assert.deepEqual(headerOnly.columns, ["a", "b"]);
    assert.equal(await headerOnly.length().compute({ scheduler: "sync" }), 0);
    await Deno.writeFile(
      `${dir}/z.csv.gz`,
      gzipSync(new TextEncoder().encode(HEADER + rowsText(0, 50))),
    );
    const gz = dd.readCsv(`${dir}/z.csv.gz`);
    assert.equal(await gz.col("id").sum().compute({ scheduler: "threads" }), 49 * 50 / 2);
  });
  shutdownThreads();
});

Deno.test("readCsv: errors name the pattern, the file and the line", async () => {
  await withDir(async (dir) => {
    assert.throws(() => dd.readCsv(`${dir}/nothing-*.csv`), /no file matches ".*nothing-\*\.csv"/);
    assert.throws(() => dd.readCsv(`${dir}/missing.csv`), /no such file: .*missing\.csv/);
    await Deno.writeTextFile(`${dir}/ragged.csv`, "a,b\n1,2\n3,4\n5,6,7\n8,9\n");
    const ragged = dd.readCsv(`${dir}/ragged.csv`);
    await assert.rejects(
      () => ragged.compute({ scheduler: "sync" }),
      (error: Error) => {
        assert.match(error.message, /ragged\.csv, line 4: expected 2 fields, found 3/);
        return true;
      },
    );
    assert.throws(() => dd.readCsv(`${dir}/ragged.csv`, { columns: ["zz"] }), /no column zz/);
  });
});

Deno.test("readCsv: parseDates combines columns; a query parses only the columns it uses", async () => {
  await withDir(async (dir) => {
    await Deno.writeTextFile(
      `${dir}/f.csv`,
      "Year,Month,DayofMonth,Origin,DepDelay,Cancelled,Extra\n" +
        "2024,1,1,JFK,10,0,x\n2024,1,6,LGA,,1,y\n2024,1,7,JFK,30,0,z\n",
    );
    const df = dd.readCsv(`${dir}/f.csv`, {
      parseDates: { Date: [0, 1, 2] },
      dtype: { Cancelled: "bool" },
    });
    assert.deepEqual(df.columns, ["Date", "Origin", "DepDelay", "Cancelled", "Extra"]);
    const query = df.filter(df.col("Cancelled").not()).col("DepDelay").max();
    const reads = [...query.graph.values()].flatMap((t) =>
      t.args.filter((a) => typeof a === "object" && a !== null && "csv" in a)
    ) as { csv: { columns: string[] } }[];
    assert.equal(reads.length, 1);
    assert.deepEqual(reads[0].csv.columns, ["DepDelay", "Cancelled"]);
    assert.equal(await query.compute({ scheduler: "sync" }), 30);
    const byDay = await df.groupby(df.col("Date").dt.dayofweek()).col("DepDelay").mean()
      .compute({ scheduler: "sync" });
    // 2024-01-01 is a Monday (0), 01-06 a Saturday (5), 01-07 a Sunday (6)
    assert.deepEqual(byDay.toRecords(), [
      { Date: 0, DepDelay: 10 },
      { Date: 5, DepDelay: null },
      { Date: 6, DepDelay: 30 },
    ]);
  });
});

Deno.test("toCsv writes one file per partition that readCsv reads back", async () => {
  await withDir(async (dir) => {
    const df = dd.fromRecords(
      Array.from({ length: 20 }, (_, i) => ({ i, s: i % 3 === 0 ? null : `v,${i}` })),
      { npartitions: 3 },
    );
    const paths = await df.toCsv(`${dir}/out/part-*.csv`, { scheduler: "sync" });
    assert.equal(paths.length, 3);
    const back = await dd.readCsv(`${dir}/out/part-*.csv`).compute({ scheduler: "sync" });
    assert.deepEqual(back.toRecords(), (await df.compute({ scheduler: "sync" })).toRecords());
  });
});
