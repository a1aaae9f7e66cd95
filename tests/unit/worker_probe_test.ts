/**
 * scheduler/worker_probe.ts: a worker named by a missing-data report counts as gone only when
 * its port refuses a connection; a listener that completes the handshake, or a socket that
 * accepts and never answers (a frozen host), does not.
 */
import assert from "node:assert/strict";
import { listen } from "../../net/listener.ts";
import { probeListener, WorkerProbes } from "../../scheduler/worker_probe.ts";

const PEER = { role: "peer" };

/** A port nothing listens on: one that was listened on and closed. */
function closedPort(): string {
  const socket = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (socket.addr as Deno.NetAddr).port;
  socket.close();
  return `tcp://127.0.0.1:${port}`;
}

Deno.test("a port nothing listens on is refused", async () => {
  assert.equal(await probeListener(closedPort(), PEER, 2000), "refused");
});

Deno.test("a worker's listener that completes the handshake is listening", async () => {
  const seen: string[] = [];
  await using listener = await listen(
    { hostname: "127.0.0.1", port: 0, role: "worker", onError: (e) => seen.push(e.message) },
    (connection) => void connection.close(),
  );
  assert.equal(await probeListener(listener.addr, PEER, 2000), "listening");
  assert.deepEqual(seen, []);
});

Deno.test("a socket that accepts and never answers (a frozen host) is no answer, not refused", async () => {
  const socket = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepted: Deno.Conn[] = [];
  const accepting = (async () => {
    for await (const conn of socket) accepted.push(conn);
  })();
  try {
    const address = `tcp://127.0.0.1:${(socket.addr as Deno.NetAddr).port}`;
    assert.equal(await probeListener(address, PEER, 300), "no-answer");
  } finally {
    socket.close();
    for (const conn of accepted) conn.close();
    await accepting.catch(() => {});
  }
});

Deno.test("probes of one address run one at a time; a refused one calls back once", async () => {
  const probes = new WorkerProbes(PEER, 2000);
  const address = closedPort();
  let refusals = 0;
  const done = Promise.withResolvers<void>();
  probes.probe(address, () => {
    refusals++;
    done.resolve();
  });
  probes.probe(address, () => refusals++); // under way already: ignored
  await done.promise;
  // a second dial, had it been made, was made before this one and has answered by now
  assert.equal(await probeListener(address, PEER, 2000), "refused");
  assert.equal(refusals, 1);
});
