/**
 * The `.str` namespace of bags of strings (Dask's `Bag.str`): string methods applied to each
 * element. The functions live in this task module, so threads and workers import them.
 *
 * @module
 */

import { taskModule } from "../../core/function_tags.ts";
import type { Bag } from "./bag.ts";
import { segmentPattern } from "../io/glob.ts";

function asString(x: unknown, method: string): string {
  if (typeof x !== "string") {
    throw new TypeError(
      `.str.${method}: every element must be a string; got ${x === null ? "null" : typeof x}. ` +
        `Map the elements to text first, e.g. .map(String).`,
    );
  }
  return x;
}

/** Python's `str.strip(chars)`: removes any of `chars` (default: whitespace) at the ends. */
function stripChars(s: string, chars: string | undefined, start: boolean, end: boolean): string {
  if (chars === undefined) {
    return start && end ? s.trim() : start ? s.trimStart() : s.trimEnd();
  }
  let i = 0;
  let j = s.length;
  if (start) { while (i < j && chars.includes(s[i])) i++; }
  if (end) { while (j > i && chars.includes(s[j - 1])) j--; }
  return s.slice(i, j);
}

/** Python's `str.split(sep, maxsplit)`: runs of whitespace when `sep` is undefined. */
function splitPython(s: string, sep: string | undefined, maxsplit: number): string[] {
  if (sep === undefined) {
    const words = s.trim().split(/\s+/).filter((w) => w.length > 0);
    if (maxsplit < 0 || words.length <= maxsplit) return words;
    // the rest after maxsplit splits keeps its inner whitespace
    const out: string[] = [];
    let rest = s.trimStart();
    for (let k = 0; k < maxsplit; k++) {
      const m = /\s+/.exec(rest)!;
      out.push(rest.slice(0, m.index));
      rest = rest.slice(m.index + m[0].length);
    }
    out.push(rest);
    return out;
  }
  if (sep === "") throw new RangeError(".str.split: empty separator.");
  const parts = s.split(sep);
  if (maxsplit < 0 || parts.length <= maxsplit + 1) return parts;
  return [...parts.slice(0, maxsplit), parts.slice(maxsplit).join(sep)];
}

export const {
  lower,
  upper,
  strip,
  lstrip,
  rstrip,
  split,
  replace,
  startswith,
  endswith,
  find,
  count,
  len,
  capitalize,
  keepMatching,
} = taskModule(import.meta.url, {
  lower: (x: unknown) => asString(x, "lower").toLowerCase(),
  upper: (x: unknown) => asString(x, "upper").toUpperCase(),
  strip: (x: unknown, chars?: string) => stripChars(asString(x, "strip"), chars, true, true),
  lstrip: (x: unknown, chars?: string) => stripChars(asString(x, "lstrip"), chars, true, false),
  rstrip: (x: unknown, chars?: string) => stripChars(asString(x, "rstrip"), chars, false, true),
  split: (x: unknown, sep: string | undefined, maxsplit: number) =>
    splitPython(asString(x, "split"), sep, maxsplit),
  replace: (x: unknown, old: string, replacement: string) =>
    asString(x, "replace").replaceAll(old, replacement),
  startswith: (x: unknown, prefix: string) => asString(x, "startswith").startsWith(prefix),
  endswith: (x: unknown, suffix: string) => asString(x, "endswith").endsWith(suffix),
  find: (x: unknown, sub: string) => asString(x, "find").indexOf(sub),
  count: (x: unknown, sub: string) => asString(x, "count").split(sub).length - 1,
  len: (x: unknown) => asString(x, "len").length,
  capitalize: (x: unknown) => {
    const s = asString(x, "capitalize");
    return s.slice(0, 1).toUpperCase() + s.slice(1).toLowerCase();
  },
  keepMatching: (part: unknown[], pattern: string) => {
    const re = segmentPattern(pattern, "[\\s\\S]");
    return part.filter((x) => re.test(asString(x, "match")));
  },
});

/** String methods of a bag's elements, each a new bag (Dask's `Bag.str`). */
export class StringAccessor {
  /** @internal Reached through `bag.str`. */
  constructor(readonly bag: Bag<string>) {}

  /** Lower case. */
  lower(): Bag<string> {
    return this.bag.map(lower);
  }
  /** Upper case. */
  upper(): Bag<string> {
    return this.bag.map(upper);
  }
  /** First letter upper case, the rest lower case (Python's `capitalize`). */
  capitalize(): Bag<string> {
    return this.bag.map(capitalize);
  }
  /** Without any of `chars` (default: whitespace) at both ends. */
  strip(chars?: string): Bag<string> {
    return this.bag.map(strip, chars);
  }
  /** Without any of `chars` (default: whitespace) at the start. */
  lstrip(chars?: string): Bag<string> {
    return this.bag.map(lstrip, chars);
  }
  /** Without any of `chars` (default: whitespace) at the end. */
  rstrip(chars?: string): Bag<string> {
    return this.bag.map(rstrip, chars);
  }
  /**
   * The words, as Python's `str.split`: at runs of whitespace when `sep` is not given, at most
   * `maxsplit` splits when it is ≥ 0.
   */
  split(sep?: string, maxsplit = -1): Bag<string[]> {
    return this.bag.map(split, sep, maxsplit);
  }
  /** Every `old` replaced by `replacement`. */
  replace(old: string, replacement: string): Bag<string> {
    return this.bag.map(replace, old, replacement);
  }
  /** Whether each string starts with `prefix`. */
  startswith(prefix: string): Bag<boolean> {
    return this.bag.map(startswith, prefix);
  }
  /** Whether each string ends with `suffix`. */
  endswith(suffix: string): Bag<boolean> {
    return this.bag.map(endswith, suffix);
  }
  /** Index of the first `sub`, or -1. */
  find(sub: string): Bag<number> {
    return this.bag.map(find, sub);
  }
  /** Non-overlapping occurrences of `sub`. */
  count(sub: string): Bag<number> {
    return this.bag.map(count, sub);
  }
  /** Lengths (UTF-16 code units). */
  len(): Bag<number> {
    return this.bag.map(len);
  }
  /**
   * The strings that match a shell-style pattern (`*`, `?`, `[abc]`, `[!abc]`), as Dask's
   * `str.match` (Python's `fnmatch`; `{a,b}` alternatives are accepted too).
   */
  match(pattern: string): Bag<string> {
    return this.bag.mapPartitions(keepMatching as never, pattern) as Bag<string>;
  }
}
