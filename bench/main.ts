/**
 * `deno task bench`: runs every benchmark in this folder, one process each, and prints figures.
 *   deno task bench            all of them
 *   deno task bench local      only bench/local.ts
 */

/** The suites, in the order they run (bench/against.ts runs the same ones). */
export const SUITES = [
  "local",
  "ndarray",
  "array",
  "bag",
  "state_machines",
  "simulate",
  "distributed",
  "resilience",
  "deploy",
  "primitives",
  "compare",
];

async function main(only: string[]): Promise<void> {
  for (const name of SUITES) {
    if (only.length > 0 && !only.includes(name)) continue;
    const url = new URL(`./${name}.ts`, import.meta.url);
    try {
      Deno.statSync(url);
    } catch {
      continue;
    }
    console.log(`\n== bench/${name}.ts`);
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", url.href],
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      console.error(`bench/${name}.ts failed with exit code ${code}`);
      Deno.exitCode = 1;
    }
  }
}

if (import.meta.main) await main(Deno.args);
