/**
 * One concept per file (issue #12): a source file outside tests/ longer than ~800 lines says at
 * its top why ("About 850 lines: …"), so that a file growing past it is a decision, not drift.
 */

import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
/** Lines a source file may have without a reason written at its top. */
const MAX_LINES = 800;
/** Folders that hold no source of ours. */
const SKIPPED = new Set(["tests", "node_modules"]);

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    if (entry.name.startsWith(".") || SKIPPED.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|js)$/.test(entry.name)) yield path;
  }
}

/**
 * Whether `source` is over `MAX_LINES` lines without a reason at its top: its first comment must
 * name its length ("About 850 lines: …", "Longer than ~800 lines (about 900) because …").
 */
export function lacksLengthReason(source: string): boolean {
  const lines = source.split("\n").length;
  if (lines <= MAX_LINES) return false;
  const top = /^\s*\/\*[\s\S]*?\*\//.exec(source)?.[0] ?? "";
  return !/\b\d{3,4} lines\b/.test(top);
}

Deno.test("file length: every source file over ~800 lines says why at its top", async () => {
  const unexplained: string[] = [];
  for await (const file of sourceFiles(ROOT)) {
    if (lacksLengthReason(await Deno.readTextFile(file))) unexplained.push(relative(ROOT, file));
  }
  assert.deepEqual(
    unexplained.sort(),
    [],
    "split these files by concept, or write at their top why they are longer",
  );
});

Deno.test("file length: a long file is reported unless its first comment gives its length", () => {
  const body = "const x = 1;\n".repeat(MAX_LINES + 1);
  assert.equal(lacksLengthReason(body), true);
  assert.equal(lacksLengthReason(`/** Parses things. */\n${body}`), true);
  assert.equal(lacksLengthReason(`/** About 810 lines: one parser. */\n${body}`), false);
  // a length named in a later comment does not count
  assert.equal(lacksLengthReason(`/** Parses. */\n// about 810 lines\n${body}`), true);
  assert.equal(lacksLengthReason("const y = 2;\n".repeat(MAX_LINES - 1)), false);
});
