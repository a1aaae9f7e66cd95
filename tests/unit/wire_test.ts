import assert from "node:assert/strict";
import {
  type CloseInfo,
  Connection,
  encodeMessage,
  FrameReader,
  handshakeBytes,
  listen,
  type Listener,
  type Message,
  parseAddress,
  parseHandshakePrefix,
  PROTOCOL_VERSION,
  WireError,
} from "../../net/wire.ts";
import { TaskRef } from "../../core/task.ts";

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.byteLength, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.byteLength;
  }
  return out;
}

interface SampleHeader {
  op: string;
  key: string;
  args: [TaskRef, undefined, number, bigint];
  error: Error;
  data: Float64Array;
}

const sampleMessage = (): Message & { header: SampleHeader } => ({
  header: {
    op: "compute-task",
    key: "inc-1",
    args: [new TaskRef("x-0"), undefined, -0, 2n ** 70n],
    error: new TypeError("boom"),
    data: Float64Array.from({ length: 10_000 }, (_, i) => i), // goes out of band
  },
  frames: [new Uint8Array([9, 8, 7]), new Uint8Array(0)],
});

function assertSampleMessage(message: Message): void {
  const header = message.header as SampleHeader;
  assert.equal(header.op, "compute-task");
  assert.ok(header.args[0] instanceof TaskRef && header.args[0].key === "x-0");
  assert.equal(header.args[1], undefined);
  assert.ok(Object.is(header.args[2], -0));
  assert.equal(header.args[3], 2n ** 70n);
  assert.ok(header.error instanceof TypeError && header.error.message === "boom");
  assert.equal(header.data.length, 10_000);
  assert.equal(header.data[9_999], 9_999);
  assert.deepEqual(message.frames, [new Uint8Array([9, 8, 7]), new Uint8Array(0)]);
}

Deno.test("FrameReader parses a stream fed one byte at a time", () => {
  const stream = concat([
    handshakeBytes({ role: "worker", challenge: new Uint8Array([1, 2, 3]) }),
    ...encodeMessage(sampleMessage()),
    ...encodeMessage({ header: { op: "ping" } }),
  ]);
  const reader = new FrameReader({ maxFrameBytes: 1 << 20, handshake: true });
  const messages: Message[] = [];
  for (let i = 0; i < stream.byteLength; i++) {
    const chunk = stream.slice(i, i + 1);
    messages.push(...reader.push(chunk));
    chunk.fill(0xff); // the reader must not keep views into pushed chunks
  }
  assert.equal(messages.length, 3);
  assert.deepStrictEqual(messages[0].header, {
    op: "hello",
    version: PROTOCOL_VERSION,
    role: "worker",
    challenge: new Uint8Array([1, 2, 3]),
  });
  assertSampleMessage(messages[1]);
  assert.deepStrictEqual(messages[2], { header: { op: "ping" }, frames: [] });
});

Deno.test("FrameReader handles a message split at every byte boundary", () => {
  const message: Message = {
    header: { op: "update", keys: ["a", "b"], when: new Date(5), u: undefined },
    frames: [new Uint8Array([1, 2, 3])],
  };
  const bytes = concat(encodeMessage(message));
  for (let split = 0; split <= bytes.byteLength; split++) {
    const reader = new FrameReader({ maxFrameBytes: 1024 });
    const first = bytes.slice(0, split);
    const got = reader.push(first);
    first.fill(0); // reused read buffer
    got.push(...reader.push(bytes.slice(split)));
    assert.equal(got.length, 1, `split at ${split}`);
    assert.deepStrictEqual(got[0], { header: message.header, frames: message.frames });
  }
});

Deno.test("FrameReader fills large frames through directTarget without a chunk copy", () => {
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  const bytes = concat(encodeMessage({ header: { op: "data" }, frames: [big] }));
  const reader = new FrameReader();
  assert.deepEqual(reader.push(bytes.subarray(0, 100)), []);
  let at = 100;
  let messages: Message[] = [];
  let directReads = 0;
  while (at < bytes.byteLength) {
    const target = reader.directTarget();
    if (target !== null) {
      const n = Math.min(target.byteLength, 70_000, bytes.byteLength - at);
      target.set(bytes.subarray(at, at + n));
      messages = messages.concat(reader.directFilled(n));
      directReads++;
      at += n;
    } else {
      const n = Math.min(1000, bytes.byteLength - at);
      messages = messages.concat(reader.push(bytes.subarray(at, at + n)));
      at += n;
    }
  }
  assert.ok(directReads >= 3, `${directReads} direct reads`);
  assert.equal(messages.length, 1);
  assert.deepEqual(messages[0].frames, [big]);
  assert.equal(messages[0].frames![0].byteOffset, 0, "a frame owns its buffer");
  assert.equal(messages[0].frames![0].buffer.byteLength, big.byteLength);
});

Deno.test("FrameReader reads frames from sharedFrameMinBytes up into shared memory", () => {
  const large = new Uint8Array(200_000).map((_, i) => i % 253);
  const small = new Uint8Array(1000).fill(7);
  const header = { op: "data", note: "x".repeat(100_000) }; // a large header stays private
  const bytes = concat(encodeMessage({ header, frames: [small, large] }));
  const isShared = (part: Uint8Array) => part.buffer instanceof SharedArrayBuffer;
  for (const chunkBytes of [bytes.byteLength, 4096]) {
    // whole at once (frames assembled from the chunk), and in pieces (read straight into them)
    const reader = new FrameReader({ sharedFrameMinBytes: 64 * 1024 });
    let messages: Message[] = [];
    for (let at = 0; at < bytes.byteLength;) {
      const target = reader.directTarget();
      const n = Math.min(target?.byteLength ?? chunkBytes, chunkBytes, bytes.byteLength - at);
      if (target !== null) {
        target.set(bytes.subarray(at, at + n));
        messages = messages.concat(reader.directFilled(n));
      } else messages = messages.concat(reader.push(bytes.subarray(at, at + n)));
      at += n;
    }
    assert.equal(messages.length, 1);
    assert.deepEqual(messages[0].header, header);
    const [first, second] = messages[0].frames!;
    assert.deepEqual([isShared(first), isShared(second)], [false, true]);
    assert.deepEqual(new Uint8Array(second), large);
    assert.deepEqual(first, small);
  }
  // Without the option nothing is shared.
  const plain = new FrameReader().push(bytes)[0];
  assert.ok(!plain.frames!.some(isShared));
});

Deno.test("FrameReader refuses oversize parts, bad prefixes and undecodable headers", () => {
  const oversize = concat(encodeMessage({ header: "x".repeat(2000) }));
  const reader = new FrameReader({ maxHeaderBytes: 1000 });
  assert.throws(() => reader.push(oversize), (error: Error) => {
    assert.ok(error instanceof WireError);
    assert.match(error.message, /message header of \d+ bytes exceeds the limit of 1000 bytes/);
    assert.match(error.message, /maxHeaderBytes/);
    return true;
  });
  const bigFrame = concat(encodeMessage({ header: 1, frames: [new Uint8Array(2000)] }));
  assert.throws(
    () => new FrameReader({ maxFrameBytes: 1000 }).push(bigFrame),
    /frame of 2000 bytes exceeds the limit of 1000 bytes \(maxFrameBytes\)/,
  );
  const manyFrames = concat(encodeMessage({ header: 1, frames: [1, 2, 3].map(() => EMPTY) }));
  assert.throws(
    () => new FrameReader({ maxFramesPerMessage: 2 }).push(manyFrames),
    /3 frames exceeds the limit of 2 \(maxFramesPerMessage\)/,
  );
  assert.throws(() => reader.push(new Uint8Array(1)), WireError, "a broken stream stays broken");

  const zeroParts = new Uint8Array(8);
  assert.throws(() => new FrameReader().push(zeroParts), /Malformed message prefix: 0 parts/);

  const garbageHeader = concat([
    new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]),
    new Uint8Array([0xc1, 0xc1]), // 0xc1 is never used in msgpack
  ]);
  assert.throws(() => new FrameReader().push(garbageHeader), /header does not decode/);
});

const EMPTY = new Uint8Array(0);

Deno.test("a guarded reader reads the handshake under a few KiB and holds what follows", () => {
  const hello = handshakeBytes({ role: "client" });
  // A huge length claimed before the handshake completes is refused at once.
  const claim = new Uint8Array(16);
  new DataView(claim.buffer).setUint32(0, 1, true);
  new DataView(claim.buffer).setUint32(8, 1 << 30, true);
  const guarded = () => new FrameReader({ handshake: true, guardedMessages: 1 });
  assert.throws(
    () => guarded().push(concat([hello.subarray(0, 4), claim])),
    /header of 1073741824 bytes exceeds the limit of 4096 bytes \(maxHandshakeBytes/,
  );
  // After the hello, the next message is held undecoded (garbage is not even parsed)...
  const reader = guarded();
  const garbage = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0xc1, 0xc1]);
  assert.equal(reader.push(concat([hello, garbage])).length, 1);
  // ...until the guard is lifted; then it is parsed with the normal rules.
  assert.throws(() => reader.unguard(), /header does not decode/);
  // A valid message behind the hello arrives once unguarded, in order, with its frames.
  const next = guarded();
  const big = new Uint8Array(10_000).fill(7);
  assert.equal(next.push(concat([hello, ...encodeMessage({ header: "a" })])).length, 1);
  assert.deepEqual(next.unguard(), [{ header: "a", frames: [] }]);
  assert.deepEqual(next.push(concat(encodeMessage({ header: "b", frames: [big] }))), [
    { header: "b", frames: [big] },
  ]);
  // More than a few KiB held before the guard is lifted is refused.
  const flood = guarded();
  flood.push(hello);
  assert.throws(() => flood.push(new Uint8Array(5000)), /5000 bytes before its handshake/);
});

Deno.test("the handshake prefix names a wrong version or a foreign protocol", () => {
  assert.equal(parseHandshakePrefix(handshakeBytes({ role: "client" })), PROTOCOL_VERSION);
  assert.throws(
    () => parseHandshakePrefix(new Uint8Array([0x44, 0x53, 0x4b, 2])),
    /^WireError: protocol version 2 not supported; this peer speaks 1/,
  );
  assert.throws(
    () => new FrameReader({ handshake: true }).push(new TextEncoder().encode("GET / HTTP/1.1")),
    /did not open with this protocol's handshake \(got bytes 47 45 54 20/,
  );
});

Deno.test("parseAddress accepts tcp://, tls:// and host:port and explains anything else", () => {
  assert.deepEqual(parseAddress("tcp://127.0.0.1:8786"), {
    hostname: "127.0.0.1",
    port: 8786,
    scheme: "tcp",
  });
  assert.deepEqual(parseAddress("localhost:0"), { hostname: "localhost", port: 0, scheme: "tcp" });
  assert.deepEqual(parseAddress("tcp://[::1]:9000"), {
    hostname: "::1",
    port: 9000,
    scheme: "tcp",
  });
  assert.deepEqual(parseAddress("TLS://h:1"), { hostname: "h", port: 1, scheme: "tls" });
  assert.throws(() => parseAddress("ws://h:1"), /scheme ws:\/\/ is not supported/);
  assert.throws(() => parseAddress("localhost"), /port is missing.*tcp:\/\/host:port/);
  assert.throws(() => parseAddress("h:99999"), /not a number from 0 to 65535/);
  assert.throws(() => parseAddress("::1:80"), /IPv6 host must be written in brackets/);
  assert.throws(() => parseAddress(":80"), /host is missing/);
});

/** Starts a listener whose connections echo every message back, and collects refusals. */
async function echoServer(options: { maxHeaderBytes?: number; handshakeTimeoutMs?: number } = {}) {
  const refused: Error[] = [];
  let notifyRefused = () => {};
  const connectedWaiters: { count: number; resolve: () => void }[] = [];
  const closes: Promise<CloseInfo>[] = [];
  const serving: Promise<void>[] = [];
  const listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    ...options,
    onError: (error) => {
      refused.push(error);
      notifyRefused();
    },
  }, (connection) => {
    closes.push(connection.closed);
    for (const waiter of connectedWaiters) if (closes.length >= waiter.count) waiter.resolve();
    serving.push((async () => {
      for await (const message of connection) connection.send(message);
      await connection.close();
    })());
  });
  const nextRefusal = () =>
    refused.length > 0
      ? Promise.resolve(refused.shift()!)
      : new Promise<Error>((resolve) => notifyRefused = () => resolve(refused.shift()!));
  /** Resolves once `count` connections passed their handshake. */
  const connected = (count: number) =>
    new Promise<void>((resolve) => {
      if (closes.length >= count) resolve();
      else connectedWaiters.push({ count, resolve });
    });
  const stop = async () => {
    await listener.close();
    await Promise.all(serving);
  };
  return { listener, closes, nextRefusal, connected, stop };
}

async function withClient<T>(
  listener: Listener,
  use: (client: Connection) => Promise<T>,
  options: { maxFrameBytes?: number } = {},
): Promise<T> {
  const client = await Connection.connect(listener.addr, { role: "client", ...options });
  try {
    return await use(client);
  } finally {
    await client.abort("test done");
  }
}

Deno.test("messages and a 50 MB frame round trip over a real socket", async () => {
  const server = await echoServer();
  try {
    await withClient(server.listener, async (client) => {
      assert.equal(client.peer.role, "scheduler");
      const big = new Float64Array(50 * 1024 * 1024 / 8);
      for (let i = 0; i < big.length; i += 1000) big[i] = i;
      const count = 500;
      for (let i = 0; i < count; i++) client.send({ header: { op: "n", i } });
      client.send(sampleMessage());
      client.send({ header: { op: "big", big } });
      const received: Message[] = [];
      for await (const message of client) {
        received.push(message);
        if (received.length === count + 2) break;
      }
      received.slice(0, count).forEach((m, i) => assert.deepStrictEqual(m.header, { op: "n", i }));
      assertSampleMessage(received[count]);
      const back = (received[count + 1].header as { big: Float64Array }).big;
      assert.equal(back.length, big.length);
      assert.equal(back.byteOffset % 8, 0);
      for (let i = 0; i < big.length; i += 1000) assert.equal(back[i], i);
      assert.equal(back[1], 0);
      assert.ok(client.stats.bytesReceived > 50 * 1024 * 1024);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("many sends in one tick go out in few writes, in order", async () => {
  const server = await echoServer();
  try {
    await withClient(server.listener, async (client) => {
      for (let i = 0; i < 1000; i++) client.send({ header: { op: "small", i } });
      await client.flush();
      assert.equal(client.stats.messagesSent, 1000);
      assert.ok(client.stats.writes <= 3, `${client.stats.writes} writes for 1000 messages`);
      let expected = 0;
      for await (const message of client) {
        assert.deepStrictEqual(message.header, { op: "small", i: expected++ });
        if (expected === 1000) break;
      }
      // Sends in separate ticks are separate writes: the count really measures batching.
      const before = client.stats.writes;
      for (let i = 0; i < 3; i++) {
        client.send({ header: { op: "tick", i } });
        await client.flush();
      }
      assert.equal(client.stats.writes - before, 3);
    });
  } finally {
    await server.stop();
  }
});

Deno.test("small messages, big headers and frames sent in one tick arrive whole, in order", async () => {
  const server = await echoServer();
  try {
    await withClient(server.listener, async (client) => {
      // headers that fill several write buffers, some larger than one, frames in between
      const sent: Message[] = [];
      for (let i = 0; i < 300; i++) {
        const header = i % 50 === 7
          ? { op: "long", i, text: "x".repeat(20_000 + i) }
          : i % 60 === 11
          ? { op: "framed", i, data: new Uint8Array(100_000).fill(i) }
          : { op: "small", i };
        const message = i % 70 === 13
          ? { header, frames: [new Uint8Array(70_000).fill(i % 256)] }
          : { header };
        sent.push(message);
        client.send(message);
      }
      let i = 0;
      for await (const message of client) {
        assert.deepStrictEqual(message.header, sent[i].header, `message ${i}`);
        assert.deepStrictEqual(message.frames, sent[i].frames ?? [], `frames of message ${i}`);
        if (++i === sent.length) break;
      }
    });
  } finally {
    await server.stop();
  }
});

/** A socket that writes `bytes`, then (once `before` resolves) `then`, and reads to the end. */
async function rawPeer(
  listener: Listener,
  bytes: Uint8Array,
  later?: { before: Promise<void>; then: Uint8Array },
): Promise<number> {
  const { hostname, port } = parseAddress(listener.addr);
  const conn = await Deno.connect({ hostname, port });
  try {
    await conn.write(bytes);
    if (later !== undefined) {
      await later.before;
      await conn.write(later.then);
    }
    // Read until the server hangs up; return how many bytes it sent first (its handshake).
    const buffer = new Uint8Array(4096);
    let total = 0;
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) total += n;
    return total;
  } finally {
    conn.close();
  }
}

Deno.test("peers with garbage or a wrong version are refused while others keep working", async () => {
  const server = await echoServer();
  try {
    await withClient(server.listener, async (client) => {
      const garbage = rawPeer(server.listener, new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n"));
      const refusedGarbage = await server.nextRefusal();
      assert.ok((await garbage) > 0, "the server sent its handshake, then hung up");
      assert.ok(refusedGarbage instanceof WireError);
      assert.match(refusedGarbage.message, /did not open with this protocol's handshake/);

      const future = handshakeBytes({ role: "client" });
      future[3] = 2;
      const wrongVersion = rawPeer(server.listener, future);
      const refusedVersion = await server.nextRefusal();
      await wrongVersion;
      assert.match(refusedVersion.message, /protocol version 2 not supported; this peer speaks 1/);

      client.send({ header: { op: "still-there" } });
      for await (const message of client) {
        assert.deepStrictEqual(message.header, { op: "still-there" });
        break;
      }
    });
  } finally {
    await server.stop();
  }
});

Deno.test("a broken or oversize message closes only its connection, with a reason", async () => {
  const server = await echoServer({ maxHeaderBytes: 4096 });
  try {
    await withClient(server.listener, async (healthy) => {
      await server.connected(1);
      // A valid handshake, then a message prefix announcing zero parts.
      await rawPeer(server.listener, handshakeBytes({ role: "client" }), {
        before: server.connected(2),
        then: new Uint8Array(8),
      });
      const brokenClose = await server.closes[1];
      assert.match(brokenClose.reason, /^protocol error: Malformed message prefix/);
      assert.ok(brokenClose.error instanceof WireError);

      await withClient(server.listener, async (sender) => {
        sender.send({ header: { blob: "x".repeat(10_000) } });
        for await (const _ of sender) assert.fail("the server answers nothing");
        assert.equal((await sender.closed).reason, "closed by the peer");
      });
      const oversizeClose = await server.closes[2];
      assert.match(oversizeClose.reason, /exceeds the limit of 4096 bytes \(maxHeaderBytes\)/);

      healthy.send({ header: "ping" });
      for await (const message of healthy) {
        assert.equal(message.header, "ping");
        break;
      }
    });
  } finally {
    await server.stop();
  }
});

Deno.test("a peer that never completes its handshake is dropped after the timeout", async () => {
  const server = await echoServer({ handshakeTimeoutMs: 100 });
  try {
    const silent = rawPeer(server.listener, new Uint8Array(0));
    const refusal = await server.nextRefusal();
    await silent;
    assert.match(refusal.message, /did not complete its handshake within 100 ms/);
  } finally {
    await server.stop();
  }
});

Deno.test("close writes what was queued first; sends after close are dropped", async () => {
  const received: unknown[] = [];
  let done!: (info: CloseInfo) => void;
  const serverClosed = new Promise<CloseInfo>((resolve) => done = resolve);
  const listener = await listen({ hostname: "127.0.0.1", port: 0, role: "sink" }, (connection) => {
    (async () => {
      for await (const message of connection) received.push(message.header);
      done(await connection.closed);
    })();
  });
  try {
    const client = await Connection.connect(listener.addr, { role: "client" });
    assert.equal(client.peer.role, "sink");
    for (let i = 0; i < 10; i++) client.send({ header: i });
    const info = await client.close("finished");
    assert.equal(info.reason, "finished");
    assert.equal(client.send({ header: "late" }), false);
    assert.equal(client.isClosed, true);
    assert.equal((await serverClosed).reason, "closed by the peer");
    assert.deepEqual(received, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  } finally {
    await listener.close();
  }
});

Deno.test("Connection.connect fails clearly when the address is not a peer", async () => {
  const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const accepting = plain.accept().then(async (conn) => {
      await conn.write(new TextEncoder().encode("SSH-2.0-OpenSSH\r\n"));
      const buffer = new Uint8Array(1024);
      while (await conn.read(buffer) !== null) { /* drain until the client hangs up */ }
      conn.close();
    });
    await assert.rejects(
      Connection.connect(`127.0.0.1:${plain.addr.port}`, { role: "client" }),
      /did not open with this protocol's handshake/,
    );
    await accepting;
  } finally {
    plain.close();
  }
});
