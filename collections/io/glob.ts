/**
 * Expands file globs on the client (the std library's `expandGlob` lives on JSR, which these
 * machines cannot reach). Supports `*`, `?`, `[abc]`, `[!abc]`, `{a,b}` within a path segment
 * and `**` for any number of directories. As in shells and Python's glob, wildcards do not
 * match names starting with `.` unless the pattern segment does.
 *
 * @module
 */

import { resolve } from "node:path";

const GLOB_CHARS = /[*?[{]/;

/** True when a path holds glob syntax. */
export function hasGlob(path: string): boolean {
  return GLOB_CHARS.test(path);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
}

/**
 * A regular expression for one path segment of a glob; `anyChar` is what `?` (and each
 * character of `*`) matches: not `/` in paths, anything for Python's `fnmatch`.
 */
export function segmentPattern(segment: string, anyChar = "[^/]"): RegExp {
  let out = "";
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i];
    if (c === "*") out += `${anyChar}*`;
    else if (c === "?") out += anyChar;
    else if (c === "[") {
      const close = segment.indexOf("]", i + 2);
      if (close < 0) {
        out += "\\[";
        continue;
      }
      let body = segment.slice(i + 1, close);
      const negate = body.startsWith("!") || body.startsWith("^");
      if (negate) body = body.slice(1);
      out += `[${negate ? "^" : ""}${body.replace(/\\/g, "\\\\")}]`;
      i = close;
    } else if (c === "{") {
      const close = segment.indexOf("}", i);
      if (close < 0) {
        out += "\\{";
        continue;
      }
      const options = segment.slice(i + 1, close).split(",");
      const alternatives = options.map((o) => segmentPattern(o, anyChar).source.slice(1, -1));
      out += `(?:${alternatives.join("|")})`;
      i = close;
    } else out += escapeRegExp(c);
  }
  return new RegExp(`^${out}$`);
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function isFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

function join(dir: string, name: string): string {
  return dir.endsWith("/") ? dir + name : `${dir}/${name}`;
}

/** The files a glob matches, as absolute paths, sorted. Relative globs start at the cwd. */
export function expandGlob(pattern: string): string[] {
  const absolute = resolve(pattern);
  const segments = absolute.split("/");
  const first = segments.findIndex((s) => hasGlob(s) || s === "**");
  if (first < 0) return isFile(absolute) ? [absolute] : [];
  const base = segments.slice(0, first).join("/") || "/";
  const patterns = segments.slice(first).map((s) => s === "**" ? null : segmentPattern(s));
  const rest = segments.slice(first);
  const found = new Set<string>();

  const walk = (dir: string, index: number): void => {
    if (index === rest.length) {
      if (isFile(dir)) found.add(dir);
      return;
    }
    const segment = rest[index];
    if (segment === "**") {
      walk(dir, index + 1); // zero directories
      for (const entry of readDir(dir)) {
        if (!entry.name.startsWith(".") && isDirectory(join(dir, entry.name))) {
          walk(join(dir, entry.name), index);
        }
      }
      return;
    }
    if (!hasGlob(segment)) {
      walk(join(dir, segment), index + 1);
      return;
    }
    const regex = patterns[index]!;
    const dotAllowed = segment.startsWith(".");
    for (const entry of readDir(dir)) {
      if (entry.name.startsWith(".") && !dotAllowed) continue;
      if (regex.test(entry.name)) walk(join(dir, entry.name), index + 1);
    }
  };
  walk(base, 0);
  return [...found].sort();
}

function readDir(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch {
    return []; // not a directory, or unreadable: nothing matches below it
  }
}
