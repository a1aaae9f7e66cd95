/** Task credentials under tenancy (scheduler/task_delegation.ts): who gets one, and when it ends. */
import assert from "node:assert/strict";
import type { TaskRecord } from "../../scheduler/records.ts";
import { TaskDelegations } from "../../scheduler/task_delegation.ts";
import { KeyOwnership } from "../../scheduler/tenancy.ts";
import { parseIdentityTokens } from "../../net/auth.ts";

const running = (key: string, worker: string) =>
  ({ key, state: "processing", processingOn: { address: worker } }) as unknown as TaskRecord;

Deno.test("a task running on the asking worker, of one client identity, gets a credential of that identity", () => {
  const ownership = new KeyOwnership(true);
  const delegations = new TaskDelegations(new Map([["alice", "a".repeat(32)]]));
  const task = running("t", "tcp://w1");
  ownership.claim(task, "alice");
  const answer = delegations.issue(task, "t", "tcp://w1", ownership);
  assert.ok("token" in answer);
  const [name, secret] = answer.token.split(":");
  assert.equal(delegations.tokens.get(name), secret); // the listener accepts it
  assert.equal(delegations.tokens.get("alice"), "a".repeat(32));
  assert.equal(delegations.identityOf(name), "alice");
  assert.equal(delegations.identityOf("alice"), undefined); // a file identity is itself
  assert.equal(ownership.delegated(task), true); // never shared with another identity now

  // it ends with the run: the name is forgotten, its connections closed
  const closed: string[] = [];
  delegations.attach(name, { abort: (reason) => void closed.push(String(reason)) });
  delegations.sweep(new Map([["t", task]]));
  assert.equal(delegations.size, 1);
  (task as { state: string }).state = "memory";
  delegations.sweep(new Map([["t", task]]));
  assert.equal(delegations.size, 0);
  assert.equal(delegations.tokens.has(name), false);
  assert.deepEqual(closed, ["task t's credential ended with the task"]);
});

Deno.test("no credential for a task elsewhere, of several identities, or of the cluster's token", () => {
  const ownership = new KeyOwnership(true);
  const delegations = new TaskDelegations(undefined);
  const elsewhere = running("a", "tcp://w2");
  ownership.claim(elsewhere, "alice");
  assert.match(
    (delegations.issue(elsewhere, "a", "tcp://w1", ownership) as { error: string }).error,
    /does not run on this worker/,
  );
  assert.match(
    (delegations.issue(undefined, "gone", "tcp://w1", ownership) as { error: string }).error,
    /does not run on this worker/,
  );
  const shared = running("s", "tcp://w1");
  ownership.claim(shared, "alice");
  ownership.claim(shared, "bob");
  assert.match(
    (delegations.issue(shared, "s", "tcp://w1", ownership) as { error: string }).error,
    /several client identities/,
  );
  const clusters = running("c", "tcp://w1");
  ownership.claim(clusters, "cluster");
  assert.match(
    (delegations.issue(clusters, "c", "tcp://w1", ownership) as { error: string }).error,
    /cluster's own token/,
  );
  assert.equal(delegations.size, 0);
});

Deno.test("a client tokens file may not name an identity like a task credential", () => {
  assert.throws(
    () => parseIdentityTokens(`alice:${"a".repeat(32)}\ntask.abc:${"b".repeat(32)}\n`, "clients"),
    /clients, line 2: identity task\.abc: names starting with "task\." are the scheduler's own/,
  );
  assert.equal(parseIdentityTokens(`tasks:${"c".repeat(32)}`, "clients").size, 1);
  // nor may identities given to the scheduler otherwise (SchedulerServer.start's clientTokens)
  assert.throws(
    () => new TaskDelegations(new Map([["task.abc", "b".repeat(32)]])),
    /Client identity task\.abc: names starting with "task\." are the scheduler's own/,
  );
});
