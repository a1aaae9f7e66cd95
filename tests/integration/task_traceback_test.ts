/**
 * A task's traceback names the user's file and line (issue 18): a function that travels as
 * source and throws on a worker (or a local thread) gives an error whose stack, at the caller,
 * names this test file and the line of the `throw` — not the thread's compiled copy — and the
 * worker's terminal says which task failed and why.
 */

import assert from "node:assert/strict";
import { Client, delayed } from "../../mod.ts";
import { startCluster } from "../helpers/cluster.ts";

function checkPositive(x: number): number {
  if (x < 0) {
    throw new RangeError(`expected a positive number, got ${x}`);
  }
  return x;
}

const THIS_FILE = new URL(import.meta.url);

/** The 1-based line of this file where `text` first appears. */
function lineOf(text: string): number {
  const source = Deno.readTextFileSync(THIS_FILE);
  const at = source.indexOf(text);
  assert.ok(at >= 0, `'${text}' is not in this file`);
  return source.slice(0, at).split("\n").length;
}

/** The frames of `stack` that name this file, with their line. */
function framesHere(stack: string): number[] {
  const lines: number[] = [];
  for (const match of stack.matchAll(/task_traceback_test\.ts:(\d+):\d+/g)) {
    lines.push(Number(match[1]));
  }
  return lines;
}

Deno.test("a task's error names the user's file and line, on a cluster and on threads", async () => {
  const throwLine = lineOf("throw new RangeError(`expected a positive");
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress);

  const future = client.submit(checkPositive, -1);
  const error = await future.result().then(() => undefined, (e: Error) => e);
  assert.ok(error instanceof Error, "the task should have failed");
  assert.equal(error.name, "RangeError");
  assert.ok(
    framesHere(error.stack ?? "").includes(throwLine),
    `the stack should name task_traceback_test.ts:${throwLine}:\n${error.stack}`,
  );
  assert.doesNotMatch(error.stack ?? "", /task-function\/|task-origin:/);

  // an inline function: named where it is written
  const inlineLine = lineOf("inline" + "-call-here"); // split: this line must not match
  const inline = client.submit((s: string) => JSON.parse(s), "{not json"); // inline-call-here
  const inlineError = await inline.result().then(() => undefined, (e: Error) => e);
  assert.ok(inlineError instanceof SyntaxError, String(inlineError));
  assert.ok(
    framesHere(inlineError.stack ?? "").includes(inlineLine),
    `the stack should name task_traceback_test.ts:${inlineLine}:\n${inlineError.stack}`,
  );

  // the worker's terminal names the failing task and the error
  const logged = new RegExp(
    `task ${future.key.replace(/[-[\]]/g, "\\$&")} failed: RangeError: expected a positive ` +
      `number, got -1 \\(at checkPositive \\(file://\\S+task_traceback_test\\.ts:${throwLine}:`,
  );
  for (let i = 0; i < 50 && !logged.test(cluster.logs()); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.match(cluster.logs(), logged);

  // the same on the local threads
  const local = await delayed(checkPositive)(-2).compute({ scheduler: "threads" }).then(
    () => undefined,
    (e: Error) => e,
  );
  assert.ok(local instanceof RangeError, String(local));
  assert.ok(
    framesHere(local.stack ?? "").includes(throwLine),
    `the threads' stack should name task_traceback_test.ts:${throwLine}:\n${local.stack}`,
  );
});
