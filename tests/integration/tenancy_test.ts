import assert from "node:assert/strict";
import { writeTenancyFiles } from "../helpers/tenancy.ts";
import { Client } from "../../client/client.ts";
import { delayed } from "../../collections/delayed.ts";
import type { Future } from "../../client/future.ts";
import { Connection } from "../../net/wire.ts";
import { loadSecurity } from "../../net/tls.ts";
import { parseAddress } from "../../net/address.ts";
import { SchedulerServer } from "../../scheduler/server.ts";
import { type Cluster, startCluster } from "../helpers/cluster.ts";
import { tasks } from "../helpers/launching_tasks.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { describeFunction } from "../../core/function_codec.ts";
import { encode } from "../../core/value_codec.ts";
import { deriveFunctionIds } from "../../scheduler/function_identity.ts";

const CLUSTER_TOKEN = "0f1e2d3c4b5a69788796a5b4c3d2e1f0";
const ALICE = "alice:a11ce-5ecret-70ken-0123456789";
const BOB = "bob:b0b-5ecret-70ken-0123456789abcd";

/** A cluster with the cluster's token and two client identities, alice and bob. */
async function tenantCluster(nWorkers = 2): Promise<{ cluster: Cluster } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "tenancy-test-" });
  try {
    const flags = await writeTenancyFiles(dir, CLUSTER_TOKEN, [ALICE, "", BOB]);
    const cluster = await startCluster({ nWorkers, ...flags });
    return {
      cluster,
      async [Symbol.asyncDispose]() {
        await cluster.stop();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true });
    throw error;
  }
}

const connect = (address: string, authToken: string) =>
  Client.connect(address, { authToken, setAsDefault: false, timeout: 10 });

Deno.test("identity B can neither read, overwrite nor cancel identity A's keys; A's clients share them", async () => {
  await using setup = await tenantCluster();
  const address = setup.cluster.schedulerAddress;
  assert.match(setup.cluster.scheduler.output(), /Client identities .*alice, bob/);
  await using alice = await connect(address, ALICE);
  await using alice2 = await connect(address, ALICE);
  await using bob = await connect(address, BOB);

  const secret = alice.with({ key: "secret-total" }).submit(
    (n: number) => Array.from({ length: n }, (_, i) => i).reduce((a, b) => a + b, 0),
    1000,
  );
  assert.equal(await secret, 499_500);
  // a second client of the same identity shares the key, as Dask's clients do
  assert.equal(await alice2.futureOf<number>("secret-total"), 499_500);

  // B reads: by key, through a task, through the scheduler's relay
  await assert.rejects(bob.futureOf("secret-total").result(), {
    name: "KeyAccessError",
    message: /Key 'secret-total' belongs to another client identity: identity 'bob'/,
  });
  await assert.rejects(bob.submit((x: number) => x + 1, alice2.futureOf("secret-total")).result(), {
    name: "KeyAccessError",
  });
  // B overwrites: a scatter and a task under the same key
  const placed = bob.scatter({ "secret-total": 666 }) as Record<string, Future<number>>;
  await assert.rejects(placed["secret-total"].result(), { name: "KeyAccessError" });
  await assert.rejects(bob.with({ key: "secret-total" }).submit(() => 666).result(), {
    name: "KeyAccessError",
  });
  // B cancels, even with force
  await bob.futureOf("secret-total").cancel({ force: true });
  // B's administration requests are refused
  await assert.rejects(bob.restart(), { name: "KeyAccessError", message: /cluster's own token/ });

  // A's value is untouched, on the workers too (a task of A reads it there)
  assert.equal(await alice.futureOf<number>("secret-total"), 499_500);
  assert.equal(await alice.submit((x: number) => x * 2, secret), 999_000);

  // B computes its own work exactly, through the scheduler (it cannot reach workers)
  const squares = bob.map((x: number) => x * x, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(await bob.gather(squares), Array.from({ length: 50 }, (_, i) => i * i));
  const [big] = await bob.scatter([new Float64Array(100_000).fill(2)]);
  assert.equal(await bob.submit((a: Float64Array) => a.reduce((s, v) => s + v, 0), big), 200_000);
  assert.equal((await bob.gather([big]) as Float64Array[])[0].length, 100_000);
});

Deno.test("two identities computing the same graph share it; another spec under a key is refused", async () => {
  await using setup = await tenantCluster();
  const address = setup.cluster.schedulerAddress;
  await using alice = await connect(address, ALICE);
  await using bob = await connect(address, BOB);
  // the same pure graph (content keys: the same keys; delayed is impure by default, as in
  // Dask), submitted by both at once
  const inc = (x: number) => x + 1;
  const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const pure = { pure: true };
  const graph = () =>
    delayed(total, pure)(Array.from({ length: 20 }, (_, i) => delayed(inc, pure)(i)));
  const [a, b] = [alice.compute(graph()), bob.compute(graph())];
  assert.equal(a.key, b.key);
  assert.deepEqual(await Promise.all([a.result(), b.result()]), [210, 210]);
  // futures too: map, then a task over them
  const squares = (client: Client) => client.map((x: number) => x * x, [1, 2, 3, 4]);
  const sum = (client: Client, xs: Future<number>[]) =>
    client.submit((v: number[]) => v.reduce((p, q) => p + q, 0), xs);
  const [as, bs] = [squares(alice), squares(bob)];
  assert.deepEqual(await Promise.all([sum(alice, as), sum(bob, bs)]), [30, 30]);
  // one identity's release leaves the other's results
  await alice.cancel(as);
  assert.deepEqual(await bob.gather(bs), [1, 4, 9, 16]);

  // under a chosen key: the same spec joins, another is refused and leaves alice's value
  const twice = (x: number) => x * 2;
  assert.equal(await alice.with({ key: "doubled" }).submit(twice, 21), 42);
  await assert.rejects(bob.with({ key: "doubled" }).submit((x: number) => x * 3, 21).result(), {
    name: "KeyAccessError",
    message: /Key 'doubled' belongs to another client identity: identity 'bob'/,
  });
  await assert.rejects(bob.with({ key: "doubled" }).submit(twice, 22).result(), {
    name: "KeyAccessError",
  });
  // (from a second client of bob's: the first keeps its refused future for that key)
  await using bob2 = await connect(address, BOB);
  assert.equal(await bob2.with({ key: "doubled" }).submit(twice, 21), 42);
  assert.equal(await alice.futureOf<number>("doubled"), 42);
  // neither owner may scatter over a key both own (a client that holds no future for it)
  await using bob3 = await connect(address, BOB);
  const placed = bob3.scatter({ doubled: 666 }) as Record<string, Future<number>>;
  await assert.rejects(placed.doubled.result(), { name: "KeyAccessError" });
  assert.equal(await alice.futureOf<number>("doubled"), 42);
});

Deno.test("a published dataset is readable by every identity; only its publisher replaces it", async () => {
  await using setup = await tenantCluster();
  const address = setup.cluster.schedulerAddress;
  await using alice = await connect(address, ALICE);
  await using bob = await connect(address, BOB);
  const shared = alice.map((x: number) => x + 100, [1, 2, 3]);
  const unshared = alice.with({ key: "private-one" }).submit(() => 1);
  await alice.gather([...shared, unshared]);
  await alice.publishDataset({ shared });

  const got = await bob.getDataset<Future<number>[]>("shared");
  assert.deepEqual(await bob.gather(got), [101, 102, 103]);
  // B builds on what was shared with it
  assert.equal(await bob.submit((xs: number[]) => xs.length, got), 3);
  // publishing A's other keys, or replacing A's dataset, is A's alone
  await assert.rejects(
    bob.publishDataset({ stolen: [bob.futureOf("private-one")] }),
    { name: "KeyAccessError" },
  );
  await assert.rejects(bob.unpublishDataset("shared"), {
    name: "KeyAccessError",
    message: /published by another client identity/,
  });
  assert.deepEqual(await alice.listDatasets(), ["shared"]);
});

Deno.test("workers serve only the cluster's token: a client identity cannot reach their data", async () => {
  await using setup = await tenantCluster();
  const { cluster } = setup;
  await assert.rejects(
    Connection.connect(cluster.workers[0].address, { role: "peer", authToken: BOB }),
    /auth proof is wrong/,
  );
  await cluster.workers[0].process.waitForLine(
    /refused: The peer authenticates as client identity 'bob', which this side does not know/,
  );
  // nor register as a worker with the scheduler
  const sneaky = await Connection.connect(cluster.schedulerAddress, {
    role: "worker",
    authToken: BOB,
  });
  try {
    sneaky.send({
      header: {
        op: "register-worker",
        address: "tcp://127.0.0.1:1",
        name: "sneaky",
        nthreads: 1,
        memoryLimit: 0,
        protocol: 1,
      },
    });
    for await (const message of sneaky) {
      assert.equal((message.header as { op: string }).op, "refused");
      break;
    }
    await cluster.scheduler.waitForLine(/client identity 'bob' cannot register a worker/);
  } finally {
    await sneaky.close();
  }
  // an unknown identity, or a wrong secret, fails the handshake
  await assert.rejects(connect(cluster.schedulerAddress, "carol:c4r01-5ecret-70ken-0123456789"), {
    message: /auth proof is wrong/,
  });
  await cluster.scheduler.waitForLine(/refused: The peer authenticates as client identity 'carol'/);
  await assert.rejects(connect(cluster.schedulerAddress, "bob:not-bobs-secret-0123456789abc"), {
    message: /auth proof is wrong/,
  });
});

Deno.test("under tenancy a task's getClient() acts as its submitter, with a credential that ends with the task", async () => {
  await using setup = await tenantCluster();
  const address = setup.cluster.schedulerAddress;
  await using alice = await connect(address, ALICE);
  await using bob = await connect(address, BOB);
  const secret = alice.with({ key: "alice-secret" }).submit((n: number) => n * 2, 21);
  assert.equal(await secret, 42);
  // alice's task computes on the cluster and reads alice's keys, as alice
  assert.equal(await alice.submit(tasks.fanOut, 3), 6);
  const aliceRead = alice.submit(tasks.readKey, "alice-secret");
  assert.equal(await aliceRead, 42);
  // bob's task, the same code, reads as bob: refused
  await assert.rejects(
    bob.with({ key: "bob-read" }).submit(tasks.readKey, "alice-secret").result(),
    {
      message: /Key 'alice-secret' belongs to another client identity: identity 'bob'/,
    },
  );
  // nor does bob share alice's task by submitting its very spec: it acted as alice
  await assert.rejects(bob.submit(tasks.readKey, "alice-secret").result(), {
    name: "KeyAccessError",
    message: new RegExp(`Key '${aliceRead.key}' belongs to another client identity`),
  });
  // the task holds neither the cluster's token nor alice's
  assert.deepEqual(await alice.submit(tasks.credentials), {
    token: false,
    certificate: false,
    ca: false,
  });
  const credential = await alice.submit(tasks.ownCredential);
  assert.match(credential, /^task\.[0-9a-f]{24}:[0-9a-f]{64}$/);
  // and the credential it was given ends with it
  await assert.rejects(connect(address, credential), { message: /auth proof is wrong/ });
  await setup.cluster.scheduler.waitForLine(
    /refused: The peer authenticates as client identity 'task\./,
  );
  assert.equal(await secret, 42); // (held to the end: alice's tasks read it)
});

Deno.test("a raw client cannot swap another identity's function by sending its own code under its id", async () => {
  await using setup = await tenantCluster(1); // one worker: both functions meet in its caches
  const address = setup.cluster.schedulerAddress;
  const scale = (x: number) => x * 1000 + 7;
  const hers = describeFunction(scale);
  // bob sends other code under the id alice's client gives `scale`, on a wire of his own
  await using bob = await RawClient.connect(address, "bob-raw", { authToken: BOB });
  const swapped = { ...hers, source: "(x) => -666" };
  bob.submit([{ key: "bob-swap", fn: swapped, args: encode([1]), deps: [] }], ["bob-swap"]);
  await bob.waitForKeys(["bob-swap"]);
  await using alice = await connect(address, ALICE);
  assert.equal(await alice.submit(scale, 5), 5007); // her code, not bob's
  // nor can a message name a function by an id it did not send in full: the client's id, or
  // the one the scheduler derives (which anyone can compute from the code)
  const derived = [{ key: "k", fn: structuredClone(hers), args: null, deps: [] }];
  deriveFunctionIds(derived);
  for (const [i, id] of [hers.id, (derived[0].fn as { id: string }).id].entries()) {
    const key = `bob-borrow-${i}`;
    bob.submit([{ key, fn: id, args: encode([2]), deps: [] }], [key]);
    await assert.rejects(bob.waitForKeys([key]), new RegExp(`${key} has no valid function spec`));
  }
  assert.equal(await alice.submit(scale, 6), 6007);
});

/** `openssl` with these arguments in `dir`; throws with its output when it fails. */
async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stderr: "piped" }).output();
  if (!out.success) throw new Error(`openssl ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
}

/** `openssl req` arguments for a fresh P-256 key. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A CA, and certificates it signed: the cluster's (CN "dask cluster") and one per name. */
async function certificateAuthority(dir: string, names: string[]) {
  const ec = EC_KEY;
  await openssl(
    dir,
    "req",
    "-x509",
    ...ec,
    "-days",
    "1",
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca.pem",
    "-subj",
    "/CN=tenancy test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
  );
  await Deno.writeTextFile(
    `${dir}/ext.cnf`,
    "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  const files: Record<string, { caFile: string; cert: string; key: string }> = {};
  for (const name of ["dask cluster", ...names]) {
    const base = name.replace(/\W/g, "_");
    await openssl(
      dir,
      "req",
      ...ec,
      "-keyout",
      `${base}-key.pem`,
      "-out",
      `${base}.csr`,
      "-subj",
      `/CN=${name}`,
    );
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      `${base}.csr`,
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-days",
      "1",
      "-extfile",
      "ext.cnf",
      "-out",
      `${base}.pem`,
    );
    files[name] = {
      caFile: `${dir}/ca.pem`,
      cert: `${dir}/${base}.pem`,
      key: `${dir}/${base}-key.pem`,
    };
  }
  return files;
}

Deno.test("identities by certificate: a client's certificate subject names its identity", async () => {
  const dir = await Deno.makeTempDir({ prefix: "tenancy-tls-test-" });
  try {
    const certs = await certificateAuthority(dir, ["alice", "bob"]);
    const own = certs["dask cluster"];
    const tls = ["--tls-ca-file", own.caFile, "--tls-cert", own.cert, "--tls-key", own.key];
    await using cluster = await startCluster({
      nWorkers: 1,
      schedulerArgs: [...tls, "--tls-client-identities"],
      workerArgs: tls,
    });
    const connectAs = (name: string) =>
      Client.connect(cluster.schedulerAddress, { security: certs[name], setAsDefault: false });
    await using alice = await connectAs("alice");
    await using bob = await connectAs("bob");
    const secret = alice.with({ key: "alice-secret" }).submit(() => 7);
    assert.equal(await secret, 7);
    await assert.rejects(bob.futureOf("alice-secret").result(), {
      name: "KeyAccessError",
      message: /identity 'bob'/,
    });
    assert.deepEqual(await bob.gather(bob.map((x: number) => -x, [1, 2])), [-1, -2]);
    // the cluster's own certificate is the cluster's identity, as before
    await using admin = await connectAs("dask cluster");
    assert.equal(await admin.submit((x: number) => x + 1, 1), 2);
    // a worker serves no certificate but the cluster's, once it knows of identities
    const peer = await Connection.connect(cluster.workers[0].address, {
      role: "peer",
      tls: await loadSecurity(certs.bob),
    });
    for await (const _ of peer) { /* until the worker closes it */ }
    await cluster.workers[0].process.waitForLine(/its certificate's subject is not the cluster's/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Dials `address` over TLS trusting `caFile`, presenting `certificate` if given (none by
 * default), and runs a client's handshake proving `authToken`: the local port it dialed from
 * (the scheduler logs refusals with it) and how the connection failed (undefined if it did not:
 * a message came).
 */
async function dialRaw(
  address: string,
  options: { caFile: string; authToken?: string; certificate?: { cert: string; key: string } },
): Promise<{ port: number; error: unknown }> {
  const { hostname, port } = parseAddress(address);
  const read = (path: string) => Deno.readTextFile(path);
  const certificate = options.certificate === undefined ? {} : {
    cert: await read(options.certificate.cert),
    key: await read(options.certificate.key),
  };
  const conn = await Deno.connectTls({
    hostname,
    port,
    caCerts: [await read(options.caFile)],
    ...certificate,
  });
  const local = (conn.localAddr as Deno.NetAddr).port;
  try {
    const connection = await Connection.open(
      conn,
      { role: "client", authToken: options.authToken },
      "dialer",
    );
    // the listener may refuse once the proofs are through: it then closes at once
    for await (const _ of connection) return { port: local, error: undefined };
    return { port: local, error: new Error((await connection.closed).reason) };
  } catch (error) {
    return { port: local, error };
  }
}

/**
 * A task's getClient() on a mutual-TLS cluster with client identities by certificate, with the
 * cluster's token (`withToken`: workers and clients prove it too) or without (certificates alone
 * say who is who; the scheduler's task credentials are then the only tokens it checks).
 */
async function taskClientOverMutualTls(withToken: boolean): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tenancy-tls-task-test-" });
  try {
    const posing = "task.0123456789abcdef01234567"; // a certificate naming a task credential
    const certs = await certificateAuthority(dir, ["alice", "bob", posing]);
    await Deno.mkdir(`${dir}/other`);
    const foreign = await certificateAuthority(`${dir}/other`, ["alice"]);
    await Deno.writeTextFile(`${dir}/token`, CLUSTER_TOKEN);
    const own = certs["dask cluster"];
    const token = withToken ? CLUSTER_TOKEN : undefined;
    const flags = [
      ...["--tls-ca-file", own.caFile, "--tls-cert", own.cert, "--tls-key", own.key],
      ...(withToken ? ["--auth-token-file", `${dir}/token`] : []),
    ];
    await using cluster = await startCluster({
      nWorkers: 2,
      schedulerArgs: [...flags, "--tls-client-identities"],
      workerArgs: flags,
    });
    const address = cluster.schedulerAddress;
    assert.match(address, /^tls:\/\//);
    const connectAs = (name: string) =>
      Client.connect(address, {
        security: certs[name],
        authToken: token,
        setAsDefault: false,
        timeout: 10,
      });
    await using alice = await connectAs("alice");
    await using bob = await connectAs("bob");
    const secret = alice.with({ key: "alice-secret" }).submit((n: number) => n * 2, 21);
    assert.equal(await secret, 42);
    // alice's task submits subtasks through its own client and gets their exact results
    assert.equal(await alice.submit(tasks.fanOut, 5), 0 + 2 + 4 + 6 + 8);
    assert.equal(await alice.submit(tasks.fanOut, 40), 40 * 39);
    // it reads alice's keys, as alice...
    assert.equal(await alice.submit(tasks.readKey, "alice-secret"), 42);
    // ...and bob's task, the same code, reads as bob: refused
    await assert.rejects(
      bob.with({ key: "bob-read" }).submit(tasks.readKey, "alice-secret").result(),
      { name: "KeyAccessError", message: /Key 'alice-secret' belongs to another .*'bob'/ },
    );
    // the task thread holds no certificate, no key and no cluster token: the CA only
    assert.deepEqual(await alice.submit(tasks.credentials), {
      token: false,
      certificate: false,
      ca: true,
    });
    const expired = await alice.submit(tasks.ownCredential);
    assert.match(expired, /^task\.[0-9a-f]{24}:[0-9a-f]{64}$/);
    const forged = `task.${"ab".repeat(12)}:${"cd".repeat(32)}`;

    // Without a certificate only a live task credential gets in; each refusal is logged with
    // the peer's address.
    const refusedFrom = async (
      attempt: { port: number; error: unknown },
      reason: RegExp,
    ) => {
      assert.ok(attempt.error instanceof Error, "the handshake must fail");
      const line = await cluster.scheduler.waitForLine(
        new RegExp(`connection from (tcp|tls)://127\\.0\\.0\\.1:${attempt.port} refused: (.*)`),
      );
      assert.match(line[2], reason);
    };
    const caOnly = { caFile: own.caFile };
    const noCertificate = /presented no certificate/;
    await refusedFrom(await dialRaw(address, caOnly), noCertificate);
    await refusedFrom(
      await dialRaw(address, { ...caOnly, authToken: CLUSTER_TOKEN }),
      noCertificate,
    );
    await refusedFrom(
      await dialRaw(address, { ...caOnly, authToken: forged }),
      /'task\.abab.*', which this side does not know: it is not a task credential in force/,
    );
    await refusedFrom(
      await dialRaw(address, { ...caOnly, authToken: expired }),
      /is not a task credential in force/,
    );
    // a certificate of another CA, or an expired one, stays refused, whatever comes with it
    await refusedFrom(
      await dialRaw(address, { ...caOnly, authToken: forged, certificate: foreign.alice }),
      /certificate \(CN=alice\) does not verify against the cluster's CA/,
    );
    await openssl(
      dir,
      "req",
      ...EC_KEY,
      "-keyout",
      "old-key.pem",
      "-out",
      "old.csr",
      "-subj",
      "/CN=alice",
    );
    await openssl(
      dir,
      ...["x509", "-req", "-in", "old.csr", "-CA", "ca.pem", "-CAkey", "ca-key.pem"],
      ...["-days", "-1", "-extfile", "ext.cnf", "-out", "old.pem"],
    );
    const old = { cert: `${dir}/old.pem`, key: `${dir}/old-key.pem` };
    await refusedFrom(
      await dialRaw(address, { ...caOnly, authToken: token, certificate: old }),
      /certificate \(CN=alice\) does not verify .*CERT_HAS_EXPIRED/,
    );
    // a certificate of the CA cannot name a task credential: those names are the scheduler's
    await refusedFrom(
      await dialRaw(address, { ...caOnly, authToken: token, certificate: certs[posing] }),
      /common name cannot name a client identity .*not starting with "task\."/,
    );
    // the cluster still computes for everyone
    assert.deepEqual(await bob.gather(bob.map((x: number) => -x, [1, 2])), [-1, -2]);
    assert.equal(await secret, 42);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("mutual TLS + identities by certificate: a task's getClient() works without a certificate, as its submitter only", async () => {
  await taskClientOverMutualTls(true);
});

Deno.test("mutual TLS + identities by certificate, no cluster token: a task's getClient() works the same", async () => {
  await taskClientOverMutualTls(false);
});

Deno.test("a client identity's dashboard link carries no access token (the dashboard shows every key)", async () => {
  const server = await SchedulerServer.start({
    port: 0,
    authToken: CLUSTER_TOKEN,
    clientTokens: new Map([["alice", ALICE.slice("alice:".length)]]),
    dashboardLink: "http://127.0.0.1:8787/status?token=d45h",
    log: () => {},
  });
  try {
    await using alice = await connect(server.address, ALICE);
    await using admin = await connect(server.address, CLUSTER_TOKEN);
    assert.equal(alice.dashboardLink, "http://127.0.0.1:8787/status");
    assert.equal(admin.dashboardLink, "http://127.0.0.1:8787/status?token=d45h");
  } finally {
    await server.close();
  }
});
