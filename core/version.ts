/**
 * This package's version, as `deno.json` says (a test keeps them equal): printed by the CLIs'
 * `--version`.
 *
 * @module
 */

/** The package version. */
export const VERSION = "0.1.0";
