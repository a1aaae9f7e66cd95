/**
 * The `threads` scheduler supervises its threads: a task that calls `Deno.exit` fails its
 * computation naming what it did (the process lives on and the thread is replaced), and a task
 * past `timeout` is stopped with a TimeoutError.
 */

import assert from "node:assert/strict";
import { compute, delayed, shutdownThreads } from "../../mod.ts";

const exitWith = (code: number) => {
  Deno.exit(code);
  return -1;
};
const spin = () => {
  let n = 0;
  for (;;) n++;
};
const add = (a: number, b: number) => a + b;

Deno.test("threads scheduler: Deno.exit in a task fails the computation, not the process", async () => {
  try {
    const exiting = delayed(exitWith, { pure: false })(3);
    await assert.rejects(
      compute(exiting, { scheduler: "threads", numWorkers: 1 }),
      (error: Error) => {
        assert.equal(error.name, "ThreadDiedError");
        assert.match(
          error.message,
          /the threads scheduler ended while running exitWith-.*: the task called Deno\.exit\(3\)/,
        );
        return true;
      },
    );
    // the same pool's replaced thread computes on
    const sum = delayed(add)(delayed(add)(1, 2), 4);
    assert.deepEqual(await compute(sum, { scheduler: "threads", numWorkers: 1 }), [7]);
  } finally {
    shutdownThreads();
  }
});

Deno.test("threads scheduler: a task past its timeout is stopped with a TimeoutError", async () => {
  try {
    await assert.rejects(
      compute(delayed(spin, { pure: false })(), {
        scheduler: "threads",
        numWorkers: 1,
        timeout: 200,
      }),
      (error: Error) => {
        assert.equal(error.name, "TimeoutError");
        assert.match(error.message, /task spin-\S+ did not finish within its timeout of 200 ms/);
        return true;
      },
    );
    assert.deepEqual(
      await compute(delayed(add)(5, 6), { scheduler: "threads", numWorkers: 1, timeout: "10s" }),
      [11],
    );
  } finally {
    shutdownThreads();
  }
});
