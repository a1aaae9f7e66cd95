import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import { LocalCluster } from "../../deploy/local_cluster.ts";
import { makeTemporaryCertificates } from "../../deploy/temporary_certificates.ts";
import { Connection } from "../../net/wire.ts";
import { loadSecurity } from "../../net/tls.ts";
import { startCluster } from "../helpers/cluster.ts";
import { tasks } from "../helpers/launching_tasks.ts";

const TOKEN = "0a1b2c3d4e5f60718293a4b5c6d7e8f9";

/** A cluster whose scheduler and workers listen on tls:// with one CA's certificate. */
async function tlsCluster(options: { token: boolean }) {
  const certificates = await makeTemporaryCertificates();
  const { caFile, cert, key } = certificates.security;
  const flags = ["--tls-ca-file", caFile, "--tls-cert", cert, "--tls-key", key];
  if (options.token) {
    await Deno.writeTextFile(`${certificates.directory}/token`, TOKEN);
    flags.push("--auth-token-file", `${certificates.directory}/token`);
  }
  const cluster = await startCluster({ nWorkers: 2, schedulerArgs: flags, workerArgs: flags })
    .catch(async (error) => {
      await certificates.remove();
      throw error;
    });
  return {
    cluster,
    security: certificates.security,
    async [Symbol.asyncDispose]() {
      await cluster.stop();
      await certificates.remove();
    },
  };
}

/**
 * Makes an array on w0, reads it on w1 (worker ↔ worker), fetches both from the workers
 * (client → worker; 8 MB values never ride along with the scheduler's messages).
 */
async function computeAcrossWorkers(client: Client): Promise<void> {
  const n = 1_000_000;
  const data = client.with({ workers: "w0" }).submit(
    (n: number) => Float64Array.from({ length: n }, (_, i) => i),
    n,
  );
  const doubled = client.with({ workers: "w1" }).submit(
    (xs: Float64Array) => xs.map((x) => 2 * x),
    data,
  );
  const [made, moved] = await client.gather([data, doubled]);
  assert.equal(made.length, n);
  assert.equal(moved[n - 1], 2 * (n - 1));
  assert.equal(moved.reduce((a: number, b: number) => a + b, 0), n * (n - 1));
  // the other direction of the client → worker link: values scattered to a worker
  const [scattered] = await client.scatter([41]);
  assert.equal(await client.submit((x: number) => x + 1, scattered), 42);
}

Deno.test("over TLS with a token, all four kinds of link carry a computation exactly", async () => {
  await using setup = await tlsCluster({ token: true });
  const { cluster, security } = setup;
  assert.match(cluster.schedulerAddress, /^tls:\/\/127\.0\.0\.1:\d+$/);
  for (const worker of cluster.workers) assert.match(worker.address, /^tls:\/\//);
  assert.match(cluster.scheduler.output(), /Every connection is encrypted with TLS/);
  assert.match(cluster.scheduler.output(), /Every connection must prove the auth token/);
  assert.match(cluster.scheduler.output(), /listens on 127\.0\.0\.1 \(this machine only\)/);
  await using client = await Client.connect(cluster.schedulerAddress, {
    security,
    authToken: TOKEN,
    setAsDefault: false,
  });
  await computeAcrossWorkers(client);
  // a task's own client (getClient()) reaches the tls:// scheduler with the worker's certificate
  assert.equal(await client.submit(tasks.fanOut, 10), 90, cluster.logs());
  assert.deepEqual(await client.submit(tasks.credentials), {
    token: true,
    certificate: true,
    ca: true,
  });
  // a certificate of the cluster without the token is still refused: both are checked
  await assert.rejects(
    Client.connect(cluster.schedulerAddress, { security, timeout: 5, setAsDefault: false }),
    /requires an auth token and this side has none/,
  );
  await cluster.scheduler.waitForLine(
    /connection from tcp:\/\/127\.0\.0\.1:\d+ refused: The peer does not authenticate/,
  );
});

Deno.test("plain TCP to a TLS port and a certificate from another CA are refused and logged", async () => {
  await using setup = await tlsCluster({ token: false });
  const { cluster, security } = setup;
  const port = cluster.schedulerAddress.slice(cluster.schedulerAddress.lastIndexOf(":") + 1);

  // plain TCP to the scheduler's TLS port: no handshake of ours comes back
  await assert.rejects(
    Connection.connect(`tcp://127.0.0.1:${port}`, { role: "client", handshakeTimeoutMs: 5000 }),
  );
  await cluster.scheduler.waitForLine(
    /connection from tcp:\/\/127\.0\.0\.1:\d+ refused: TLS handshake failed: .*InvalidContentType/,
  );

  const refusals = () =>
    cluster.scheduler.lines.filter((l) => /refused: TLS handshake failed/.test(l)).length;
  // a client with a certificate from another CA (trusting the cluster's CA) is refused by the
  // scheduler, which checks client certificates (mutual TLS), and logged with its address
  await using other = await makeTemporaryCertificates();
  await assert.rejects(
    Client.connect(cluster.schedulerAddress, {
      security: { ...other.security, caFile: security.caFile },
      timeout: 5,
      setAsDefault: false,
    }),
    /TLS handshake failed/,
  );
  while (refusals() < 2) await new Promise((resolve) => setTimeout(resolve, 50));
  // so is a client without a certificate
  await assert.rejects(
    Client.connect(cluster.schedulerAddress, {
      security: { caFile: security.caFile },
      timeout: 5,
      setAsDefault: false,
    }),
    /TLS handshake failed: .*CertificateRequired/,
  );
  while (refusals() < 3) await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(
    cluster.scheduler.lines.filter((l) => /refused: TLS/.test(l)).at(-1)!,
    /connection from tcp:\/\/127\.0\.0\.1:\d+ refused: TLS handshake failed: .*no certificates/,
  );
  // and a client trusting another CA refuses the scheduler's certificate
  await assert.rejects(
    Client.connect(cluster.schedulerAddress, {
      security: other.security,
      timeout: 5,
      setAsDefault: false,
    }),
    /TLS handshake failed: invalid peer certificate: UnknownIssuer/,
  );

  // a server with a certificate from another CA: a peer of this cluster refuses it
  const otherTls = (await loadSecurity(other.security))!;
  const tls = (await loadSecurity(security))!;
  const { listen } = await import("../../net/listener.ts");
  const refused: string[] = [];
  await using impostor = await listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: otherTls,
    onError: (error, remote) => refused.push(`${remote}: ${error.message}`),
  }, (connection) => void connection.abort("unexpected"));
  await assert.rejects(
    Connection.connect(impostor.addr, { role: "peer", tls }),
    /TLS handshake failed: invalid peer certificate: UnknownIssuer/,
  );

  // plain TCP to a worker's TLS data port, too
  const worker = cluster.workers[0];
  const workerPort = worker.address.slice(worker.address.lastIndexOf(":") + 1);
  await assert.rejects(
    Connection.connect(`tcp://127.0.0.1:${workerPort}`, { role: "peer", handshakeTimeoutMs: 5000 }),
  );
  await worker.process.waitForLine(/connection from tcp:\/\/127\.0\.0\.1:\d+ refused: TLS/);

  // requireEncryption: a client refuses a plain tcp:// address before connecting
  await assert.rejects(
    Client.connect(`tcp://127.0.0.1:${port}`, {
      security: { ...security, requireEncryption: true },
      timeout: 5,
      setAsDefault: false,
    }),
    /encryption is required/,
  );

  // the cluster still serves a client with its certificate (TLS without a token)
  await using client = await Client.connect(cluster.schedulerAddress, {
    security,
    setAsDefault: false,
  });
  await computeAcrossWorkers(client);
});

Deno.test("LocalCluster({ security: true }) computes over tls:// and deletes its certificates", async () => {
  const cluster = await LocalCluster.start({ nWorkers: 2, security: true, dashboard: true });
  let directory: string | undefined;
  try {
    assert.match(cluster.schedulerAddress, /^tls:\/\/127\.0\.0\.1:\d+$/);
    for (const address of await cluster.workerAddresses) assert.match(address, /^tls:\/\//);
    assert.ok(cluster.security?.caFile !== undefined);
    directory = cluster.security!.caFile!.slice(0, cluster.security!.caFile!.lastIndexOf("/"));
    // the CA's key is gone: nothing more can be signed
    assert.deepEqual(
      [...Deno.readDirSync(directory)].map((e) => e.name).sort(),
      ["ca.pem", "cert.pem", "key.pem"],
    );
    assert.match(cluster.dashboardLink ?? "", /^https:\/\//);
    // the dashboard over HTTPS, trusting the cluster's CA
    const ca = await Deno.readTextFile(cluster.security!.caFile!);
    using http = Deno.createHttpClient({ caCerts: [ca] });
    const health = await fetch(new URL("/health", cluster.dashboardLink!), { client: http });
    assert.equal(health.status, 200);
    await health.body?.cancel();

    await using client = await Client.connect(cluster, { setAsDefault: false });
    const [a, b] = await client.scatter([20, 22]);
    assert.equal(await client.submit((x: number, y: number) => x + y, a, b), 42);
    const big = client.with({ workers: ["worker-0"] }).submit(
      (n: number) => new Float64Array(n).fill(3),
      500_000,
    );
    const sum = client.with({ workers: ["worker-1"] }).submit(
      (xs: Float64Array) => xs.reduce((s, x) => s + x, 0),
      big,
    );
    assert.equal(await sum, 1_500_000);
    assert.equal((await big).length, 500_000);
  } finally {
    await cluster.close();
  }
  assert.ok(directory !== undefined);
  assert.throws(() => Deno.statSync(directory!), Deno.errors.NotFound);
});
