import assert from "node:assert/strict";
import { encode } from "../../core/value_codec.ts";
import { decode } from "../../core/value_decoder.ts";
import {
  packMemberKeys,
  type RunBatch,
  type RunItem,
  unpackMemberKeys,
} from "../../threads/thread_protocol.ts";

function subgraphItem(id: number, keys: string[]): RunItem {
  return {
    id,
    key: keys[keys.length - 1],
    fn: "f",
    args: encode(keys.map(() => [1])),
    depKeys: [],
    depValues: [],
    members: { keys, fns: ["f"], fnOf: keys.map(() => 0), exports: [keys.length - 1], readers: [] },
  };
}

Deno.test("a subgraph item's keys cross a process pipe packed and come back the same", () => {
  // any text: empty keys, multi-byte characters, surrogate pairs, the characters a join could
  // confuse with a separator
  const keys = Array.from(
    { length: 200 },
    (_, i) => [`inc-${i}`, "", "é-ü", "🙂x", "a,b\n"][i % 5],
  );
  const small = subgraphItem(2, ["x", "y"]);
  const batch = [subgraphItem(1, keys), small];
  const wire = packMemberKeys(batch);
  // the caller's items are not changed; a small item goes as it is
  assert.deepEqual(batch[0].members!.keys, keys);
  assert.equal(wire[1], small);
  assert.equal("keys" in wire[0].members!, false);

  const message = decode(encode({ type: "run", batch: wire })) as RunBatch;
  unpackMemberKeys(message.batch);
  assert.deepEqual(message.batch[0].members!.keys, keys);
  assert.equal("packedKeys" in message.batch[0].members!, false);
  assert.deepEqual(message.batch[1].members!.keys, ["x", "y"]);
});
