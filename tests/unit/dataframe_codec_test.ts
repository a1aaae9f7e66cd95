// A partition crosses threads and processes as an Arrow IPC stream in an out-of-band frame: the
// msgpack body holds only a small header, and the table comes back equal.
import assert from "node:assert/strict";
import { encode } from "../../core/value_codec.ts";
import { decode } from "../../core/value_decoder.ts";
import { ArrowIPC, registerTableCodec, tableCodec } from "../../core/table_codec.ts";
import { type Frame, pl, type PlSeries } from "../../collections/dataframe/mod.ts";

function bigFrame(n: number): Frame {
  return pl.DataFrame({
    x: Float64Array.from({ length: n }, (_, i) => i * 0.5),
    s: Array.from({ length: n }, (_, i) => (i % 10 === 0 ? null : `name-${i % 97}`)),
  });
}

Deno.test("a Polars frame travels as one Arrow IPC frame, not inside the msgpack body", () => {
  const frame = bigFrame(50_000);
  const encoded = encode({ partition: frame, key: "x-1" });
  assert.equal(encoded.frames.length, 1);
  assert.ok(encoded.body.byteLength < 100, `body ${encoded.body.byteLength} bytes`);
  assert.ok(encoded.frames[0].byteLength > 400_000);
  const back = decode(encoded) as { partition: Frame; key: string };
  assert.equal(back.key, "x-1");
  assert.deepEqual(back.partition.toRecords(), frame.toRecords());
});

Deno.test("a Polars series and a small frame round-trip; without a codec a table stays ArrowIPC", () => {
  const series = pl.Series("v", [1, null, 3]);
  const encoded = encode([series, bigFrame(3)]);
  const [s, f] = decode(encoded) as [pl.Series, Frame];
  assert.deepEqual(s.toArray(), [1, null, 3]);
  assert.equal(s.name, "v");
  assert.equal(f.height, 3);
  const codec = tableCodec()!;
  registerTableCodec(undefined as never);
  try {
    const passed = decode(encoded) as unknown[];
    assert.ok(passed[0] instanceof ArrowIPC);
    // and it re-encodes as the same table for the next hop
    const again = encode(passed);
    registerTableCodec(codec);
    const [s2] = decode(again) as [PlSeries];
    assert.deepEqual(s2.toArray(), [1, null, 3]);
  } finally {
    registerTableCodec(codec);
  }
});
