/**
 * A client fetching a result from a worker that no longer has it, before the scheduler heard
 * (client/data_fetch.ts reports it with `missing-data`, scheduler/missing_data.ts): the result is
 * computed again and the fetch returns it; scattered data, which cannot be, fails saying so.
 *
 * The doomed worker reaches the scheduler through a TCP relay in this process that keeps the
 * scheduler's side of the connection open after the worker dies, as a host that vanishes
 * without closing its connections does: the scheduler hears of the death only from the missing
 * heartbeats (10 × 0.5 s), while the client's fetches find nobody at the worker's address.
 */
import assert from "node:assert/strict";
import { Client, wait } from "../../mod.ts";
import { type ManagedProcess, startScheduler, startWorker } from "../helpers/cluster.ts";
import { RawClient } from "../helpers/raw_client.ts";
import { writeTenancyFiles } from "../helpers/tenancy.ts";

/** Relays connections to `target`; a side that closes never closes the other (see above). */
class HoldingRelay {
  readonly #listener: Deno.TcpListener;
  readonly #conns: Deno.TcpConn[] = [];
  readonly #serving: Promise<void>;

  constructor(readonly target: Deno.ConnectOptions) {
    this.#listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    this.#serving = this.#serve();
  }

  get address(): string {
    return `tcp://127.0.0.1:${(this.#listener.addr as Deno.NetAddr).port}`;
  }

  async #serve(): Promise<void> {
    try {
      for await (const inbound of this.#listener) {
        const outbound = await Deno.connect(this.target);
        this.#conns.push(inbound, outbound);
        const hold = { preventClose: true, preventAbort: true, preventCancel: true };
        inbound.readable.pipeTo(outbound.writable, hold).catch(() => {});
        outbound.readable.pipeTo(inbound.writable, hold).catch(() => {});
      }
    } catch {
      // the listener closed
    }
  }

  async close(): Promise<void> {
    this.#listener.close();
    for (const conn of this.#conns) {
      try {
        conn.close();
      } catch {
        // closed already
      }
    }
    await this.#serving;
  }
}

/** Processes and the client of a test with a doomed worker. */
interface DoomedSetup {
  client: Client;
  scheduler: ManagedProcess;
  schedulerAddress: string;
  doomed: { address: string; process: ManagedProcess };
  /** Starts a second worker (straight to the scheduler) for the work to be computed again. */
  more(): Promise<void>;
}

/**
 * A scheduler, a worker `doomed` that reaches it through a {@link HoldingRelay}, and a client
 * (`authToken`: of an identity; `args`: for the scheduler and for the workers).
 */
async function withDoomedWorker(
  test: (setup: DoomedSetup) => Promise<void>,
  options: { schedulerArgs?: string[]; workerArgs?: string[]; authToken?: string } = {},
): Promise<void> {
  const processes: ManagedProcess[] = [];
  let relay: HoldingRelay | undefined;
  try {
    const scheduler = await startScheduler(options.schedulerArgs);
    processes.push(scheduler.process);
    const port = Number(new URL(scheduler.address.replace("tcp:", "http:")).port);
    relay = new HoldingRelay({ hostname: "127.0.0.1", port });
    const args = options.workerArgs;
    const doomed = await startWorker(relay.address, { name: "doomed", args });
    processes.push(doomed.process);
    const more = async () => {
      const other = await startWorker(scheduler.address, { name: "other", args });
      processes.push(other.process);
    };
    await using client = await Client.connect(scheduler.address, {
      setAsDefault: false,
      authToken: options.authToken,
    });
    try {
      const schedulerAddress = scheduler.address;
      await test({ client, scheduler: scheduler.process, schedulerAddress, doomed, more });
    } catch (error) {
      const logs = processes.map((p) => p.output()).join("\n");
      throw new Error(`${(error as Error).stack}\n${logs}`);
    }
  } finally {
    await Promise.all(processes.map((p) => p.stop()));
    await relay?.close();
  }
}

Deno.test("a result whose only holder died before the scheduler heard is computed again and fetched", async () => {
  await withDoomedWorker(async ({ client, scheduler, doomed, more }) => {
    const x = client.submit((n: number) => n * 2, 21);
    await wait([x]);
    assert.deepEqual(Object.values(await client.whoHas(x)), [[doomed.address]]);
    await more();
    doomed.process.kill("SIGKILL");
    await doomed.process.status;
    // the scheduler still names the dead worker: it has not heard
    assert.deepEqual(Object.values(await client.whoHas(x)), [[doomed.address]]);
    assert.equal(await x.result(), 42);
    assert.equal(x.status, "finished");
    // The report made the scheduler dial the worker (scheduler/worker_probe.ts): nothing
    // listens there, so it was dropped at once, not after its ten missed heartbeats.
    const [line] = await scheduler.waitForLine(new RegExp(`worker ${doomed.address} \\S.*: lost`));
    assert.match(line, /could not be reached at its address/);
    // a gather of it (and of a fresh key) works as well, from the worker that computed it again
    const y = client.submit((n: number) => n + 1, 1);
    assert.deepEqual(await client.gather([x, y]), [42, 2]);
  });
});

Deno.test("scattered data whose only holder died fails saying it cannot be recomputed", async () => {
  await withDoomedWorker(async ({ client, scheduler, schedulerAddress, doomed, more }) => {
    await more();
    const [data] = client.scatter([[1, 2, 3]], { workers: [doomed.address] });
    await wait([data]);
    assert.deepEqual(Object.values(await client.whoHas(data)), [[doomed.address]]);
    doomed.process.kill("SIGKILL");
    await doomed.process.status;
    const error = await data.result().then(
      () => assert.fail("the scattered value came back from a dead worker"),
      (error: Error) => error,
    );
    assert.notEqual(error.name, "MissingDataError", error.message);
    assert.match(error.message, /scattered .*cannot be recomputed.*Scatter the data again/s);
    assert.equal(data.status, "cancelled");
    // a malformed report closes that link, saying why; everyone else is served as before
    const raw = await RawClient.connect(schedulerAddress);
    try {
      raw.send({ op: "missing-data", keys: "all of them", errantWorker: doomed.address });
      await scheduler.waitForLine(/it sent missing-data without keys or errantWorker/);
    } finally {
      await raw.close();
    }
    assert.deepEqual(await client.whoHas(data), { [data.key]: [] });
  });
});

const CLUSTER_TOKEN = "5e1f0c3d2b1a09887766554433221100";
const ALICE = "alice:a11ce-m1ss1ng-70ken-0123456789";
const BOB = "bob:b0b-m1ss1ng-70ken-0123456789abcd";

Deno.test("a client identity's result is computed again too (relay-gather reports); another identity's report of it moves nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "missing-data-test-" });
  try {
    const flags = await writeTenancyFiles(dir, CLUSTER_TOKEN, [ALICE, BOB]);
    await withDoomedWorker(async ({ client: alice, schedulerAddress, doomed, more }) => {
      const x = alice.submit((n: number) => n * 2, 21);
      await wait([x]);
      assert.deepEqual(Object.values(await alice.whoHas(x)), [[doomed.address]]);
      await more();
      // bob does not hold x: his word that the doomed worker lacks it changes nothing
      const bob = await RawClient.connect(schedulerAddress, undefined, { authToken: BOB });
      try {
        bob.send({ op: "missing-data", keys: [x.key], errantWorker: doomed.address });
        // (a request after it, so the report was handled; bounded: a closed link never answers)
        let timer: ReturnType<typeof setTimeout> | undefined;
        const late = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error("bob's link no longer answers")), 10_000);
        });
        const holders = await Promise.race([bob.request("who-has", { keys: [x.key] }), late])
          .finally(() => clearTimeout(timer));
        assert.deepEqual(holders, { [x.key]: [] });
      } finally {
        await bob.close();
      }
      assert.deepEqual(Object.values(await alice.whoHas(x)), [[doomed.address]]);
      doomed.process.kill("SIGKILL");
      await doomed.process.status;
      assert.equal(await x.result(), 42);
    }, {
      ...flags,
      authToken: ALICE,
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
