/**
 * The scheduler journal's files (`--journal-dir`): an append-only log of records
 * (scheduler/journal_book.ts), compacted into a snapshot when it grows.
 *
 * Files: `snapshot-<n>.bin` and `log-<n>.bin` for the current generation `n`. Each file is a run
 * of frames, `u32 length (little-endian)` + one msgpack record (core/value_codec.ts), task specs
 * in columns (scheduler/journal_tasks.ts: each distinct function once per record, every argument
 * body in one buffer) so a restarted scheduler reads a large graph quickly. Compaction writes `snapshot-<n+1>` through a
 * temporary file, fsyncs it, renames it into place, starts `log-<n+1>` and deletes generation
 * `n`: a crash at any point leaves one complete generation to read (opening removes what an
 * interrupted compaction left). Opening reads the newest generation and appends to its log after
 * its last whole frame: a frame torn by a crash mid-write is cut off.
 *
 * Durability: records are written (one `write` per batch of events, before the scheduler sends
 * what those events caused) and fsynced at most once a second ({@link Journal.sync}), so a killed
 * scheduler process loses nothing it answered; a crash of the whole machine may lose the last
 * second.
 *
 * @module
 */

import { decode, encodeWith } from "../core/value_codec.ts";
import type { Key } from "../core/task.ts";
import type { ClientToSchedulerMsg } from "../protocol/messages.ts";
import { JournalBook, type JournalRecord } from "./journal_book.ts";
import {
  type PackedKeys,
  type PackedTasks,
  packKeys,
  packTasks,
  unpackKeys,
  unpackTasks,
} from "./journal_tasks.ts";

/** The log is compacted once it is larger than this and than the last snapshot. */
const COMPACT_MIN_BYTES = 8 * 1024 * 1024;

/** Reads `<dir>/snapshot-<n>.bin` then `<dir>/log-<n>.bin` of the newest generation. */
function newestGeneration(dir: string): number {
  let newest = 0;
  for (const entry of Deno.readDirSync(dir)) {
    const match = /^snapshot-(\d+)\.bin$/.exec(entry.name);
    if (match !== null) newest = Math.max(newest, Number(match[1]));
  }
  return newest;
}

/**
 * The records of one file and the length of its whole frames (less than the file's size when
 * its last frame is torn: the scheduler was killed mid-write).
 */
function readRecords(path: string): { records: JournalRecord[]; end: number; size: number } {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { records: [], end: 0, size: 0 };
    throw error;
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: JournalRecord[] = [];
  let at = 0;
  while (at + 4 <= bytes.byteLength) {
    const length = view.getUint32(at, true);
    if (at + 4 + length > bytes.byteLength) break;
    const record = decode({ body: bytes.subarray(at + 4, at + 4 + length), frames: [] });
    records.push(unpackRecord(record as JournalRecord));
    at += 4 + length;
  }
  return { records, end: at, size: bytes.byteLength };
}

/** Task columns and packed key lists back to specs and lists. */
function unpackRecord(record: JournalRecord): JournalRecord {
  if (record.t === "snapshot") {
    return { ...record, tasks: unpackTasks(record.tasks as unknown as PackedTasks) };
  }
  if (record.t !== "msg" || !("keys" in record.msg)) return record;
  const msg = {
    ...record.msg,
    keys: unpackKeys(record.msg.keys as Key[] | PackedKeys),
  } as ClientToSchedulerMsg;
  if (msg.op === "update-graph") msg.tasks = unpackTasks(msg.tasks as unknown as PackedTasks);
  return { ...record, msg };
}

/** The form written: task specs in columns, long key lists packed. */
function packRecord(record: JournalRecord): unknown {
  if (record.t === "snapshot") return { ...record, tasks: packTasks(record.tasks) };
  if (record.t !== "msg" || !("keys" in record.msg)) return record;
  const msg: Record<string, unknown> = { ...record.msg, keys: packKeys(record.msg.keys) };
  if (record.msg.op === "update-graph") msg.tasks = packTasks(record.msg.tasks);
  return { ...record, msg };
}

/** Frames written and not yet flushed: `u32 length + record`, back to back, in one buffer. */
class FrameBuffer {
  bytes = new Uint8Array(64 * 1024);
  length = 0;

  /** Encodes `record` straight after the last frame (one copy, from the encoder's buffer). */
  add(record: JournalRecord): number {
    return encodeWith(packRecord(record), (body) => {
      const size = 4 + body.byteLength;
      if (this.length + size > this.bytes.byteLength) {
        const grown = new Uint8Array(Math.max(2 * this.bytes.byteLength, this.length + size));
        grown.set(this.bytes.subarray(0, this.length));
        this.bytes = grown;
      }
      new DataView(this.bytes.buffer).setUint32(this.length, body.byteLength, true);
      this.bytes.set(body, this.length + 4);
      this.length += size;
      return size;
    }, { frameThreshold: Infinity, rootName: "journal record" });
  }

  /** The frames so far; empties the buffer (a large one is let go). */
  take(): Uint8Array {
    const frames = this.bytes.subarray(0, this.length);
    this.length = 0;
    if (this.bytes.byteLength > MAX_KEPT_BUFFER_BYTES) this.bytes = new Uint8Array(64 * 1024);
    return frames;
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  for (let at = 0; at < bytes.byteLength;) at += file.writeSync(bytes.subarray(at));
}

/** A pending buffer grown past this is not kept for the next batch. */
const MAX_KEPT_BUFFER_BYTES = 4 * 1024 * 1024;

/** The journal directory cannot be read or written (the message says which and why). */
export class JournalError extends Error {
  override name = "JournalError";
}

/** An open journal: its book (what it says so far) and the log being appended to. */
export class Journal {
  readonly book: JournalBook;
  /** A torn frame was dropped at opening (the scheduler was killed mid-write). */
  readonly tornAtOpen: boolean;
  readonly #dir: string;
  #generation: number;
  #log!: Deno.FsFile;
  #logBytes = 0;
  #snapshotBytes = 0;
  readonly #pending = new FrameBuffer();
  #unsynced = false;
  #syncing = false;

  private constructor(dir: string, book: JournalBook, generation: number, torn: boolean) {
    this.#dir = dir;
    this.book = book;
    this.#generation = generation;
    this.tornAtOpen = torn;
  }

  /** Opens (creating) `dir` and reads what it holds; appends go to its newest log. */
  static open(dir: string): Journal {
    try {
      return Journal.#open(dir);
    } catch (error) {
      throw new JournalError(
        `cannot use the journal in ${dir}: ${(error as Error).message}. Give --journal-dir a ` +
          `directory this process can write (or remove a damaged journal to start afresh).`,
        { cause: error },
      );
    }
  }

  static #open(dir: string): Journal {
    Deno.mkdirSync(dir, { recursive: true });
    const generation = newestGeneration(dir);
    const book = new JournalBook();
    const snapshot = readRecords(`${dir}/snapshot-${generation}.bin`);
    if (snapshot.end !== snapshot.size) throw new Error(`snapshot-${generation}.bin is damaged`);
    const logPath = `${dir}/log-${generation}.bin`;
    const log = readRecords(logPath);
    for (const record of snapshot.records) book.apply(record);
    for (const record of log.records) book.apply(record);
    // what an interrupted compaction left behind
    for (const entry of Deno.readDirSync(dir)) {
      const match = /^(?:snapshot|log)-(\d+)\.(?:bin|tmp)$/.exec(entry.name);
      if (match !== null && (Number(match[1]) !== generation || entry.name.endsWith(".tmp"))) {
        Deno.removeSync(`${dir}/${entry.name}`);
      }
    }
    const journal = new Journal(dir, book, generation, log.end !== log.size);
    // appends continue the log, after its last whole frame
    const file = Deno.openSync(logPath, { read: true, write: true, create: true });
    file.truncateSync(log.end);
    file.seekSync(log.end, Deno.SeekMode.Start);
    journal.#log = file;
    journal.#logBytes = log.end;
    journal.#snapshotBytes = snapshot.size;
    return journal;
  }

  /** Adds records (applied to the book at once, written at the next {@link write}). */
  append(records: readonly JournalRecord[]): void {
    for (const record of records) {
      this.book.apply(record);
      this.#logBytes += this.#pending.add(record);
    }
  }

  /** Writes what was appended (call before sending what those events caused). */
  write(): void {
    if (this.#pending.length === 0) return;
    writeAll(this.#log, this.#pending.take());
    this.#unsynced = true;
    // amortized: a snapshot is written after at least twice its size was appended
    if (this.#logBytes > COMPACT_MIN_BYTES && this.#logBytes > 2 * this.#snapshotBytes) {
      this.compact();
    }
  }

  /**
   * fsyncs the log if something was written since the last call (the server: once a second),
   * off the event loop; one at a time.
   */
  async sync(): Promise<void> {
    if (!this.#unsynced || this.#syncing) return;
    this.#unsynced = false;
    this.#syncing = true;
    try {
      await this.#log.syncData();
    } finally {
      this.#syncing = false;
    }
  }

  /** Writes a snapshot of the book as a new generation and starts its log empty. */
  compact(): void {
    this.write();
    this.#log?.close();
    const old = this.#generation;
    const next = old + 1;
    const snapshot = new FrameBuffer();
    snapshot.add(this.book.snapshot());
    const bytes = snapshot.take();
    const temporary = `${this.#dir}/snapshot-${next}.tmp`;
    const file = Deno.openSync(temporary, { write: true, create: true, truncate: true });
    try {
      writeAll(file, bytes);
      file.syncDataSync();
    } finally {
      file.close();
    }
    Deno.renameSync(temporary, `${this.#dir}/snapshot-${next}.bin`);
    this.#log = Deno.openSync(`${this.#dir}/log-${next}.bin`, {
      write: true,
      create: true,
      truncate: true,
    });
    this.#generation = next;
    this.#snapshotBytes = bytes.byteLength;
    this.#logBytes = 0;
    this.#unsynced = false;
    for (const name of [`snapshot-${old}.bin`, `log-${old}.bin`]) {
      try {
        Deno.removeSync(`${this.#dir}/${name}`);
      } catch (error) {
        if (!(error instanceof Deno.errors.NotFound)) throw error;
      }
    }
  }

  /** Writes what is pending, fsyncs and closes the log. */
  close(): void {
    this.write();
    this.#log.syncDataSync();
    this.#log.close();
  }
}
