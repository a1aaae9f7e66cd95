// Partitions of fromSequence travel as msgpack bodies; a pluck or count right after them reads
// only what it needs (collections/bag/partition_ops.ts `readInPart`). Answers must not change.

import assert from "node:assert/strict";
import * as bag from "../../collections/bag/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { encodedSource, pipelineFactory } from "../../collections/bag/partition_ops.ts";
import { encode } from "../../core/value_codec.ts";
import { MIN_RECORDS } from "../../core/codec_kinds.ts";
import { schedulers } from "./bag_helpers.ts";

const rows = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    type: ["PushEvent", "WatchEvent", "ForkEvent"][i % 3],
    repo: `org${i % 7}/repo${i}`,
    size: i % 11,
    none: undefined as undefined | number,
  }));

Deno.test("pluck and count right after fromSequence give the same answers as array code", async () => {
  const records = rows(1000);
  const mixed: unknown[] = [...rows(300), { type: "Odd", repo: "r" }, ...rows(300)];
  try {
    for (const scheduler of schedulers) {
      const b = bag.fromSequence(records, { npartitions: 7 });
      assert.equal(await b.count().compute({ scheduler }), 1000);
      assert.deepEqual(await b.pluck("repo").compute({ scheduler }), records.map((r) => r.repo));
      assert.deepEqual(await b.pluck("none").compute({ scheduler }), records.map(() => undefined));
      const sizes = await b.pluck("size").filter((s: number) => s > 5).sum().compute({ scheduler });
      assert.equal(sizes, records.reduce((t, r) => t + (r.size > 5 ? r.size : 0), 0));
      assert.deepEqual(
        await b.pluck("type").frequencies().compute({ scheduler }),
        [["PushEvent", 334], ["WatchEvent", 333], ["ForkEvent", 333]],
      );
      assert.deepEqual(
        await b.pluck(["type", "size"]).take(2, { scheduler }),
        [["PushEvent", 0], ["WatchEvent", 1]],
      );
      // a field no record has: the default, or the error naming it
      assert.deepEqual(
        await b.pluck("missing" as never, 0 as never).take(3, { scheduler }),
        [0, 0, 0],
      );
      await assert.rejects(b.pluck("missing" as never).count().compute({ scheduler }), /missing/);
      // records of several shapes, numbers, an empty bag
      const m = bag.fromSequence(mixed, { npartitions: 3 });
      assert.equal(await m.count().compute({ scheduler }), 601);
      await assert.rejects(m.pluck("size" as never).compute({ scheduler }), /no field "size"/);
      assert.equal(
        await bag.fromSequence([1, 2, 3], { npartitions: 2 }).count().compute({ scheduler }),
        3,
      );
      assert.equal(await bag.fromSequence([]).count().compute({ scheduler }), 0);
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("a field that pluck does not read is not decoded, nor any element that count skips", () => {
  // records whose field `bad` holds an extension this codec does not know (type 99): decoding
  // a record whole fails, reading `good` alone does not
  const n = MIN_RECORDS + 4;
  const body = encode(
    Array.from({ length: n }, (_, i) => ({ good: i, bad: undefined })),
    { frameThreshold: Infinity },
  ).body;
  for (let i = 0; i < body.length - 2; i++) {
    if (body[i] === 0xd4 && body[i + 1] === 0 && body[i + 2] === 0) body[i + 1] = 99;
  }
  const run = pipelineFactory(encodedSource);
  const input = { call: 0, args: [body] };
  const collect = { op: "collect" } as const;
  assert.throws(() => run(input, [], collect), /extension type 99/);
  const pluck = { op: "pluck", key: "good", fallback: null } as const;
  assert.deepEqual(run(input, [pluck], collect), Array.from({ length: n }, (_, i) => i));
  const count = { op: "reduce", reducer: { kind: "count" }, isLast: true } as const;
  assert.equal(run(input, [], count), n);
});
