import assert from "node:assert/strict";
import {
  Connection,
  encodeMessage,
  FrameReader,
  handshakeBytes,
  parseAddress,
} from "../../net/wire.ts";
import { concat } from "../helpers/bytes.ts";
import { startCluster } from "../helpers/cluster.ts";
import { graphTask, RawClient } from "../helpers/raw_client.ts";

/**
 * Opens a raw socket and writes `first`. With `opening`, completes a session first: sends the
 * handshake and that message, waits for the answer, then writes `first`. Resolves true once the
 * peer closes the socket.
 */
async function closedAfterWriting(
  address: string,
  first: Uint8Array,
  opening?: { role: string; header: unknown },
): Promise<boolean> {
  const conn = await Deno.connect({ ...parseAddress(address), transport: "tcp" });
  const deadline = setTimeout(() => conn.close(), 5000);
  const buffer = new Uint8Array(64 * 1024);
  try {
    if (opening !== undefined) {
      const reader = new FrameReader({ handshake: true });
      await conn.write(
        concat(
          handshakeBytes({ role: opening.role }),
          ...encodeMessage({ header: opening.header }),
        ),
      );
      // The peer's hello, then its answer: the session is established.
      for (let messages = 0; messages < 2;) {
        const n = await conn.read(buffer);
        if (n === null) return false;
        messages += reader.push(buffer.subarray(0, n)).length;
      }
    }
    await conn.write(first);
    while ((await conn.read(buffer)) !== null) { /* whatever comes, then EOF */ }
    return true;
  } catch (error) {
    return error instanceof Deno.errors.ConnectionReset; // reset by the peer: closed too
  } finally {
    clearTimeout(deadline);
    try {
      conn.close();
    } catch { /* closed */ }
  }
}

/** A message prefix that claims zero parts: no message looks like this. */
const MALFORMED = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]);

Deno.test("bad input closes only the offending connection; the cluster keeps serving", async () => {
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await RawClient.connect(cluster.schedulerAddress);
  const worker = cluster.workers[0];
  const inc = (x: number) => x + 1;
  assert.deepEqual(await client.compute([graphTask("before", inc, [1])], ["before"]), [2]);

  // A malformed frame from a registered client, from a peer of a worker after a request, and
  // one that arrives with the handshake.
  assert.ok(
    await closedAfterWriting(cluster.schedulerAddress, MALFORMED, {
      role: "client",
      header: { op: "register-client", clientId: "raw-client", protocol: 1 },
    }),
  );
  await cluster.scheduler.waitForLine(/closed the connection of client .*Malformed message prefix/);
  const hello = handshakeBytes({ role: "client" });
  assert.ok(await closedAfterWriting(cluster.schedulerAddress, concat(hello, MALFORMED)));
  await cluster.scheduler.waitForLine(/refused: Malformed message prefix/);
  assert.ok(
    await closedAfterWriting(worker.address, MALFORMED, {
      role: "peer",
      header: { op: "get-data", requestId: 1, keys: ["before"] },
    }),
  );
  await worker.process.waitForLine(/\[worker w0\] .*broke: protocol error: Malformed message/);

  // A wrong protocol version in the handshake.
  const wrongVersion = handshakeBytes({ role: "client" });
  wrongVersion[3] = 99;
  assert.ok(await closedAfterWriting(cluster.schedulerAddress, wrongVersion));
  await cluster.scheduler.waitForLine(/protocol version 99 not supported/);

  // A wrong session protocol in the registration is refused with a reason.
  const old = await Connection.connect(cluster.schedulerAddress, { role: "client" });
  old.send({ header: { op: "register-client", clientId: "old-client", protocol: 0 } });
  const answers = [];
  for await (const message of old) answers.push(message.header as { op: string; reason: string });
  assert.equal(answers.length, 1);
  assert.equal(answers[0].op, "refused");
  assert.match(answers[0].reason, /session protocol 0 is not supported/);

  // An unknown operation from a registered client, and from a peer of a worker.
  await using rogue = await RawClient.connect(cluster.schedulerAddress);
  rogue.send({ op: "make-coffee" });
  const closed = await rogue.connection.closed;
  assert.match(closed.reason, /closed by the peer/);
  await cluster.scheduler.waitForLine(/it sent unknown operation "make-coffee"/);
  const peer = await Connection.connect(worker.address, { role: "peer" });
  peer.send({ header: { op: "make-tea", requestId: 1 } });
  for await (const _ of peer) { /* nothing comes back */ }
  await worker.process.waitForLine(/it sent unknown operation "make-tea"/);

  // A batch whose msgs is not a list, and a batch with an unknown message inside it: each
  // closes its connection, with a reason naming what was wrong.
  await using badBatch = await RawClient.connect(cluster.schedulerAddress);
  badBatch.send({ op: "batch", msgs: "not a list" });
  assert.match((await badBatch.connection.closed).reason, /closed by the peer/);
  await cluster.scheduler.waitForLine(/it sent a batch without a list of messages \(msgs\)/);
  await using badInner = await RawClient.connect(cluster.schedulerAddress);
  badInner.send({
    op: "batch",
    msgs: [{ op: "client-desires-keys", keys: ["after-batch"] }, { op: "make-cocoa" }],
  });
  assert.match((await badInner.connection.closed).reason, /closed by the peer/);
  await cluster.scheduler.waitForLine(/it sent unknown operation "make-cocoa"/);

  // A connection with a role the listener does not serve.
  const stranger = await Connection.connect(cluster.schedulerAddress, { role: "toaster" });
  for await (const _ of stranger) { /* refused, then closed */ }
  await cluster.scheduler.waitForLine(/role "toaster" is not served here/);

  // Everyone else was served throughout.
  const after = await client.compute([graphTask("after", inc, [41])], ["after"]);
  assert.deepEqual(after, [42]);
  const data = await client.getData(worker.address, ["after"]);
  assert.equal(data.get("after"), 42);
});
