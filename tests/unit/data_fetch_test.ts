/**
 * client/data_fetch.ts: the first attempt fetches from the holders `key-in-memory` named,
 * without a `who-has`; keys without known holders, and retries, ask the scheduler.
 */
import assert from "node:assert/strict";
import { DataFetcher } from "../../client/data_fetch.ts";
import type { PeerPool } from "../../net/peer_pool.ts";
import type { DataMsg } from "../../protocol/session.ts";
import { encode } from "../../core/value_codec.ts";

/** Workers that hold given keys, answering `get-data`, and a log of what was asked. */
function fakeCluster(held: Record<string, string[]>) {
  const asked: string[] = [];
  const whoHasCalls: string[][] = [];
  const peers = {
    getData(peer: string, keys: string[]): Promise<DataMsg> {
      asked.push(`${peer}:${keys.join(",")}`);
      const items = keys.filter((k) => held[peer]?.includes(k)).map((key) => ({
        key,
        value: encode(key),
        nbytes: 1,
        typeName: "string",
      }));
      return Promise.resolve({ op: "data", requestId: 0, items } as DataMsg);
    },
  } as unknown as PeerPool;
  const whoHas = (keys: string[]) => {
    whoHasCalls.push(keys);
    const out: Record<string, string[]> = {};
    for (const key of keys) {
      out[key] = Object.keys(held).filter((peer) => held[peer].includes(key));
    }
    return Promise.resolve(out);
  };
  return { peers, whoHas, asked, whoHasCalls };
}

Deno.test("known holders are fetched from without asking the scheduler", async () => {
  const c = fakeCluster({ w1: ["a", "b"], w2: ["c"] });
  const known: Record<string, string[]> = { a: ["w1"], b: ["w1"] };
  const fetcher = new DataFetcher(c.whoHas, c.peers, (key) => known[key]);
  const result = await fetcher.fetch(["a", "b", "c"]);
  assert.deepEqual([...result.values.keys()].sort(), ["a", "b", "c"]);
  assert.deepEqual(result.missing, []);
  // only the key without a known holder went to the scheduler
  assert.deepEqual(c.whoHasCalls, [["c"]]);
  assert.deepEqual(c.asked.sort(), ["w1:a,b", "w2:c"]);
});

Deno.test("a known holder that no longer has the key: the retry asks the scheduler", async () => {
  const c = fakeCluster({ w1: [], w2: ["a"] });
  const fetcher = new DataFetcher(c.whoHas, c.peers, () => ["w1"]);
  const result = await fetcher.fetch(["a"]);
  assert.deepEqual([...result.values.keys()], ["a"]);
  assert.deepEqual(c.whoHasCalls, [["a"]]);
  assert.deepEqual(c.asked, ["w1:a", "w2:a"]);
});

Deno.test("without known holders every key is looked up first", async () => {
  const c = fakeCluster({ w1: ["a"] });
  const fetcher = new DataFetcher(c.whoHas, c.peers);
  const result = await fetcher.fetch(["a"]);
  assert.deepEqual([...result.values.keys()], ["a"]);
  assert.deepEqual(c.whoHasCalls, [["a"]]);
});
