/**
 * client/results.ts: a key lost again each time it is computed again fails the fetch after
 * MAX_RECOMPUTATIONS rounds with a MissingDataError that says so, instead of looping. The value
 * is fetched from a real listener that answers every `get-data` without the key (a worker that
 * dropped it); the scheduler's side — `lost`, then `key-in-memory` once computed again — is
 * played by the test after each report.
 */
import assert from "node:assert/strict";
import { HeldKeys } from "../../client/held_keys.ts";
import { MissingDataError } from "../../client/data_fetch.ts";
import { MAX_RECOMPUTATIONS, Results, type ResultsHost } from "../../client/results.ts";
import { listen } from "../../net/listener.ts";
import { PeerPool } from "../../net/peer_pool.ts";
import type { GetDataMsg } from "../../protocol/session.ts";

Deno.test("a key lost every time it is computed again fails after MAX_RECOMPUTATIONS rounds", async () => {
  await using worker = await listen(
    { hostname: "127.0.0.1", port: 0, role: "worker" },
    (connection) =>
      void (async () => {
        for await (const { header } of connection) {
          const request = header as GetDataMsg;
          connection.send({ header: { op: "data", requestId: request.requestId, items: [] } });
        }
      })(),
  );
  const keys = new HeldKeys(() => () => {}, "tcp://127.0.0.1:1");
  const finished = () =>
    keys.receive({
      op: "key-in-memory",
      key: "x-1",
      typeName: "number",
      nbytes: 8,
      workers: [worker.addr],
    });
  keys.stateOf("x-1").holders++;
  finished();
  const peers = new PeerPool({ holdProcessWhenIdle: false });
  const reports: string[] = [];
  const host = {
    keys,
    peers,
    request: (op: string) => {
      assert.equal(op, "who-has");
      return Promise.resolve({ "x-1": [worker.addr] });
    },
    direct: () => true,
    checkOpen: () => {},
    reportMissing: (errant: string, missing: string[]) => {
      reports.push(`${errant} ${missing}`);
      // the scheduler: the key had no other copy, so it is lost and computed again
      keys.receive({ op: "lost", key: "x-1" });
      setTimeout(finished, 1);
    },
  } as unknown as ResultsHost;
  try {
    const results = new Results(host);
    await assert.rejects(results.fetchValues(["x-1"]), (error: unknown) => {
      assert.ok(error instanceof MissingDataError);
      assert.deepEqual(error.keys, ["x-1"]);
      assert.match(error.message, new RegExp(`lost ${MAX_RECOMPUTATIONS + 1} times`));
      return true;
    });
    // one report per round: the first value and each of its recomputations
    assert.deepEqual(reports, Array(MAX_RECOMPUTATIONS + 1).fill(`${worker.addr} x-1`));
  } finally {
    await peers.close();
  }
});
