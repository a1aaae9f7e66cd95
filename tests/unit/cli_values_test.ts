/**
 * A malformed command line names the option whose value went wrong, not the positional
 * arguments: `--memory-limit 8 GB` (an unquoted space) is the classic case.
 */

import assert from "node:assert/strict";
import { parseCli } from "../../core/cli.ts";
import { WORKER_CLI } from "../../worker/options.ts";
import { SCHEDULER_CLI } from "../../scheduler/options.ts";

Deno.test("a value split by a space names its option and how to write it", () => {
  assert.throws(
    () => parseCli(WORKER_CLI, ["tcp://127.0.0.1:8786", "--memory-limit", "8", "GB"]),
    (error: Error) => {
      assert.match(error.message, /^--memory-limit got "8" followed by the stray word "GB"/);
      assert.match(error.message, /--memory-limit "8 GB"/);
      assert.match(error.message, /--memory-limit 8GB/);
      return true;
    },
  );
  assert.throws(
    () => parseCli(SCHEDULER_CLI, ["--port", "8786", "x"]),
    /^TypeError: --port got "8786" followed by the stray word "x"/,
  );
});

Deno.test("an address after an option's value is still the address", () => {
  const { values, positionals } = parseCli(WORKER_CLI, [
    "--memory-limit",
    "8GB",
    "tcp://127.0.0.1:8786",
  ]);
  assert.deepEqual(positionals, ["tcp://127.0.0.1:8786"]);
  assert.equal(values["memory-limit"], "8GB");
});
