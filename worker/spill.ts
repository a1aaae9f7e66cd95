/**
 * Spill files: where a memory-bounded worker keeps values that do not fit in memory. Each value
 * is written as it is stored — its encoded body and out-of-band frames, never re-encoded — to one
 * file under the worker's spill directory, and read back with one read whose sections become
 * views of that single buffer (no copies).
 *
 * File layout (little endian): `u32 magic`, `u32 frame count`, `f64 body length`, `f64` per frame
 * length, then the body and each frame, every section starting at a multiple of 8 bytes so that
 * typed-array views over read-back frames stay aligned.
 *
 * Files are written and read synchronously: the store's callers (threads being fed, peers being
 * served) take values synchronously, and one sequential write or read of a chunk costs about as
 * much as copying it once.
 *
 * A worker that is killed cannot remove its directory, so each directory has a sibling lock file
 * (`<directory>.lock`) that its worker holds locked while it lives; the lock is taken before the
 * directory exists. A worker making its directory removes the directories in the same parent whose
 * lock it can take: their workers are gone (Dask's `--local-directory` purge, done the same way).
 *
 * @module
 */

import type { Encoded } from "../core/value_codec.ts";

const MAGIC = 0x4c4c5053; // "SPLL"
const ALIGN = 8;

const padded = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Where a spilled value lives and how many bytes it takes on disk. */
export interface SpillLocation {
  path: string;
  diskBytes: number;
}

/** How a spill directory is chosen. */
export interface SpillDirectoryOptions {
  /**
   * A folder to create the spill directory in (Dask's `--local-directory`). By default the
   * system's temporary folder.
   */
  parent?: string;
  /** Prefix of the directory name (it gets a unique suffix). */
  prefix?: string;
}

/**
 * One worker's spill directory. Created on first use inside `parent` (a fresh subdirectory, so
 * several workers may share a parent), and removed with everything in it by {@link remove}.
 */
export class SpillDirectory {
  readonly #options: SpillDirectoryOptions;
  #path: string | null = null;
  #lock: Deno.FsFile | null = null;
  #nextFile = 0;
  /** Files written and not yet deleted. */
  files = 0;

  constructor(options: SpillDirectoryOptions = {}) {
    this.#options = options;
  }

  /** The directory, once something was spilled (null before). */
  get path(): string | null {
    return this.#path;
  }

  #directory(): string {
    if (this.#path === null) {
      const parent = this.#options.parent;
      const prefix = this.#options.prefix ?? DEFAULT_PREFIX;
      if (parent !== undefined) Deno.mkdirSync(parent, { recursive: true });
      // The lock first, then the directory: a directory without a held lock is never a live one.
      const lockPath = Deno.makeTempFileSync({ dir: parent, prefix, suffix: LOCK_SUFFIX });
      const lock = Deno.openSync(lockPath, { read: true, write: true });
      lock.lockSync(true);
      const path = lockPath.slice(0, -LOCK_SUFFIX.length);
      Deno.mkdirSync(path);
      this.#lock = lock;
      this.#path = path;
      removeAbandoned(parentOf(lockPath), prefix, path);
    }
    return this.#path;
  }

  /**
   * Writes `encoded` to a new file.
   *
   * @throws when the file cannot be written (disk full, no permission); nothing is left behind.
   */
  write(encoded: Encoded): SpillLocation {
    const frames = encoded.frames;
    if (frames.length > 0xffffffff) throw new RangeError("too many frames to spill");
    const header = new ArrayBuffer(padded(16 + 8 * frames.length));
    const view = new DataView(header);
    view.setUint32(0, MAGIC, true);
    view.setUint32(4, frames.length, true);
    view.setFloat64(8, encoded.body.byteLength, true);
    for (let i = 0; i < frames.length; i++) view.setFloat64(16 + 8 * i, frames[i].byteLength, true);
    const path = `${this.#directory()}/${this.#nextFile++}.bin`;
    const file = Deno.openSync(path, { write: true, createNew: true });
    let diskBytes = 0;
    try {
      const zeros = new Uint8Array(ALIGN);
      const put = (bytes: Uint8Array) => {
        writeAll(file, bytes);
        diskBytes += bytes.byteLength;
        const pad = padded(bytes.byteLength) - bytes.byteLength;
        if (pad > 0) {
          writeAll(file, zeros.subarray(0, pad));
          diskBytes += pad;
        }
      };
      put(new Uint8Array(header));
      put(encoded.body);
      for (const frame of frames) put(frame);
    } catch (error) {
      file.close();
      Deno.removeSync(path);
      throw error;
    }
    file.close();
    this.files++;
    return { path, diskBytes };
  }

  /**
   * Reads a value back. Its body and frames are views of one buffer read from the file.
   *
   * @throws when the file is missing or damaged, naming it.
   */
  read(location: SpillLocation): Encoded {
    const bytes = Deno.readFileSync(location.path);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.byteLength < 16 || view.getUint32(0, true) !== MAGIC) {
      throw new Error(`spill file ${location.path} is damaged (bad header)`);
    }
    const count = view.getUint32(4, true);
    let offset = padded(16 + 8 * count);
    const section = (length: number) => {
      if (offset + length > bytes.byteLength) {
        throw new Error(`spill file ${location.path} is truncated`);
      }
      const part = bytes.subarray(offset, offset + length);
      offset += padded(length);
      return part;
    };
    const body = section(view.getFloat64(8, true));
    const frames: Uint8Array[] = new Array(count);
    for (let i = 0; i < count; i++) frames[i] = section(view.getFloat64(16 + 8 * i, true));
    return { body, frames };
  }

  /** Deletes one spilled value's file (missing files are fine). */
  delete(location: SpillLocation): void {
    try {
      Deno.removeSync(location.path);
      this.files--;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }

  /** Removes the directory and every file in it, and its lock. */
  remove(): void {
    if (this.#path === null) return;
    removeIfPresent(this.#path);
    this.#lock?.close(); // closing releases the lock
    removeIfPresent(this.#path + LOCK_SUFFIX);
    this.#lock = null;
    this.#path = null;
    this.files = 0;
  }
}

const DEFAULT_PREFIX = "dask-worker-spill-";
const LOCK_SUFFIX = ".lock";

function parentOf(path: string): string {
  return path.slice(0, path.lastIndexOf("/")) || "/";
}

function removeIfPresent(path: string): void {
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/**
 * Removes spill directories under `parent` whose worker is gone: their lock can be taken. Folders
 * without a lock file, or that cannot be read or removed (another user's), are left alone.
 */
function removeAbandoned(parent: string, prefix: string, own: string): void {
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(parent)];
  } catch {
    return;
  }
  for (const entry of entries) {
    if (!entry.isDirectory || !entry.name.startsWith(prefix)) continue;
    const path = `${parent}/${entry.name}`;
    if (path === own) continue;
    let lock: Deno.FsFile;
    try {
      lock = Deno.openSync(path + LOCK_SUFFIX, { read: true, write: true });
    } catch {
      continue;
    }
    try {
      if (!lock.tryLockSync(true)) continue;
      Deno.removeSync(path, { recursive: true });
      Deno.removeSync(path + LOCK_SUFFIX);
    } catch {
      // in use after all, or not ours to remove
    } finally {
      lock.close();
    }
  }
}

function writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
  let written = 0;
  while (written < bytes.byteLength) written += file.writeSync(bytes.subarray(written));
}
