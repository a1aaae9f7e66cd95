/**
 * The README's first snippet runs as written (a new user's first try), in a fresh directory.
 */

import assert from "node:assert/strict";
import { runDeno } from "../helpers/run_deno.ts";

const REPO = new URL("../../", import.meta.url);

Deno.test("the README's first snippet runs as written", async () => {
  const readme = await Deno.readTextFile(new URL("README.md", REPO));
  const snippet = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  assert.ok(snippet !== undefined, "README.md has no ts snippet");
  // its relative imports name files of the repository; the data it makes goes to a temp dir
  const source = snippet.replaceAll(
    /from "\.\/([^"]+)"/g,
    (_, path) => `from "${new URL(path, REPO)}"`,
  );
  const dir = await Deno.makeTempDir({ prefix: "readme-" });
  try {
    await Deno.writeTextFile(`${dir}/snippet.ts`, source);
    const out = await runDeno(["run", "-A", "--no-config", "snippet.ts"], dir);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stderr, /^Dashboard: http:\/\/127\.0\.0\.1:\d+\/status/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
