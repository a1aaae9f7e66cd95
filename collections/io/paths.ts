/**
 * The files a reader's `paths` name (`readText`, `readCsv`, `readParquet`): paths, `file:` URLs,
 * globs (expanded here, on the client, with glob.ts), and http(s) URLs where the reader takes
 * them. A glob that matches nothing is an error naming the pattern.
 *
 * @module
 */

import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { expandGlob, hasGlob } from "./glob.ts";

/** True for http(s) URLs. */
export function isUrl(path: string): boolean {
  return /^https?:\/\//i.test(path);
}

/** Absolute local paths (and URLs, when `urls`) that `paths` names, for the reader `what`. */
export function expandPaths(
  paths: string | readonly string[],
  what: string,
  options: { urls: boolean },
): string[] {
  const list = typeof paths === "string" ? [paths] : [...paths];
  if (list.length === 0) {
    throw new RangeError(
      `${what} needs at least one path${options.urls ? ", glob or URL" : " or glob"}.`,
    );
  }
  const out: string[] = [];
  for (const path of list) {
    if (typeof path !== "string") {
      throw new TypeError(`${what}: paths must be strings; got ${typeof path}.`);
    }
    if (isUrl(path)) {
      if (!options.urls) throw new Error(`${what} reads local files; ${path} is a URL.`);
      out.push(path);
      continue;
    }
    const local = path.startsWith("file:") ? fileURLToPath(path) : path;
    if (hasGlob(local)) {
      const matches = expandGlob(local);
      if (matches.length === 0) {
        throw new Error(`${what}: no file matches ${JSON.stringify(path)}.`);
      }
      out.push(...matches);
    } else out.push(resolve(local));
  }
  return out;
}
