import assert from "node:assert/strict";
import * as bag from "../../collections/bag/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { serveDirectory } from "../helpers/static_server.ts";
import { randomInt, rng, schedulers } from "./bag_helpers.ts";

async function gzip(text: string): Promise<Uint8Array> {
  const stream = new Blob([text]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function gunzip(bytes: Uint8Array): Promise<string> {
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream()
    .pipeThrough(new DecompressionStream("gzip"));
  return await new Response(stream).text();
}

/** Lines as `readText` gives them: each keeps its `\n`; a last line may lack one. */
function linesOf(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Random text: short, empty and long lines, multi-byte characters, maybe no final newline. */
function randomText(random: () => number): string {
  const words = ["a", "bc", "déjà", "日本語", "🙂", '{"k":1}', "", "xxxxxxxxxxxxxxxxxxxxxxxx"];
  const lines: string[] = [];
  for (let i = randomInt(random, 0, 40); i > 0; i--) {
    const n = randomInt(random, 0, 6);
    lines.push(
      Array.from({ length: n }, () => words[randomInt(random, 0, words.length - 1)]).join(" "),
    );
  }
  const text = lines.join("\n");
  return random() < 0.5 ? text + "\n" : text;
}

Deno.test("readText reads plain and gzip files, globs, and empty files", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bag_text_" });
  try {
    await Deno.writeTextFile(`${dir}/a.txt`, "one\ntwo\n");
    await Deno.writeTextFile(`${dir}/b.txt`, "three"); // no final newline
    await Deno.writeTextFile(`${dir}/empty.txt`, "");
    await Deno.writeFile(`${dir}/c.jsonl.gz`, await gzip('{"n":1}\n{"n":2}\n'));
    await Deno.mkdir(`${dir}/sub/deep`, { recursive: true });
    await Deno.writeTextFile(`${dir}/sub/deep/d.txt`, "four\n");
    await Deno.writeTextFile(`${dir}/.hidden.txt`, "hidden\n");
    for (const scheduler of schedulers) {
      const txt = bag.readText(`${dir}/*.txt`);
      assert.equal(txt.npartitions, 3); // a, b, empty; sorted; hidden files are not matched
      assert.deepEqual(await txt.compute({ scheduler }), ["one\n", "two\n", "three"]);
      assert.deepEqual(await bag.readText(`${dir}/**/*.txt`).compute({ scheduler }), [
        "one\n",
        "two\n",
        "three",
        "four\n",
      ]);
      assert.deepEqual(await bag.readText(`${dir}/{a,b}.t?t`).compute({ scheduler }), [
        "one\n",
        "two\n",
        "three",
      ]);
      const records = bag.readText(`${dir}/c.jsonl.gz`).map(JSON.parse);
      assert.deepEqual(await records.pluck("n").compute({ scheduler }), [1, 2]);
      // compression given explicitly, and a list of paths mixing both kinds
      const both = bag.readText([`${dir}/a.txt`, `${dir}/c.jsonl.gz`], { compression: "infer" });
      assert.equal(await both.count().compute({ scheduler }), 4);
      await assert.rejects(
        bag.readText(`${dir}/c.jsonl.gz`, { compression: null }).map(JSON.parse).compute({
          scheduler,
        }),
        SyntaxError,
      );
      assert.equal(await bag.readText(`${dir}/empty.txt`).count().compute({ scheduler }), 0);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    shutdownThreads();
  }
});

Deno.test("readText blocks cut plain files at line boundaries, each line read once", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bag_blocks_" });
  try {
    for (let seed = 1; seed <= 40; seed++) {
      const random = rng(seed);
      const text = randomText(random);
      const path = `${dir}/f${seed}.txt`;
      await Deno.writeTextFile(path, text);
      const size = new TextEncoder().encode(text).length;
      const blocksize = randomInt(random, 1, 60);
      const blocks = bag.readText(path, { blocksize });
      assert.equal(blocks.npartitions, Math.max(1, Math.ceil(size / blocksize)), `seed ${seed}`);
      const scheduler = schedulers[seed % 2];
      assert.deepEqual(await blocks.compute({ scheduler }), linesOf(text), `seed ${seed}`);
    }
    // large files: lines and block edges fall across the reader's chunks (64 KiB and more)
    for (let seed = 1; seed <= 4; seed++) {
      const random = rng(100 + seed);
      const lines: string[] = [];
      let size = 0;
      while (size < 1_500_000) {
        const length = random() < 0.05
          ? randomInt(random, 50_000, 300_000)
          : randomInt(random, 0, 300);
        const line = "é".repeat(length >> 1) + "x".repeat(length & 1);
        lines.push(line);
        size += new TextEncoder().encode(line).length + 1;
      }
      const text = lines.join("\n") + "\n";
      const path = `${dir}/large${seed}.txt`;
      await Deno.writeTextFile(path, text);
      const blocksize = randomInt(random, 20_000, 400_000);
      const got = await bag.readText(path, { blocksize }).compute({ scheduler: "sync" });
      assert.equal(got.length, lines.length, `large seed ${seed}, blocksize ${blocksize}`);
      assert.ok(got.every((line, i) => line === lines[i] + "\n"), `large seed ${seed}`);
    }
    // utf-16 cannot be cut at "\n" bytes
    await Deno.writeTextFile(`${dir}/big.txt`, "x\n".repeat(100));
    assert.throws(
      () => bag.readText(`${dir}/big.txt`, { blocksize: 10, encoding: "utf-16le" }),
      /blocks are cut/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
    shutdownThreads();
  }
});

Deno.test("readText errors name the file: missing, no match, truncated gzip (no hang)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bag_errors_" });
  try {
    assert.throws(
      () => bag.readText(`${dir}/missing.txt`),
      (e: Error) => e.message.includes(`${dir}/missing.txt`),
    );
    assert.throws(() => bag.readText(`${dir}/*.nothing`), /no file matches/);
    assert.throws(() => bag.readText(dir), /is not a file.*glob/);
    assert.throws(() => bag.readText([]), /at least one path/);
    const full = await gzip(Array.from({ length: 20000 }, (_, i) => `{"line":${i}}\n`).join(""));
    const path = `${dir}/cut.jsonl.gz`;
    await Deno.writeFile(path, full.subarray(0, Math.floor(full.length / 2)));
    await Deno.writeTextFile(`${dir}/gone.txt`, "x\n");
    const gone = bag.readText(`${dir}/gone.txt`);
    await Deno.remove(`${dir}/gone.txt`);
    for (const scheduler of schedulers) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () => reject(new Error("readText hung on a truncated gzip file")),
          20000,
        );
      });
      try {
        await assert.rejects(
          Promise.race([
            bag.readText(path).map(JSON.parse).count().compute({ scheduler }),
            timeout,
          ]),
          (e: Error) => e.message.includes(path) && /truncated/.test(e.message),
        );
      } finally {
        clearTimeout(timer);
      }
      // a file removed after the bag was made fails when read, naming it
      await assert.rejects(
        gone.compute({ scheduler }),
        (e: Error) => e.message.includes(`${dir}/gone.txt`),
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    shutdownThreads();
  }
});

Deno.test("readText reads http URLs, plain and gzip; a failed request names the URL", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bag_http_" });
  const server = serveDirectory(new URL(`file://${dir}/`));
  try {
    await Deno.writeTextFile(`${dir}/plain.txt`, "a\nb\n");
    await Deno.writeFile(`${dir}/z.jsonl.gz`, await gzip('{"v":1}\n{"v":2}\n{"v":3}'));
    for (const scheduler of schedulers) {
      assert.deepEqual(await bag.readText(`${server.url}plain.txt`).compute({ scheduler }), [
        "a\n",
        "b\n",
      ]);
      const total = bag.readText(`${server.url}z.jsonl.gz`).map(JSON.parse).pluck("v").sum();
      assert.equal(await total.compute({ scheduler }), 6);
      await assert.rejects(
        bag.readText(`${server.url}missing.txt`).compute({ scheduler }),
        (e: Error) => e.message.includes(`${server.url}missing.txt`) && /404/.test(e.message),
      );
    }
    assert.throws(() => bag.readText(`${server.url}plain.txt`, { blocksize: 2 }), /URL/);
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
    shutdownThreads();
  }
});

Deno.test("toTextFiles writes each partition, plain or gzip, and readText reads it back", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bag_write_" });
  try {
    const lines = bag.range(25, { npartitions: 3 }).map((x: number) => JSON.stringify({ x }));
    for (const scheduler of schedulers) {
      const plain = await lines.toTextFiles(`${dir}/${scheduler}/plain/*.jsonl`, { scheduler });
      assert.deepEqual(plain, [0, 1, 2].map((i) => `${dir}/${scheduler}/plain/${i}.jsonl`));
      assert.equal(
        await Deno.readTextFile(plain[0]),
        Array.from({ length: 8 }, (_, x) => `{"x":${x}}`).join("\n"),
      );
      // as Dask's last_endline: no trailing newline unless asked
      const ended = await lines.toTextFiles(`${dir}/${scheduler}/ended/*.jsonl`, {
        scheduler,
        lastEndline: true,
      });
      assert.equal(
        await Deno.readTextFile(ended[0]),
        Array.from({ length: 8 }, (_, x) => `{"x":${x}}\n`).join(""),
      );
      // sixteen parts are named 00 … 15, so a glob reads them back in order
      const many = bag.range(40, { npartitions: 16 }).map(String);
      const written = await many.toTextFiles(`${dir}/${scheduler}/many`, { scheduler });
      assert.equal(written[3], `${dir}/${scheduler}/many/03.part`);
      assert.deepEqual(
        await bag.readText(`${dir}/${scheduler}/many/*.part`).map((s: string) => Number(s))
          .compute({ scheduler }),
        Array.from({ length: 40 }, (_, i) => i),
      );
      const zipped = await lines.toTextFiles(`${dir}/${scheduler}/gz/*.jsonl.gz`, {
        scheduler,
        nameFunction: (i) => `part-${String(i).padStart(3, "0")}`,
      });
      assert.equal(zipped[2], `${dir}/${scheduler}/gz/part-002.jsonl.gz`);
      assert.match(await gunzip(await Deno.readFile(zipped[1])), /^\{"x":8\}\n/);
      const back = bag.readText(`${dir}/${scheduler}/gz/*.gz`).map(JSON.parse).pluck("x");
      assert.deepEqual(await back.compute({ scheduler }), Array.from({ length: 25 }, (_, i) => i));
      // a directory gets i.part files (three parts: one digit)
      const parts = await lines.toTextFiles(`${dir}/${scheduler}/dir`, { scheduler });
      assert.equal(parts[1], `${dir}/${scheduler}/dir/1.part`);
      await assert.rejects(
        bag.range(3).toTextFiles(`${dir}/bad/*.txt`, { scheduler }),
        /writes strings.*JSON.stringify/,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
    shutdownThreads();
  }
});

Deno.test("readText decodes other encodings", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bag_enc_" });
  try {
    await Deno.writeFile(`${dir}/latin1.txt`, new Uint8Array([0x63, 0x61, 0x66, 0xe9, 0x0a, 0x78]));
    assert.deepEqual(
      await bag.readText(`${dir}/latin1.txt`, { encoding: "latin1" }).compute({
        scheduler: "sync",
      }),
      ["café\n", "x"],
    );
    assert.throws(() => bag.readText(`${dir}/latin1.txt`, { encoding: "klingon" }), /encoding/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
