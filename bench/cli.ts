/**
 * Flags of the bench scripts: Node's `parseArgs` over `Deno.args`, with `--help` (`-h`) printing
 * the script's usage, and a wrong flag answered with what was wrong and the usage (exit code 2)
 * instead of a stack trace.
 *
 * @module
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

/** `parseArgs(config)` over `Deno.args`; `usage` is printed for `--help` and after a bad flag. */
export function benchArgs<T extends ParseArgsConfig>(
  config: T,
  usage: string,
): ReturnType<typeof parseArgs<T>> {
  const args = config.args ?? Deno.args; // parseArgs' own default, process.argv, is the same
  if (args.includes("--help") || args.includes("-h")) {
    console.log(`usage: ${usage}`);
    Deno.exit(0);
  }
  try {
    return parseArgs(config);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    console.error(`${message}\nusage: ${usage}`);
    Deno.exit(2);
  }
}
