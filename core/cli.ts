/**
 * Command lines described once: every option's name, kind, default, meaning and an example. The
 * same description parses the arguments (`node:util` `parseArgs`), prints `--help` (as
 * `dask-worker --help` does) and lets tests check that deployment files only pass options that
 * exist.
 *
 * @module
 */

import { parseArgs } from "node:util";

/** One `--option` of a command line. */
export interface CliOption {
  /** The long name, without dashes: `nthreads`. */
  name: string;
  /** A flag (`--no-dashboard`) or an option with a value (`--port 8786`). */
  type: "boolean" | "string";
  /** What its value looks like, for the help text: `N`, `PATH`, `SECONDS`. */
  value?: string;
  /** The default value, applied when the option is not given. */
  default?: string;
  /** The default described in words, for the help text only (`the machine's cores`). */
  defaultText?: string;
  /** What it does, one or two sentences. */
  help: string;
  /** It may be given more than once (`--preload a.ts --preload b.ts`). */
  multiple?: boolean;
  /** A one-letter alias: `h` for `--help`. */
  short?: string;
  /**
   * Its value is optional, as Deno's `--allow-read[=PATHS]`: bare `--name` gives the empty
   * string, a value only follows `=` (a separate word is not taken as its value).
   */
  optionalValue?: boolean;
}

/** A command line: its usage line, options and examples. */
export interface CliSpec {
  /** How it is run: `deno run -A worker/main.ts`. */
  command: string;
  /** The positional arguments, as the usage line shows them: `[SCHEDULER_ADDRESS]`. */
  positionals?: string;
  /** How many positional arguments it takes (default: any number). */
  maxPositionals?: number;
  /** What the command does, one paragraph. */
  summary: string;
  options: CliOption[];
  /** Whole command lines that show typical uses. */
  examples: string[];
}

/** Options every command line of this package has: `--pid-file`, `--version`, `--help`. */
export const COMMON_OPTIONS: readonly CliOption[] = [
  {
    name: "pid-file",
    type: "string",
    value: "PATH",
    help: "Write this process's id to PATH (removed when it stops).",
  },
  { name: "version", type: "boolean", help: "Print the version and exit." },
  { name: "help", type: "boolean", short: "h", help: "Print this help and exit." },
];

/** Parsed values by option name: strings, string lists (`multiple`) or booleans. */
export type CliValues = Record<string, string | string[] | boolean | undefined>;

/** Parses `args` against `spec`; throws a TypeError that names the problem and the usage. */
export function parseCli(
  spec: CliSpec,
  args: string[],
): { values: CliValues; positionals: string[] } {
  const options: Record<
    string,
    { type: "boolean" | "string"; multiple?: boolean; short?: string; default?: string | boolean }
  > = {};
  for (const option of spec.options) {
    options[option.name] = {
      type: option.type,
      ...(option.multiple ? { multiple: true } : {}),
      ...(option.short !== undefined ? { short: option.short } : {}),
      ...(option.type === "boolean" ? { default: false } : {}),
      ...(option.type === "string" && option.default !== undefined && !option.multiple
        ? { default: option.default }
        : {}),
    };
  }
  const optional = new Set(
    spec.options.filter((o) => o.optionalValue).map((o) => `--${o.name}`),
  );
  if (optional.size > 0) args = args.map((arg) => optional.has(arg) ? `${arg}=` : arg);
  try {
    const parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
    const split = splitValue(spec, args, parsed.positionals);
    if (split !== undefined) throw new TypeError(split);
    return { values: parsed.values as CliValues, positionals: parsed.positionals };
  } catch (error) {
    throw new TypeError(`${(error as Error).message}. ${usageLine(spec)} (--help explains)`);
  }
}

/**
 * With more positionals than the command takes, a stray word right after an option's value is
 * most likely the rest of that value (`--memory-limit 8 GB`): the error names that option,
 * rather than blaming the positional arguments.
 */
function splitValue(spec: CliSpec, args: string[], positionals: string[]): string | undefined {
  if (spec.maxPositionals === undefined || positionals.length <= spec.maxPositionals) {
    return undefined;
  }
  const valued = new Set(spec.options.filter((o) => o.type === "string").map((o) => o.name));
  for (let i = 2; i < args.length; i++) {
    const flag = args[i - 2];
    if (!flag.startsWith("--") || flag.includes("=") || !valued.has(flag.slice(2))) continue;
    if (!positionals.includes(args[i])) continue;
    const whole = `${args[i - 1]} ${args[i]}`;
    return `${flag} got ${JSON.stringify(args[i - 1])} followed by the stray word ` +
      `${JSON.stringify(args[i])}; if it belongs to that value, quote it (${flag} "${whole}") ` +
      `or leave out the space (${flag} ${whole.replace(/\s+/g, "")})`;
  }
  return undefined;
}

/** `usage: deno run -A worker/main.ts [SCHEDULER_ADDRESS] [options]`. */
export function usageLine(spec: CliSpec): string {
  return `usage: ${spec.command}${spec.positionals ? ` ${spec.positionals}` : ""} [options]`;
}

/** The whole `--help` text: usage, summary, every option with its default, examples. */
export function helpText(spec: CliSpec): string {
  const lines = [usageLine(spec), "", ...wrap(spec.summary, 100), "", "Options:"];
  const heads = spec.options.map((o) =>
    `  ${o.short !== undefined ? `-${o.short}, ` : ""}--${o.name}` +
    (o.type !== "string"
      ? ""
      : o.optionalValue
      ? `[=${o.value ?? "VALUE"}]`
      : ` ${o.value ?? "VALUE"}`)
  );
  // Option names in a column; a name too long for it puts its text on the next line.
  const width = Math.min(30, Math.max(...heads.map((h) => h.length)) + 2);
  spec.options.forEach((option, i) => {
    const extra = [
      (option.defaultText ?? option.default) !== undefined
        ? `[default: ${option.defaultText ?? option.default}]`
        : "",
      option.multiple ? "(may be repeated)" : "",
    ].filter((s) => s !== "").join(" ");
    const body = wrap(`${option.help}${extra === "" ? "" : ` ${extra}`}`, 100 - width);
    if (heads[i].length + 2 > width) lines.push(heads[i]);
    else lines.push(heads[i].padEnd(width) + body.shift());
    for (const line of body) lines.push(" ".repeat(width) + line);
  });
  lines.push("", "Examples:", ...spec.examples.map((e) => `  ${e}`));
  return lines.join("\n");
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line !== "" && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === "" ? word : `${line} ${word}`;
  }
  if (line !== "") lines.push(line);
  return lines;
}

/**
 * Seconds from `5s`, `10m`, `1h`, `2d`, `500ms` or a plain number of seconds (Dask's time
 * strings); throws a TypeError naming the option when it is none of those.
 */
export function parseDuration(text: string, option: string): number {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|seconds?|minutes?|hours?|days?)?\s*$/i.exec(
    text,
  );
  if (match === null) {
    throw new TypeError(
      `${option} takes a duration like 30s, 10m, 1h or a number of seconds; got ${
        JSON.stringify(text)
      }`,
    );
  }
  const unit = (match[2] ?? "s").toLowerCase();
  const scale = unit === "ms"
    ? 0.001
    : unit.startsWith("m")
    ? 60
    : unit.startsWith("h")
    ? 3600
    : unit.startsWith("d")
    ? 86400
    : 1;
  return Number(match[1]) * scale;
}
