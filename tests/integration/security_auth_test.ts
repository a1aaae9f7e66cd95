import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import { Connection } from "../../net/wire.ts";
import { startCluster, startWorker } from "../helpers/cluster.ts";

const TOKEN = "5d1c1a7e0f3b4c2d9e8f7a6b5c4d3e2f";

/** A cluster whose scheduler and workers all read the token from a file. */
async function authCluster() {
  const dir = await Deno.makeTempDir({ prefix: "auth-test-" });
  const file = `${dir}/token`;
  await Deno.writeTextFile(file, `${TOKEN}\n`);
  const flags = ["--auth-token-file", file];
  const cluster = await startCluster({ nWorkers: 2, schedulerArgs: flags, workerArgs: flags });
  return {
    cluster,
    async [Symbol.asyncDispose]() {
      await cluster.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

Deno.test("with a token, every link authenticates and a computation is exact", async () => {
  await using setup = await authCluster();
  const { cluster } = setup;
  assert.match(cluster.scheduler.output(), /Every connection must prove the auth token/);
  await using client = await Client.connect(cluster.schedulerAddress, {
    authToken: TOKEN,
    setAsDefault: false,
  });
  // made on w0, read on w1 (worker ↔ worker), the result fetched from w1 (client → worker)
  const data = client.with({ workers: "w0" }).submit(
    (n: number) => Array.from({ length: n }, (_, i) => i),
    1000,
  );
  const total = client.with({ workers: "w1" }).submit(
    (xs: number[]) => xs.reduce((a, b) => a + b, 0),
    data,
  );
  assert.equal(await total, 499_500);
  assert.equal((await data).length, 1000);
  // values a client scatters go to a worker over the client's own peer link
  const [scattered] = await client.scatter([41]);
  assert.equal(await client.submit((x: number) => x + 1, scattered), 42);
});

Deno.test("a client without the token or with a wrong one is refused, and the refusal logged", async () => {
  await using setup = await authCluster();
  const { cluster } = setup;
  await assert.rejects(
    Client.connect(cluster.schedulerAddress, { timeout: 5, setAsDefault: false }),
    /requires an auth token and this side has none/,
  );
  await cluster.scheduler.waitForLine(
    /connection from tcp:\/\/127\.0\.0\.1:\d+ refused: The peer does not authenticate/,
  );
  await assert.rejects(
    Client.connect(cluster.schedulerAddress, {
      timeout: 5,
      authToken: TOKEN.replace("5", "6"),
      setAsDefault: false,
    }),
    /auth proof is wrong/,
  );
  await cluster.scheduler.waitForLine(
    /connection from tcp:\/\/127\.0\.0\.1:\d+ refused: The peer's auth proof is wrong/,
  );

  // A worker's data port refuses a peer without the token before reading any request.
  const worker = cluster.workers[0];
  await assert.rejects(
    Connection.connect(worker.address, { role: "peer" }),
    /requires an auth token/,
  );
  await worker.process.waitForLine(/connection from tcp:\/\/127\.0\.0\.1:\d+ refused/);

  // the cluster still serves a client that holds the token
  await using client = await Client.connect(cluster.schedulerAddress, {
    authToken: TOKEN,
    setAsDefault: false,
  });
  assert.equal(await client.submit((x: number) => x * 2, 21), 42);
});

Deno.test("a worker with a wrong token is refused by the scheduler", async () => {
  await using setup = await authCluster();
  const { cluster } = setup;
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/wrong`, "this-is-not-the-cluster-token");
    const rogue = await startWorker(cluster.schedulerAddress, {
      name: "rogue",
      args: ["--auth-token-file", `${dir}/wrong`],
      registered: false,
    });
    try {
      await cluster.scheduler.waitForLine(/refused: The peer's auth proof is wrong/);
    } finally {
      await rogue.process.stop();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
