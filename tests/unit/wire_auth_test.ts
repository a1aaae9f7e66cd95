import assert from "node:assert/strict";
import {
  Connection,
  encodeMessage,
  FrameReader,
  handshakeBytes,
  listen,
  type ListenOptions,
  parseAddress,
} from "../../net/wire.ts";

const TOKEN = "0123456789abcdef0123456789abcdef";

/** An echo listener on loopback that records each refusal with the peer's address. */
async function echoListener(options: Partial<ListenOptions> = {}) {
  const refusals: { message: string; remote: string }[] = [];
  let wake = () => {};
  const listener = await listen(
    {
      hostname: "127.0.0.1",
      port: 0,
      ...options,
      onError: (error, remote) => {
        refusals.push({ message: error.message, remote });
        wake();
      },
    },
    (connection) => {
      void (async () => {
        for await (const message of connection) connection.send(message);
      })();
    },
  );
  const refusal = async () => {
    while (refusals.length === 0) await new Promise<void>((resolve) => wake = resolve);
    return refusals.shift()!;
  };
  return { listener, refusal, refusals };
}

async function echoes(connection: Connection): Promise<unknown> {
  connection.send({ header: { op: "echo", n: 42 } });
  for await (const message of connection) return message.header;
  throw new Error(`closed: ${(await connection.closed).reason}`);
}

Deno.test("peers holding the same token connect; the token itself never crosses the wire", async () => {
  const { listener } = await echoListener({ authToken: TOKEN });
  await using _ = listener;
  const connection = await Connection.connect(listener.addr, { role: "client", authToken: TOKEN });
  assert.deepEqual(await echoes(connection), { op: "echo", n: 42 });
  assert.equal(connection.peer.role, "scheduler");
  await connection.close();

  // What the dialer writes during the handshake holds no trace of the token.
  const raw = await Deno.connect({ ...parseAddress(listener.addr), transport: "tcp" });
  const reader = new FrameReader({ handshake: true });
  const hello = handshakeBytes({ role: "client", challenge: new Uint8Array(32) });
  await raw.write(hello);
  const buffer = new Uint8Array(4096);
  const n = (await raw.read(buffer))!;
  const [peerHello] = reader.push(buffer.subarray(0, n));
  const text = new TextDecoder("latin1").decode(buffer.subarray(0, n));
  assert.ok(!text.includes(TOKEN));
  assert.equal((peerHello.header as { challenge: Uint8Array }).challenge.byteLength, 32);
  raw.close();
});

Deno.test("no token, a wrong token, or a missing proof are refused and logged with the peer", async () => {
  const { listener, refusal } = await echoListener({ authToken: TOKEN });
  await using _ = listener;

  await assert.rejects(
    Connection.connect(listener.addr, { role: "client" }),
    /requires an auth token and this side has none.*--auth-token-file/,
  );
  let refused = await refusal();
  assert.match(refused.message, /does not authenticate/);
  assert.match(refused.remote, /^tcp:\/\/127\.0\.0\.1:\d+$/);

  await assert.rejects(
    Connection.connect(listener.addr, { role: "client", authToken: TOKEN.replace("0", "1") }),
    /auth proof is wrong|closed the connection during the handshake/,
  );
  refused = await refusal();
  assert.match(refused.message, /auth proof is wrong: it holds a different auth token/);

  // A hello with a challenge, then a message that is not a proof: refused, never handed out.
  const raw = await Deno.connect({ ...parseAddress(listener.addr), transport: "tcp" });
  const hello = handshakeBytes({ role: "client", challenge: new Uint8Array(32) });
  const frames = encodeMessage({ header: { op: "register-client", clientId: "x" } });
  await raw.write(new Uint8Array([...hello, ...frames.flatMap((f) => [...f])]));
  refused = await refusal();
  assert.match(refused.message, /did not send an auth proof/);
  raw.close();

  // The listener still serves peers that hold the token.
  const good = await Connection.connect(listener.addr, { role: "client", authToken: TOKEN });
  assert.deepEqual(await echoes(good), { op: "echo", n: 42 });
  await good.close();
});

Deno.test("a dialer with a token refuses a listener that does not authenticate", async () => {
  const { listener } = await echoListener();
  await using _ = listener;
  await assert.rejects(
    Connection.connect(listener.addr, { role: "client", authToken: TOKEN }),
    /The peer does not authenticate/,
  );
});

Deno.test("a short token is refused with a hint to make a long one", async () => {
  await assert.rejects(
    Connection.connect("tcp://127.0.0.1:1", { role: "client", authToken: "short" }),
    /at least 16 random characters/,
  );
});

Deno.test("a listener keeps at most maxConnectionsPerHost from one host", async () => {
  const { listener, refusal } = await echoListener({ maxConnectionsPerHost: 2 });
  await using _ = listener;
  const first = await Connection.connect(listener.addr, { role: "client" });
  const second = await Connection.connect(listener.addr, { role: "client" });
  await assert.rejects(Connection.connect(listener.addr, { role: "client" }));
  assert.match(
    (await refusal()).message,
    /already has 2 connections open \(maxConnectionsPerHost\)/,
  );
  assert.deepEqual(await echoes(second), { op: "echo", n: 42 });
  await first.close();
  // once one closes (the listener notices on its read), a new one is let in
  for (;;) {
    try {
      const third = await Connection.connect(listener.addr, { role: "client" });
      assert.deepEqual(await echoes(third), { op: "echo", n: 42 });
      await third.close();
      break;
    } catch {
      await refusal();
    }
  }
  await second.close();
});

Deno.test("a client identity proves its own token, named in its hello; a claim without proof counts for nothing", async () => {
  const alice = "a11ce-0123456789abcdef";
  const identities: (string | undefined)[] = [];
  const refusals: string[] = [];
  const listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    authToken: TOKEN,
    identityTokens: new Map([["alice", alice]]),
    onError: (error) => refusals.push(error.message),
  }, (connection) => {
    identities.push(connection.identity);
    void connection.close();
  });
  await using _ = listener;
  for (const authToken of [`alice:${alice}`, TOKEN]) {
    const connection = await Connection.connect(listener.addr, { role: "client", authToken });
    assert.equal(connection.identity, undefined, "the dialer's own view names no peer identity");
    for await (const _ of connection) { /* until the listener closes it */ }
  }
  assert.deepEqual(identities, ["alice", undefined]);
  // alice's name with the cluster's token, and an unknown name: refused like a wrong token
  for (const authToken of [`alice:${TOKEN}`, `mallory:${alice}`]) {
    await assert.rejects(
      Connection.connect(listener.addr, { role: "client", authToken }),
      /auth proof is wrong/,
    );
  }
  while (refusals.length < 2) await new Promise((r) => setTimeout(r, 10));
  assert.match(refusals[0], /auth proof is wrong/);
  assert.match(refusals[1], /client identity 'mallory', which this side does not know/);
  // a listener without tokens ignores an identity named without a proof
  const open = await listen({ hostname: "127.0.0.1", port: 0 }, (connection) => {
    identities.push(connection.identity);
    void connection.close();
  });
  await using __ = open;
  const { hostname, port } = parseAddress(open.addr);
  const raw = await Deno.connect({ hostname, port });
  await raw.write(handshakeBytes({ role: "client", identity: "alice" }));
  while (identities.length < 3) await new Promise((r) => setTimeout(r, 10));
  raw.close();
  assert.equal(identities[2], undefined);
});
