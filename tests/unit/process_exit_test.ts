import assert from "node:assert/strict";
import { describeExit } from "../../threads/process_exit.ts";

// what V8 prints when a Deno process passes its heap limit (exit 133, SIGTRAP), as captured here
const V8_OUT_OF_MEMORY = `
#
# Fatal JavaScript out of memory: Reached heap limit
#
==== C stack trace ===============================

    deno(+0x28b0d2e) [0x5633d09a6d2e]
    deno(+0x28b05fb) [0x5633d09a65fb]
`;

Deno.test("a process's end is told by its cause", () => {
  assert.equal(
    describeExit({ code: 133, signal: "SIGTRAP" }, undefined, V8_OUT_OF_MEMORY),
    'it ran out of memory (exit code 133: "Fatal JavaScript out of memory: Reached heap limit")',
  );
  assert.equal(
    describeExit({ code: 137, signal: "SIGKILL" }, undefined, ""),
    "it was killed by SIGKILL (the system's out-of-memory killer does this)",
  );
  assert.equal(
    describeExit({ code: 1, signal: null }, "TypeError: boom", "error: Uncaught TypeError: boom"),
    "an uncaught error ended it: TypeError: boom",
  );
  assert.equal(
    describeExit({ code: 4, signal: null }, undefined, "a\nb\nc\nd\ne\nf\n"),
    "it exited with code 4 (a call to Deno.exit ends the process); its last output:\nb\nc\nd\ne\nf",
  );
});
