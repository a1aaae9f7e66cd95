/**
 * net/peer_pool.ts: a connection that brings nothing while a `get-data` waits on it is closed
 * after `silenceTimeoutMs` (a frozen host's kernel keeps the socket open), and the request fails
 * saying so; the next request dials again. A request that waits on the peer's work (an actor
 * call) may be silent for longer. The peer is a real listener that completes the handshake.
 */
import assert from "node:assert/strict";
import { listen } from "../../net/listener.ts";
import { PeerPool } from "../../net/peer_pool.ts";
import type { Connection } from "../../net/connection.ts";

/** A worker's listener that answers as `answer` says (null: never). */
async function peer(answer: (header: Record<string, unknown>, connection: Connection) => void) {
  let connections = 0;
  const listener = await listen(
    { hostname: "127.0.0.1", port: 0, role: "worker" },
    (connection) => {
      connections++;
      void (async () => {
        for await (const { header } of connection) {
          answer(header as Record<string, unknown>, connection);
        }
      })();
    },
  );
  return { listener, connections: () => connections };
}

Deno.test("a get-data on a peer that sends nothing fails after the silence timeout, and the next dials again", async () => {
  let answering = false;
  const { listener, connections } = await peer((header, connection) => {
    if (answering) {
      connection.send({ header: { op: "data", requestId: header.requestId, items: [] } });
    }
  });
  await using _ = listener;
  const pool = new PeerPool({ silenceTimeoutMs: 200 });
  try {
    await assert.rejects(
      pool.getData(listener.addr, ["x-1"]),
      /the peer sent nothing for 0\.\d s while 1 data requests waited/,
    );
    answering = true;
    assert.deepEqual((await pool.getData(listener.addr, ["x-1"])).items, []);
    assert.equal(connections(), 2);
  } finally {
    await pool.close();
  }
});

Deno.test("an actor call may wait on the peer's work longer than the silence timeout", async () => {
  const { listener } = await peer((header, connection) => {
    const reply = { op: "actor-reply", requestId: header.requestId, ok: true, value: null };
    setTimeout(() => connection.send({ header: reply }), 600);
  });
  await using _ = listener;
  const pool = new PeerPool({ silenceTimeoutMs: 150 });
  try {
    const reply = await pool.actor(listener.addr, {
      op: "actor-call",
      key: "a-1",
      method: "slow",
      args: null as never,
    });
    assert.equal(reply.op, "actor-reply");
  } finally {
    await pool.close();
  }
});
