/**
 * Reading and writing text files inside tasks: the kernels behind `readText` and `toTextFiles`.
 *
 * Reading streams: bytes come from a local file or an http(s) URL, go through the platform's
 * `DecompressionStream` when the file is gzip, are decoded incrementally and split into lines
 * that are pushed one by one into the partition's pipeline, so a task holds one chunk of text
 * at a time, not the whole file.
 *
 * @module
 */

import { taskModule } from "../../core/function_tags.ts";
import type { Sink } from "./reducers.ts";

/** One partition of `readText`: a whole file, or a byte range of a plain local file. */
export interface TextBlock {
  /** An absolute local path, or an http(s) URL. */
  source: string;
  compression: "gzip" | null;
  encoding: string;
  /** Byte range `[start, end)`: the block holds the lines that start in `(start, end]`. */
  start: number;
  /** `null`: to the end of the file. */
  end: number | null;
}

const NEWLINE = 0x0a;

function isUrl(source: string): boolean {
  return source.startsWith("http://") || source.startsWith("https://");
}

async function openBytes(block: TextBlock): Promise<ReadableStream<Uint8Array>> {
  if (isUrl(block.source)) {
    const response = await fetch(block.source);
    if (!response.ok || response.body === null) {
      await response.body?.cancel();
      throw new Error(`HTTP ${response.status} ${response.statusText}`.trim());
    }
    return response.body;
  }
  const file = await Deno.open(block.source, { read: true });
  if (block.start > 0) await file.seek(block.start, Deno.SeekMode.Start);
  return file.readable;
}

/** Splits decoded text into lines that keep their `\n`, pushing each to `sink`. */
class LineSplitter {
  /** The unfinished last line, in pieces (a long line is not copied chunk after chunk). */
  #pending: string[] = [];
  lines = 0;

  constructor(private readonly sink: Sink) {}

  write(text: string): void {
    let start = 0;
    for (let nl = text.indexOf("\n"); nl >= 0; nl = text.indexOf("\n", start)) {
      let line = text.slice(start, nl + 1);
      if (this.#pending.length > 0) {
        this.#pending.push(line);
        line = this.#pending.join("");
        this.#pending = [];
      }
      this.lines++;
      this.sink.push(line);
      start = nl + 1;
    }
    if (start < text.length) this.#pending.push(start === 0 ? text : text.slice(start));
  }

  /** The text ended: a last line without `\n` is a line too. */
  flush(): void {
    if (this.#pending.length === 0) return;
    const line = this.#pending.join("");
    this.#pending = [];
    this.lines++;
    this.sink.push(line);
  }
}

function readFailure(block: TextBlock, cause: unknown): Error {
  const reason = cause instanceof Error ? cause.message : String(cause);
  const what = block.compression === "gzip"
    ? `${block.source} (gzip): ${reason}. The file may be truncated or corrupt, or not gzip ` +
      `at all (then pass compression: null); files made by concatenating several gzip ` +
      `streams are not supported either.`
    : `${block.source}: ${reason}.`;
  return new Error(`readText could not read ${what}`, { cause });
}

/**
 * Pushes the lines of one block into `sink` (and ends nothing: the caller ends the pipeline).
 * Errors from reading or decompressing name the file; errors thrown by `sink` pass unchanged.
 */
export async function readTextBlock(sink: Sink, block: TextBlock): Promise<void> {
  let stream: ReadableStream<Uint8Array>;
  try {
    stream = await openBytes(block);
    if (block.compression === "gzip") {
      const gunzip = new DecompressionStream("gzip") as TransformStream<Uint8Array, Uint8Array>;
      stream = stream.pipeThrough(gunzip);
    }
  } catch (error) {
    throw readFailure(block, error);
  }
  const reader = stream.getReader();
  const decoder = new TextDecoder(block.encoding);
  const lines = new LineSplitter(sink);
  const end = block.end;
  /** Absolute offset of the next byte read. */
  let position = block.start;
  // a block that starts inside the file skips the line that the previous block finishes
  let skipping = block.start > 0;
  let done = false;
  try {
    while (!done) {
      let chunk: Uint8Array;
      try {
        const next = await reader.read();
        if (next.done) break;
        chunk = next.value;
      } catch (error) {
        throw readFailure(block, error);
      }
      if (skipping) {
        const nl = chunk.indexOf(NEWLINE);
        if (nl < 0) {
          position += chunk.length;
          continue;
        }
        skipping = false;
        // the newline ending the skipped line is at or past the end: no line starts here
        if (end !== null && position + nl >= end) break;
        chunk = chunk.subarray(nl + 1);
        position += nl + 1;
      }
      if (end !== null && position + chunk.length > end) {
        // the block ends with the line that holds byte `end - 1`... up to its newline
        const nl = chunk.indexOf(NEWLINE, Math.max(0, end - position));
        if (nl >= 0) {
          chunk = chunk.subarray(0, nl + 1);
          done = true;
        }
      }
      position += chunk.length;
      lines.write(decoder.decode(chunk, { stream: true }));
    }
    lines.write(decoder.decode());
    lines.flush();
  } finally {
    // stops the download or closes the file when the block ended early or failed
    await reader.cancel().catch(() => {});
  }
}

/** Where a partition of `toTextFiles` goes. */
export interface TextTarget {
  path: string;
  compression: "gzip" | null;
  /** End the last line with `\n` too (Dask's `last_endline`; default false). */
  lastEndline?: boolean;
}

/** Text is encoded and written in slices of about this many UTF-16 units. */
const WRITE_SLICE = 1 << 20;

/**
 * Writes strings as lines (a `\n` is added to each that lacks one, except the last line unless
 * `target.lastEndline`, as Dask's `last_endline=False`), through a gzip
 * `CompressionStream` when asked. Creates the parent directory. Returns the path.
 */
export async function writeTextFile(lines: unknown[], target: TextTarget): Promise<string> {
  for (let i = 0; i < lines.length; i++) {
    if (typeof lines[i] !== "string") {
      throw new TypeError(
        `toTextFiles writes strings, but element ${i} of the partition for ${target.path} is ` +
          `a ${lines[i] === null ? "null" : typeof lines[i]}. Map the elements to text first, ` +
          `e.g. .map(JSON.stringify).`,
      );
    }
  }
  const slash = target.path.lastIndexOf("/");
  if (slash > 0) await Deno.mkdir(target.path.slice(0, slash), { recursive: true });
  const file = await Deno.open(target.path, { write: true, create: true, truncate: true });
  let sink: WritableStream<Uint8Array> = file.writable;
  let compressed: Promise<void> | undefined;
  if (target.compression === "gzip") {
    const gzip = new CompressionStream("gzip");
    compressed = gzip.readable.pipeTo(file.writable);
    sink = gzip.writable as WritableStream<Uint8Array>;
  }
  const writer = sink.getWriter();
  const encoder = new TextEncoder();
  try {
    let slice: string[] = [];
    let size = 0;
    const last = lines.length - 1;
    for (let i = 0; i <= last; i++) {
      const line = lines[i] as string;
      const ending = line.endsWith("\n") || (i === last && !target.lastEndline) ? "" : "\n";
      slice.push(line + ending);
      size += line.length + 1;
      if (size >= WRITE_SLICE) {
        await writer.write(encoder.encode(slice.join("")));
        slice = [];
        size = 0;
      }
    }
    if (slice.length > 0) await writer.write(encoder.encode(slice.join("")));
    await writer.close();
    await compressed;
  } catch (error) {
    await writer.abort(error).catch(() => {});
    await compressed?.catch(() => {});
    throw new Error(`toTextFiles could not write ${target.path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return target.path;
}
taskModule(import.meta.url, { readTextBlock });
