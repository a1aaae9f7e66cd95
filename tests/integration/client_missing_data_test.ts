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

/**
 * A scheduler, a worker `doomed` that reaches it through a {@link HoldingRelay}, and a client.
 * `more` starts a second worker (straight to the scheduler) for the work to be computed again.
 */
async function withDoomedWorker(
  test: (
    client: Client,
    doomed: { address: string; process: ManagedProcess },
    more: () => Promise<void>,
  ) => Promise<void>,
): Promise<void> {
  const processes: ManagedProcess[] = [];
  let relay: HoldingRelay | undefined;
  try {
    const scheduler = await startScheduler();
    processes.push(scheduler.process);
    const port = Number(new URL(scheduler.address.replace("tcp:", "http:")).port);
    relay = new HoldingRelay({ hostname: "127.0.0.1", port });
    const doomed = await startWorker(relay.address, { name: "doomed" });
    processes.push(doomed.process);
    const more = async () => {
      const other = await startWorker(scheduler.address, { name: "other" });
      processes.push(other.process);
    };
    await using client = await Client.connect(scheduler.address, { setAsDefault: false });
    try {
      await test(client, doomed, more);
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
  await withDoomedWorker(async (client, doomed, more) => {
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
    // a gather of it (and of a fresh key) works as well, from the worker that computed it again
    const y = client.submit((n: number) => n + 1, 1);
    assert.deepEqual(await client.gather([x, y]), [42, 2]);
  });
});

Deno.test("scattered data whose only holder died fails saying it cannot be recomputed", async () => {
  await withDoomedWorker(async (client, doomed, more) => {
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
  });
});
