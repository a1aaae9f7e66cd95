/**
 * Bags of text: `readText` (lines of local files or http(s) URLs, gzip or plain, whole files
 * or byte blocks) and `toTextFiles`.
 *
 * Paths are found on the client — globs expanded, local files checked and stat'ed — so a
 * missing file fails at once with its name; tasks read by absolute path (workers share the file
 * system, or read URLs). The bag's name hashes the paths with their sizes and modification
 * times, so a changed file is a different computation.
 *
 * @module
 */

import { resolve } from "node:path";
import { tokenize, uniqueToken } from "../../core/tokenize.ts";
import { chunkKey } from "../../core/task.ts";
import { type CollectionSpec, collectionSymbol, type Layer } from "../collection.ts";
import { computeCollections, type ComputeOptions } from "../compute.ts";
import { Bag } from "./bag.ts";
import { expandPaths, isUrl } from "../io/paths.ts";
import { pipelineTasks, planLayers, upTo } from "./plan.ts";
import { readTextBlock, type TextBlock } from "./text_files.ts";

/** How files are compressed: `"infer"` (the default) reads `.gz` names as gzip. */
export type Compression = "gzip" | "infer" | null;

/** Options of {@link readText}. */
export interface ReadTextOptions {
  /** Default `"infer"`: gzip for names ending in `.gz`, plain otherwise. */
  compression?: Compression;
  /**
   * Split plain local files into blocks of about this many bytes, one partition each (lines
   * are never cut: a line belongs to the block its first byte follows). Default: one partition
   * per file. Gzip files and URLs are read whole.
   */
  blocksize?: number | null;
  /** Text encoding (any `TextDecoder` label). Default `"utf-8"`. */
  encoding?: string;
}

function compressionOf(path: string, compression: Compression): "gzip" | null {
  if (compression === "infer") {
    const name = isUrl(path) ? new URL(path).pathname : path;
    return name.toLowerCase().endsWith(".gz") ? "gzip" : null;
  }
  return compression;
}

function statFile(path: string): Deno.FileInfo {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(`readText: no such file: ${path}`, { cause: error });
    }
    throw new Error(`readText: cannot read ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (!info.isFile) {
    throw new Error(
      `readText: ${path} is not a file. To read every file in a directory, pass a glob such ` +
        `as ${JSON.stringify(path.replace(/\/$/, "") + "/*")}.`,
    );
  }
  return info;
}

/**
 * A bag of the lines of text files (each line keeps its `\n`, as in Dask; the last line of a
 * file may lack one). `paths`: a path, a glob, an http(s) URL, or a list of them.
 */
export function readText(
  paths: string | readonly string[],
  options: ReadTextOptions = {},
): Bag<string> {
  const compression = options.compression === undefined ? "infer" : options.compression;
  if (compression !== "infer" && compression !== "gzip" && compression !== null) {
    throw new TypeError(
      `readText: compression must be "gzip", "infer" or null; got ${JSON.stringify(compression)}.`,
    );
  }
  const encoding = options.encoding ?? "utf-8";
  try {
    new TextDecoder(encoding);
  } catch {
    throw new RangeError(`readText: ${JSON.stringify(encoding)} is not a known text encoding.`);
  }
  const blocksize = options.blocksize ?? null;
  if (blocksize !== null && (!Number.isInteger(blocksize) || blocksize < 1)) {
    throw new RangeError(`readText: blocksize must be a positive integer; got ${blocksize}.`);
  }
  const blocks: TextBlock[] = [];
  const identity: unknown[] = [];
  for (const source of expandPaths(paths, "readText", { urls: true })) {
    const gzip = compressionOf(source, compression);
    if (isUrl(source)) {
      if (blocksize !== null) {
        throw new RangeError(
          `readText: blocksize splits local files only; ${source} is a URL and is read whole. ` +
            `Leave blocksize out for URLs.`,
        );
      }
      blocks.push({ source, compression: gzip, encoding, start: 0, end: null });
      identity.push(source);
      continue;
    }
    const info = statFile(source);
    identity.push([source, info.size, info.mtime?.getTime() ?? null]);
    if (blocksize === null || gzip !== null || info.size <= blocksize) {
      if (blocksize !== null && gzip !== null && info.size > blocksize) {
        throw new RangeError(
          `readText: ${source} is gzip-compressed, which cannot be read from the middle; ` +
            `leave blocksize out (one partition per file) or pass compression: null.`,
        );
      }
      blocks.push({ source, compression: gzip, encoding, start: 0, end: null });
      continue;
    }
    if (new TextDecoder(encoding).encoding.startsWith("utf-16")) {
      throw new RangeError(
        `readText: blocks are cut at "\\n" bytes, which ${encoding} does not keep whole; ` +
          `leave blocksize out for this encoding.`,
      );
    }
    for (let start = 0; start < info.size; start += blocksize) {
      const end = Math.min(start + blocksize, info.size);
      blocks.push({
        source,
        compression: null,
        encoding,
        start,
        end: end === info.size ? null : end,
      });
    }
  }
  const name = `readText-${tokenize(identity, compression, blocksize, encoding)}`;
  return new Bag<string>(name, blocks.length, {
    source: { kind: "call", fn: readTextBlock, args: blocks.map((b) => [b]), layers: [] },
    stages: [],
  });
}

/** Options of `toTextFiles`. */
export interface ToTextFilesOptions extends ComputeOptions {
  /** Default `"infer"`: gzip when the file name ends in `.gz`. */
  compression?: Compression;
  /**
   * What replaces `*` in the pattern for partition `i`. Default: `i` zero-padded to the width
   * of the last partition's number (`00 … 15`), as Dask's `name_function`, so that names sort
   * in partition order.
   */
  nameFunction?: (i: number) => string;
  /** End each file's last line with `\n` too. Default false, as Dask's `last_endline`. */
  lastEndline?: boolean;
}

/** Dask's default `name_function`: `i` zero-padded to the width of `n - 1`. */
function paddedNames(n: number): (i: number) => string {
  const width = String(Math.max(0, n - 1)).length;
  return (i) => String(i).padStart(width, "0");
}

function targetPaths(
  pattern: string | readonly string[],
  n: number,
  nameFunction: (i: number) => string,
): string[] {
  if (typeof pattern !== "string") {
    if (pattern.length !== n) {
      throw new RangeError(
        `toTextFiles: ${pattern.length} paths given for a bag of ${n} partitions; give one ` +
          `path per partition, or a pattern with "*".`,
      );
    }
    return pattern.map((p) => resolve(p));
  }
  const template = pattern.includes("*") ? pattern : `${pattern.replace(/\/$/, "")}/*.part`;
  const paths = upTo(n).map((i) => resolve(template.replace("*", nameFunction(i))));
  if (new Set(paths).size !== n) {
    throw new RangeError(`toTextFiles: the name function gives equal names to two partitions.`);
  }
  return paths;
}

/** Writes each partition to a text file and resolves to the paths written. */
export async function toTextFiles<T>(
  bag: Bag<T>,
  pattern: string | readonly string[],
  options: ToTextFilesOptions,
): Promise<string[]> {
  const {
    compression = "infer",
    nameFunction = paddedNames(bag.npartitions),
    lastEndline = false,
    ...computeOptions
  } = options;
  const paths = targetPaths(pattern, bag.npartitions, nameFunction);
  // writing is a side effect: each call writes again, so its keys are never shared
  const name = `toTextFiles-${uniqueToken()}`;
  const tasks = pipelineTasks(bag.plan, (i) => chunkKey(name, i), {
    fns: [],
    spec: (i) => ({
      op: "write",
      target: { path: paths[i], compression: compressionOf(paths[i], compression), lastEndline },
    }),
  }, upTo(bag.npartitions));
  const layer: Layer = { id: name, tasks, dependencies: planLayers(bag.plan) };
  const keys = tasks.map((t) => t.key);
  const spec: CollectionSpec<string[]> = {
    layer: () => layer,
    keys: () => keys,
    finalize: (values) => values as string[],
    rebuild: (persisted) => ({ [collectionSymbol]: { ...spec, layer: () => persisted } }),
  };
  const [written] = await computeCollections([{ [collectionSymbol]: spec }], computeOptions);
  return written as string[];
}
