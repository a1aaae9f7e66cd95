import assert from "node:assert/strict";
import {
  BATCH_OP,
  BatchSender,
  Connection,
  listen,
  type Message,
  sendHeaders,
  unbatch,
} from "../../net/wire.ts";
import { clientMessageProblem, workerMessageProblem } from "../../protocol/message_checks.ts";

/** A listener that collects the headers each connection receives; and a connected client. */
async function pair() {
  const received: unknown[] = [];
  let wake = () => {};
  const listener = await listen({ hostname: "127.0.0.1", port: 0 }, (connection) => {
    void (async () => {
      for await (const message of connection) {
        received.push((message as Message).header);
        wake();
      }
    })();
  });
  const client = await Connection.connect(listener.addr, { role: "client" });
  const next = async (count: number) => {
    while (received.length < count) await new Promise<void>((resolve) => wake = resolve);
    return received.splice(0, count);
  };
  const close = async () => {
    await client.close();
    await listener.close();
  };
  return { client, next, close };
}

Deno.test("unbatch yields a batch's messages in order, a plain header alone, null if malformed", () => {
  const msgs = [{ op: "a" }, { op: "b" }, { op: "c" }];
  assert.equal(unbatch({ op: BATCH_OP, msgs }), msgs);
  assert.deepEqual(unbatch({ op: "task-finished", key: "x" }), [{ op: "task-finished", key: "x" }]);
  assert.deepEqual(unbatch(null), [null]);
  assert.equal(unbatch({ op: BATCH_OP }), null);
  assert.equal(unbatch({ op: BATCH_OP, msgs: { op: "a" } }), null);
});

Deno.test("sendHeaders sends one header as it is and several as one batch", async () => {
  const { client, next, close } = await pair();
  try {
    assert.ok(sendHeaders(client, [{ op: "alone" }]));
    assert.ok(sendHeaders(client, [{ op: "x", i: 1 }, { op: "y", i: 2 }]));
    assert.ok(sendHeaders(client, []));
    assert.deepEqual(await next(2), [
      { op: "alone" },
      { op: BATCH_OP, msgs: [{ op: "x", i: 1 }, { op: "y", i: 2 }] },
    ]);
    assert.equal(client.stats.messagesSent, 2);
  } finally {
    await close();
  }
});

Deno.test("BatchSender joins the sends of one synchronous run, in order, and flushes on demand", async () => {
  const { client, next, close } = await pair();
  const errors: Error[] = [];
  const sender = new BatchSender(client, (error) => errors.push(error));
  try {
    for (let i = 0; i < 100; i++) sender.send({ op: "n", i });
    assert.equal(client.stats.messagesSent, 0); // held until the microtask
    const [batch] = await next(1) as { op: string; msgs: { i: number }[] }[];
    assert.equal(batch.op, BATCH_OP);
    assert.deepEqual(batch.msgs.map((m) => m.i), Array.from({ length: 100 }, (_, i) => i));
    assert.equal(client.stats.messagesSent, 1);

    // flush sends at once: a direct send after it arrives after what was queued
    sender.send({ op: "queued" });
    sender.flush();
    client.send({ header: { op: "direct" } });
    assert.deepEqual(await next(2), [{ op: "queued" }, { op: "direct" }]);

    // a header that cannot travel is reported and dropped; the others still go, in order
    sender.send({ op: "before" });
    sender.send({ op: "bad", fn: () => 1 });
    sender.send({ op: "after" });
    assert.deepEqual(await next(2), [{ op: "before" }, { op: "after" }]);
    assert.equal(errors.length, 1);
  } finally {
    await close();
  }
  assert.equal(sender.send({ op: "late" }), false);
});

Deno.test("the scheduler's checks name a malformed or nested batch", () => {
  for (const check of [clientMessageProblem, workerMessageProblem]) {
    assert.equal(
      check({ op: BATCH_OP, msgs: "nope" }),
      "a batch without a list of messages (msgs)",
    );
    assert.equal(check({ op: BATCH_OP, msgs: [] }), "a batch inside a batch");
  }
});
