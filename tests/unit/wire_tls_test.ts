import assert from "node:assert/strict";
import { makeTemporaryCertificates } from "../../deploy/temporary_certificates.ts";
import { Connection, listen, parseAddress } from "../../net/wire.ts";
import { loadSecurity, type TlsConfig } from "../../net/tls.ts";
import { tcpNoDelayOf } from "../../net/tcp_no_delay.ts";
import { tlsFromFlags } from "../../net/security_options.ts";

/** An echo listener over TLS on loopback. */
async function echoOverTls(tls: TlsConfig) {
  const refusals: string[] = [];
  const listener = await listen(
    {
      hostname: "127.0.0.1",
      port: 0,
      tls,
      onError: (e, remote) => refusals.push(`${remote} ${e}`),
    },
    (connection) => {
      void (async () => {
        for await (const message of connection) connection.send(message);
      })();
    },
  );
  return { listener, refusals };
}

Deno.test("a connection over TLS carries messages and frames both ways", async () => {
  await using certificates = await makeTemporaryCertificates();
  const tls = (await loadSecurity(certificates.security))!;
  const { listener, refusals } = await echoOverTls(tls);
  await using _ = listener;
  assert.match(listener.addr, /^tls:\/\/127\.0\.0\.1:\d+$/);
  const connection = await Connection.connect(listener.addr, { role: "client", tls });
  assert.match(connection.remoteAddr, /^tls:\/\//);
  const frame = new Uint8Array(3 << 20).fill(7); // several TLS records
  connection.send({ header: { op: "echo", n: 1 }, frames: [frame] });
  for await (const message of connection) {
    assert.deepEqual(message.header, { op: "echo", n: 1 });
    const frames = message.frames ?? [];
    assert.equal(frames.length, 1);
    assert.equal(frames[0].byteLength, frame.byteLength);
    assert.equal(frames[0][frame.byteLength - 1], 7);
    break;
  }
  await connection.close();

  // the server checks the dialer's certificate: none, or another CA's, is refused and logged
  const { caCerts } = tls;
  await assert.rejects(
    Connection.connect(listener.addr, {
      role: "client",
      tls: { caCerts, requireEncryption: false },
    }),
    /TLS handshake failed/,
  );
  await using other = await makeTemporaryCertificates();
  const otherTls = (await loadSecurity(other.security))!;
  await assert.rejects(
    Connection.connect(listener.addr, { role: "client", tls: { ...otherTls, caCerts } }),
    /TLS handshake failed/,
  );
  while (refusals.length < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.match(refusals[0], /^tcp:\/\/127\.0\.0\.1:\d+ TlsError: TLS handshake failed: /);
  assert.match(refusals[1], /^tcp:\/\/127\.0\.0\.1:\d+ TlsError: TLS handshake failed: /);
});

Deno.test("over TLS a tick's messages leave in one write at each end, a large frame in 1 MiB pieces", async () => {
  // Socket operations are what TLS costs per message (docs/security.md): this keeps them one per
  // tick on both of the cluster's TLS implementations (the dialer's Deno.connectTls, the
  // acceptor's node:tls), as on plain TCP.
  await using certificates = await makeTemporaryCertificates();
  const tls = (await loadSecurity(certificates.security))!;
  let accepted!: Connection;
  const listener = await listen({ hostname: "127.0.0.1", port: 0, tls }, (connection) => {
    accepted = connection;
    void (async () => {
      for await (const message of connection) {
        const { op, count } = message.header as { op: string; count: number };
        if (op === "burst") {
          for (let i = 0; i < count; i++) connection.send({ header: { op: "item", i } });
        } else if (op === "big") {
          connection.send({ header: { op: "big" }, frames: [new Uint8Array(count).fill(9)] });
        }
      }
    })();
  });
  await using _ = listener;
  const connection = await Connection.connect(listener.addr, { role: "client", tls });
  try {
    const next = async () => {
      for await (const message of connection) return message;
      throw new Error("the connection closed");
    };
    for (let i = 0; i < 199; i++) connection.send({ header: { op: "noop", i } });
    connection.send({ header: { op: "burst", count: 200 } });
    await connection.flush();
    assert.equal(connection.stats.writes, 1, "the dialer's 200 sends of one tick");
    for (let i = 0; i < 200; i++) assert.deepEqual((await next()).header, { op: "item", i });
    assert.equal(accepted.stats.writes, 1, "the acceptor's 200 sends of one tick");
    const mib = 1 << 20;
    connection.send({ header: { op: "big", count: 3 * mib } });
    const big = await next();
    assert.equal(big.frames?.[0].byteLength, 3 * mib);
    assert.equal(big.frames?.[0][3 * mib - 1], 9);
    // its prefix and header in one write, then the frame one 1 MiB piece per write
    assert.equal(accepted.stats.writes, 1 + 1 + 3);
  } finally {
    await connection.close();
  }
});

Deno.test("tls:// needs TLS settings, requireEncryption refuses tcp://", async () => {
  await assert.rejects(
    Connection.connect("tls://127.0.0.1:1", { role: "client" }),
    (error: Error) => error instanceof TypeError && /give the cluster's CA/.test(error.message),
  );
  const tls: TlsConfig = { caCerts: [], requireEncryption: true };
  await assert.rejects(
    Connection.connect("tcp://127.0.0.1:1", { role: "client", tls }),
    /Refusing the plain TCP address tcp:\/\/127\.0\.0\.1:1: encryption is required/,
  );
});

Deno.test("TLS settings that cannot work are refused with what to give", async () => {
  await using certificates = await makeTemporaryCertificates();
  const { caFile, cert, key } = certificates.security;
  assert.equal(await loadSecurity({}), undefined);
  await assert.rejects(loadSecurity({ caFile, cert }), /cert and key go together/);
  await assert.rejects(loadSecurity({ cert, key }), /needs the CA .*caFile/);
  await assert.rejects(loadSecurity({ requireEncryption: true }), /requireEncryption needs TLS/);
  await assert.rejects(
    loadSecurity({ caFile: key }),
    /caFile .*key\.pem: it holds no PEM certificate/,
  );
  await assert.rejects(
    loadSecurity({ caFile: `${certificates.directory}/missing.pem` }),
    /caFile .*missing\.pem: cannot read it/,
  );
  await assert.rejects(
    tlsFromFlags({ "tls-ca-file": caFile }),
    /--tls-ca-file needs --tls-cert and --tls-key/,
  );
  await assert.rejects(
    tlsFromFlags({ "tls-ca-file": caFile, "tls-cert": cert, "tls-key": caFile }),
    /--tls-key .*: it holds no PEM private key/,
  );
  const flags = await tlsFromFlags({ "tls-ca-file": caFile, "tls-cert": cert, "tls-key": key });
  assert.match(flags!.cert!, /BEGIN CERTIFICATE/);
});

Deno.test("before the TLS handshake: a deadline, and a cap on handshakes per host", async () => {
  await using certificates = await makeTemporaryCertificates();
  const tls = (await loadSecurity(certificates.security))!;
  const refusals: string[] = [];
  await using listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    handshakeTimeoutMs: 300,
    maxConnectionsPerHost: 1,
    onError: (error, remote) => refusals.push(`${remote} ${error.message}`),
  }, (connection) => void connection.abort("unexpected"));
  const { port } = parseAddress(listener.addr);
  // a peer that connects and says nothing holds the one handshake allowed from its host...
  const silent = await Deno.connect({ hostname: "127.0.0.1", port });
  while (refusals.length === 0) {
    // ...so a second one is turned away at once
    const second = await Deno.connect({ hostname: "127.0.0.1", port });
    assert.equal(await second.read(new Uint8Array(16)).catch(() => null), null);
    second.close();
  }
  assert.match(
    refusals[0],
    /^tcp:\/\/127\.0\.0\.1:\d+ .*1 TLS handshakes under way \(maxConnectionsPerHost\)/,
  );
  // and the silent one is dropped at the deadline
  assert.equal(await silent.read(new Uint8Array(16)).catch(() => null), null);
  silent.close();
  while (!refusals.some((r) => /TLS handshake failed/.test(r))) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
});

Deno.test("a dialed TLS connection sends small writes at once (TCP_NODELAY, no Nagle)", async () => {
  await using certificates = await makeTemporaryCertificates();
  const tls = (await loadSecurity(certificates.security))!;
  const { listener } = await echoOverTls(tls);
  await using _ = listener;
  const connection = await Connection.connect(listener.addr, { role: "client", tls });
  try {
    const netAddr = (address: string): Deno.NetAddr => {
      const { hostname, port } = parseAddress(address);
      return { transport: "tcp", hostname, port };
    };
    // this test runs with -A: the option can be read, and the dialer must have set it
    assert.equal(
      tcpNoDelayOf({
        localAddr: netAddr(connection.localAddr),
        remoteAddr: netAddr(connection.remoteAddr),
      }),
      true,
    );
  } finally {
    await connection.close();
  }
});

Deno.test("over TLS the dialer checks that the server's certificate names the host dialed", async () => {
  await using certificates = await makeTemporaryCertificates(); // names 127.0.0.1, not .2
  const tls = (await loadSecurity(certificates.security))!;
  await using listener = await listen(
    { hostname: "0.0.0.0", port: 0, tls, onError: () => {} },
    (connection) => void connection.abort("unexpected"),
  );
  const { port } = parseAddress(listener.addr);
  await assert.rejects(
    Connection.connect(`tls://127.0.0.2:${port}`, { role: "client", tls }),
    /TLS handshake failed: .*127\.0\.0\.2/,
  );
  const connection = await Connection.connect(`tls://127.0.0.1:${port}`, { role: "client", tls });
  await connection.close();
});

Deno.test("a listener for task credentials takes a dialer without a certificate only when it proves one", async () => {
  await using certificates = await makeTemporaryCertificates();
  const tls = (await loadSecurity(certificates.security))!;
  const token = "c1u5ter-70ken-0123456789abcdef";
  const task = "task.0123456789abcdef01234567";
  const secrets = { task: "7a5k-5ecret-0123456789abcdef", alice: "a11ce-5ecret-0123456789abc" };
  const refusals: string[] = [];
  const accepted: (string | undefined)[] = [];
  await using listener = await listen({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    authToken: token,
    identityTokens: new Map([[task, secrets.task], ["alice", secrets.alice]]),
    acceptTaskCredentialsWithoutCertificate: true,
    onError: (error, remote) => refusals.push(`${remote} ${error.message}`),
  }, (connection) => {
    accepted.push(connection.identity);
    void connection.close();
  });
  const caOnly: TlsConfig = { caCerts: tls.caCerts, requireEncryption: false };
  const dial = (authToken: string | undefined, dialerTls = caOnly) =>
    Connection.connect(listener.addr, { role: "client", tls: dialerTls, authToken });
  const refusal = async (n: number) => {
    while (refusals.length < n) await new Promise((resolve) => setTimeout(resolve, 20));
    return refusals[n - 1];
  };

  const untilClosed = async (connection: Connection) => {
    for await (const _ of connection) { /* until the listener closes it */ }
  };
  // the CA alone and a task credential in force: accepted, as that credential
  await untilClosed(await dial(`${task}:${secrets.task}`));
  // a certificate of the cluster's CA: as before
  await untilClosed(await dial(token, tls));
  assert.deepEqual(accepted, [task, undefined]);

  // without a certificate, nothing else: no token, the cluster's, a client identity's
  for (const [i, authToken] of [undefined, token, `alice:${secrets.alice}`].entries()) {
    await assert.rejects(dial(authToken));
    assert.match(await refusal(i + 1), /presented no certificate: .* only a running task's/);
  }
  assert.match(refusals[2], /not identity 'alice'/);
  // a wrong secret for the task's name
  await assert.rejects(dial(`${task}:${"f".repeat(28)}`), /auth proof is wrong/);
  assert.match(await refusal(4), /auth proof is wrong/);
  // another CA's certificate, even with the task's credential
  await using other = await makeTemporaryCertificates();
  const otherTls = (await loadSecurity(other.security))!;
  await assert.rejects(dial(`${task}:${secrets.task}`, { ...otherTls, caCerts: tls.caCerts }));
  assert.match(await refusal(5), /certificate \(.*\) does not verify against the cluster's CA/);
  assert.deepEqual(accepted, [task, undefined]);
});

Deno.test("without the cluster's token a mutual-TLS listener checks task credentials alone", async () => {
  await using certificates = await makeTemporaryCertificates();
  const tls = (await loadSecurity(certificates.security))!;
  const task = "task.0123456789abcdef01234567";
  const secret = "7a5k-5ecret-0123456789abcdef";
  const token = "c1u5ter-70ken-0123456789abcdef";
  const refusals: string[] = [];
  const accepted: (string | undefined)[] = [];
  const options = {
    hostname: "127.0.0.1",
    port: 0,
    tls,
    certificateIdentities: true,
    identityTokens: new Map([[task, secret]]),
    acceptTaskCredentialsWithoutCertificate: true,
    onError: (error: Error, remote: string) => refusals.push(`${remote} ${error.message}`),
  };
  await using listener = await listen(options, (connection) => {
    accepted.push(connection.identity);
    void connection.close();
  });
  const caOnly: TlsConfig = { caCerts: tls.caCerts, requireEncryption: false };
  const dial = (authToken: string | undefined, dialerTls = caOnly) =>
    Connection.connect(listener.addr, { role: "client", tls: dialerTls, authToken });
  const untilClosed = async (connection: Connection) => {
    for await (const _ of connection) { /* until the listener closes it */ }
  };
  // the CA and a live task credential; the cluster's certificate with no token, as before
  await untilClosed(await dial(`${task}:${secret}`));
  await untilClosed(await dial(undefined, tls));
  assert.deepEqual(accepted, [task, undefined]);
  // refused: no certificate and no credential, a wrong secret, a token this listener lacks
  await assert.rejects(dial(undefined));
  await assert.rejects(dial(`${task}:${"f".repeat(28)}`), /auth proof is wrong/);
  await assert.rejects(dial(token, tls), /does not authenticate/);
  while (refusals.length < 3) await new Promise((resolve) => setTimeout(resolve, 20));
  // one refusal logged for each, in whatever order the listener finished them (a dialer can see
  // its refusal, and the next dial begin, before the listener has logged the previous one)
  for (
    const reason of [
      /presented no certificate/,
      /auth proof is wrong/,
      /requires an auth token and this side has none/,
    ]
  ) {
    assert.equal(refusals.filter((r) => reason.test(r)).length, 1, `${reason}: ${refusals}`);
  }
  assert.deepEqual(accepted, [task, undefined]);
  // other identities' tokens still need the cluster's token, and so does plain TCP
  const needsToken = /need the cluster's own auth token too/;
  const alice = new Map([["alice", secret]]);
  await assert.rejects(listen({ ...options, identityTokens: alice }, () => {}), needsToken);
  await assert.rejects(listen({ ...options, tls: undefined }, () => {}), needsToken);
});
