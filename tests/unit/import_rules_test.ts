/**
 * Which room may import which (docs/architecture.md "Rooms and their imports"), checked by reading
 * every module's imports: static `import`/`export … from`, dynamic `import("…")` and module URLs
 * built with `new URL("…", import.meta.url)`.
 */

import assert from "node:assert/strict";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** For each room, the rooms it must not import from. */
const FORBIDDEN: Record<string, readonly string[]> = {
  worker: ["scheduler", "client"],
  client: ["scheduler", "worker"],
  scheduler: ["worker", "client"],
  collections: ["scheduler", "worker", "client", "deploy"],
  core: ["scheduler", "worker", "client", "deploy", "collections", "net", "threads", "protocol"],
  protocol: ["scheduler", "worker", "client", "deploy", "collections", "net", "threads"],
  net: ["scheduler", "worker", "client", "deploy", "collections", "threads"],
  // threads stand on net: a subprocess pool (process_pool.ts) frames its messages as the wire does
  threads: ["scheduler", "worker", "client", "deploy", "collections"],
};

/**
 * The one reference across the rules, each with its reason: a task thread loads the client's
 * actor transport on first use, when a task calls an actor handle (the handle is client code the
 * task was given; core/actor_ref.ts takes the loader, so nothing else in threads/ sees client/).
 */
const ALLOWED = new Set([
  "threads/thread_entry.ts → ../client/actors.ts",
  "threads/actor_entry.ts → ../client/actors.ts",
]);

const SPECIFIER_PATTERNS = [
  /\b(?:import|export)\s+(?:type\s+)?[^'"`;]*?\bfrom\s*["']([^"']+)["']/g,
  /\bimport\s*["']([^"']+)["']/g,
  /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
  /\bnew\s+URL\s*\(\s*["']([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g,
];

/** The relative module specifiers a source text refers to. */
export function moduleSpecifiers(source: string): string[] {
  const found: string[] = [];
  for (const pattern of SPECIFIER_PATTERNS) {
    for (const match of source.matchAll(pattern)) {
      if (match[1].startsWith(".")) found.push(match[1]);
    }
  }
  return found;
}

async function* sourceFiles(dir: string): AsyncGenerator<string> {
  for await (const entry of Deno.readDir(dir)) {
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* sourceFiles(path);
    else if (/\.(ts|js)$/.test(entry.name)) yield path;
  }
}

function roomOf(path: string): string {
  return relative(ROOT, path).split(/[\\/]/)[0];
}

/** Every import that breaks a rule, as `file → specifier (room)`. */
async function violations(rules: Record<string, readonly string[]>): Promise<string[]> {
  const out: string[] = [];
  for (const room of Object.keys(rules)) {
    for await (const file of sourceFiles(join(ROOT, room))) {
      const source = await Deno.readTextFile(file);
      for (const specifier of moduleSpecifiers(source)) {
        const target = roomOf(resolve(dirname(file), specifier));
        const reference = `${relative(ROOT, file)} → ${specifier}`;
        if (rules[room].includes(target) && !ALLOWED.has(reference)) {
          out.push(`${reference} (${room}/ must not import ${target}/)`);
        }
      }
    }
  }
  return out.sort();
}

Deno.test("import rules: every room imports only the rooms below it", async () => {
  const broken = await violations(FORBIDDEN);
  assert.ok(broken.length === 0, `Imports that break the room rules:\n${broken.join("\n")}`);
});

Deno.test("import rules: finds every kind of module reference", () => {
  const source = [
    `import { a } from "../scheduler/a.ts";`,
    `import type { B } from "../scheduler/b.ts";`,
    `export { c } from "../scheduler/c.ts";`,
    `export * from "../scheduler/d.ts";`,
    `import "../scheduler/e.ts";`,
    `const f = await import("../scheduler/f.ts");`,
    `const g = new URL("../scheduler/g.ts", import.meta.url);`,
    `import {\n  h,\n  type H,\n} from "../scheduler/h.ts";`,
    `import { x } from "npm:hono@4.9.0";`,
  ].join("\n");
  assert.deepEqual(moduleSpecifiers(source).sort(), [
    "../scheduler/a.ts",
    "../scheduler/b.ts",
    "../scheduler/c.ts",
    "../scheduler/d.ts",
    "../scheduler/e.ts",
    "../scheduler/f.ts",
    "../scheduler/g.ts",
    "../scheduler/h.ts",
  ]);
});

Deno.test("import rules: reports a broken rule with the file and the import", async () => {
  // The scheduler does import core/: forbidding that must be reported, file by file.
  const broken = await violations({ scheduler: ["core"] });
  assert.ok(broken.length > 0);
  assert.ok(
    broken.some((line) =>
      /^scheduler\/state\.ts → \.\.\/core\/.* \(scheduler\/ must not import core\/\)$/.test(line)
    ),
    broken.join("\n"),
  );
});
