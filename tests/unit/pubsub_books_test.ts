import assert from "node:assert/strict";
import { PubSubBooks } from "../../scheduler/coordination/pubsub.ts";

Deno.test("PubSubBooks: task subscribers by worker, client subscribers apart, counted per client", () => {
  const books = new PubSubBooks();
  assert.deepEqual(books.subscribers("t"), { workers: [], clients: false });
  assert.equal(books.subscribe("t", "thread-a", "tcp://w0"), true);
  assert.equal(books.subscribe("t", "thread-a", "tcp://w0"), false); // a second Sub, same client
  assert.equal(books.subscribe("t", "thread-b", "tcp://w0"), true);
  assert.equal(books.subscribe("t", "client-c", null), true);
  assert.deepEqual(books.subscribers("t"), { workers: ["tcp://w0"], clients: true });
  assert.deepEqual(books.clientSubscribers("t"), ["client-c"]);
  books.addPublisher("t", "thread-p");
  assert.deepEqual([...books.publishers("t")], ["thread-p"]);
  assert.equal(books.unsubscribe("t", "thread-a"), false); // one Sub of two closed
  assert.equal(books.unsubscribe("t", "thread-a"), true);
  assert.deepEqual(books.clientGone("client-c"), ["t"]);
  assert.deepEqual(books.subscribers("t"), { workers: ["tcp://w0"], clients: false });
  books.clientGone("thread-p");
  assert.deepEqual([...books.publishers("t")], []);
});
