/**
 * Content keys: a deterministic hash of any value that travels, so that equal computations get
 * equal keys (`inc-1f0c…`) and run once.
 *
 * A value is written as an unambiguous canonical text (each item tagged and self-delimiting),
 * and the text is hashed with 64-bit xxHash (WebAssembly). Binary data (typed arrays, buffers,
 * NDArray chunks) and long strings are hashed on their own, straight from their bytes, and only
 * their digest enters the text. Plain objects, `Map`s and `Set`s hash the same whatever the
 * insertion order, as Dask's tokenize does for dicts.
 *
 * Values tokenize cannot see into (class instances, closures, bound functions, unregistered
 * symbols) get a random token that stays the same for the same object: such keys never collide
 * wrongly, they only miss sharing.
 *
 * @module
 */

// deno-lint-ignore no-import-prefix
import xxhash from "npm:xxhash-wasm@^1";
import { FreeVariableError, UnserializableError } from "./errors.ts";
import { describeFunction } from "./function_codec.ts";
import { endlessValueError } from "./value_path.ts";
import { NDArray } from "./ndarray.ts";
import { type TaskFunction, TaskRef } from "./task.ts";

/**
 * Objects (and functions) with a method under this symbol give their own token: the method
 * returns a value that is tokenized in the object's place (usually a string such as a
 * collection's key).
 */
export const tokenizeSymbol: unique symbol = Symbol.for("dask.tokenize");

/** A value that names its own content for {@link tokenize}. */
export interface Tokenizable {
  /** The value to tokenize in this object's place. */
  [tokenizeSymbol](): unknown;
}

const hasher = await xxhash();

/** Binary data is streamed into the hasher in slices of this size, bounding its memory. */
const CHUNK_BYTES = 1 << 20;
/** Strings longer than this (in UTF-16 units) are hashed on their own, in slices of this size. */
const LONG_TEXT = 1 << 16;

/**
 * A 16-hex-digit content hash of `values`. Equal values give equal tokens in every process;
 * `1`, `"1"` and `1n` differ; `-0` equals `0`; `NaN` is stable.
 */
export function tokenize(...values: unknown[]): string {
  const writer = new TokenWriter(values);
  for (let i = 0; i < values.length; i++) writer.write(values[i]);
  return hashText(writer.text);
}

/** `${prefix}-${tokenize(...values)}`: the key of a pure task. */
export function keyFor(prefix: string, ...values: unknown[]): string {
  return `${prefix}-${tokenize(...values)}`;
}

/** Two hex digits for each byte value. */
const HEX_BYTES = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));
const randomWords = new Uint32Array(2);
/** The first 14 hex digits of the next 256 tokens (56 random bits), and how many were given. */
let tokenBase = "";
let tokensFromBase = HEX_BYTES.length;

/**
 * A random 16-hex-digit token, for tasks that must not share a key (`pure: false`): 256
 * consecutive tokens share 56 random bits and differ in the last two digits, so a token costs
 * one string concatenation (a graph makes one per task) and tokens never repeat within a
 * process; across processes two share a base with odds of 2^-56 per pair of bases.
 */
export function uniqueToken(): string {
  if (tokensFromBase === HEX_BYTES.length) {
    crypto.getRandomValues(randomWords);
    tokenBase = randomWords[0].toString(16).padStart(8, "0") +
      (randomWords[1] >>> 8).toString(16).padStart(6, "0");
    tokensFromBase = 0;
  }
  return tokenBase + HEX_BYTES[tokensFromBase++];
}

function hex64(value: bigint): string {
  return value.toString(16).padStart(16, "0");
}

/** xxh64 of the UTF-8 of `text`. `text` must be well formed (lone surrogates would collide). */
function hashText(text: string): string {
  if (text.length <= LONG_TEXT) return hasher.h64ToString(text);
  const state = hasher.create64();
  for (let start = 0; start < text.length;) {
    let end = Math.min(start + LONG_TEXT, text.length);
    const last = text.charCodeAt(end - 1);
    // Never split a surrogate pair: each half alone would encode as U+FFFD.
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    state.update(text.slice(start, end));
    start = end;
  }
  return hex64(state.digest());
}

/** xxh64 of raw bytes, streamed in slices so the hasher's memory stays small. */
function hashBytes(bytes: Uint8Array): string {
  if (bytes.byteLength <= CHUNK_BYTES) return hex64(hasher.h64Raw(bytes));
  const state = hasher.create64();
  for (let start = 0; start < bytes.byteLength; start += CHUNK_BYTES) {
    state.update(bytes.subarray(start, start + CHUNK_BYTES));
  }
  return hex64(state.digest());
}

function bytesOf(view: ArrayBufferView): Uint8Array {
  return view instanceof Uint8Array
    ? view
    : new Uint8Array(view.buffer, view.byteOffset, view.byteLength);
}

/** Tokens of objects and symbols that can only be named by identity. */
const identityTokens = new WeakMap<WeakKey, string>();

function identityToken(value: WeakKey): string {
  let token = identityTokens.get(value);
  if (token === undefined) {
    token = uniqueToken();
    identityTokens.set(value, token);
  }
  return token;
}

const functionTokens = new WeakMap<TaskFunction, string>();

/**
 * A function is named by what travels: its module reference, or its source text and name. A
 * function that cannot travel (it reads outer variables, or is bound or native) may behave
 * differently from another with the same text, so it is named by identity.
 */
function functionToken(fn: TaskFunction): string {
  let token = functionTokens.get(fn);
  if (token === undefined) {
    try {
      const spec = describeFunction(fn);
      token = hasher.h64ToString(
        spec.kind === "module" ? `m${spec.id}` : `s${spec.id}:${spec.name}`,
      );
    } catch (error) {
      if (!(error instanceof FreeVariableError || error instanceof UnserializableError)) {
        throw error;
      }
      token = uniqueToken();
    }
    functionTokens.set(fn, token);
  }
  return token;
}

/**
 * Writes the canonical text of values. Grammar: `n<number>;` `i<bigint>;` `s<length>:<chars>`
 * `T` `F` `N` (null) `U` (undefined) `[...]` arrays, `{...}` sorted key/value pairs, tags for
 * the other kinds; every item delimits itself, so concatenations cannot be confused.
 */
class TokenWriter {
  text = "";
  #active: Set<object> | undefined;

  /** @param roots the values being tokenized, to name the path of a cycle inside them */
  constructor(readonly roots: readonly unknown[]) {}

  write(value: unknown): void {
    switch (typeof value) {
      case "number":
        this.text += "n" + value + ";";
        return;
      case "string":
        this.writeString(value);
        return;
      case "boolean":
        this.text += value ? "T" : "F";
        return;
      case "undefined":
        this.text += "U";
        return;
      case "bigint":
        this.text += "i" + value + ";";
        return;
      case "symbol": {
        const registered = Symbol.keyFor(value);
        if (registered === undefined) {
          this.text += "o" + identityToken(value);
        } else {
          this.text += "y";
          this.writeString(registered);
        }
        return;
      }
      case "function":
        if (typeof (value as Partial<Tokenizable>)[tokenizeSymbol] === "function") {
          this.writeOwnToken(value as unknown as Tokenizable);
        } else {
          this.text += "f" + functionToken(value as TaskFunction);
        }
        return;
      default:
        if (value === null) this.text += "N";
        else this.writeObject(value as object);
    }
  }

  writeString(value: string): void {
    let tag = "s";
    if (!value.isWellFormed()) {
      // JSON escapes lone surrogates, so distinct ill-formed strings stay distinct.
      value = JSON.stringify(value);
      tag = "u";
    }
    if (value.length > LONG_TEXT) this.text += tag.toUpperCase() + hashText(value);
    else this.text += tag + value.length + ":" + value;
  }

  writeObject(value: object): void {
    if (typeof (value as Partial<Tokenizable>)[tokenizeSymbol] === "function") {
      this.writeOwnToken(value as Tokenizable);
    } else if (Array.isArray(value)) {
      this.#enter(value);
      this.text += "[";
      for (let i = 0; i < value.length; i++) this.write(value[i]);
      this.text += "]";
      this.#leave(value);
    } else if (value instanceof TaskRef) {
      this.text += "R";
      this.writeString(value.key);
    } else if (ArrayBuffer.isView(value)) {
      const kind = (value as { [Symbol.toStringTag]?: string })[Symbol.toStringTag];
      this.text += "A" + kind + ":" + hashBytes(bytesOf(value));
    } else if (value instanceof NDArray) {
      const data = value.contiguousData();
      this.text += "Y" + value.dtype + ":" + value.shape.join(",") + ":" +
        hashBytes(bytesOf(data));
    } else {
      const proto = Object.getPrototypeOf(value);
      if (proto === Object.prototype || proto === null) {
        this.#writePlainObject(value as Record<string, unknown>);
      } else if (value instanceof Map) {
        this.#writeUnordered("M", value, (entry: [unknown, unknown]) => {
          this.write(entry[0]);
          this.write(entry[1]);
        });
      } else if (value instanceof Set) {
        this.#writeUnordered("E", value, (item: unknown) => this.write(item));
      } else if (value instanceof Date) {
        this.text += "D" + value.getTime() + ";";
      } else if (value instanceof ArrayBuffer) {
        this.text += "B" + hashBytes(new Uint8Array(value));
      } else if (typeof SharedArrayBuffer === "function" && value instanceof SharedArrayBuffer) {
        this.text += "b" + hashBytes(new Uint8Array(value));
      } else if (value instanceof RegExp) {
        this.text += "/";
        this.writeString(value.source);
        this.writeString(value.flags);
      } else {
        this.text += "o" + identityToken(value);
      }
    }
  }

  writeOwnToken(value: Tokenizable): void {
    this.#enter(value);
    this.text += "X";
    this.write(value[tokenizeSymbol]());
    this.#leave(value);
  }

  #writePlainObject(value: Record<string, unknown>): void {
    this.#enter(value);
    const keys = Object.keys(value).sort();
    this.text += "{";
    for (let i = 0; i < keys.length; i++) {
      this.writeString(keys[i]);
      this.write(value[keys[i]]);
    }
    this.text += "}";
    this.#leave(value);
  }

  /** Writes a collection in an order that does not depend on insertion: sorted item texts. */
  #writeUnordered<T>(tag: string, items: Iterable<T> & object, writeItem: (item: T) => void) {
    this.#enter(items);
    const outer = this.text;
    const texts: string[] = [];
    for (const item of items) {
      this.text = "";
      writeItem(item);
      texts.push(this.text);
    }
    texts.sort();
    this.text = outer + tag + texts.length + "{" + texts.join("") + "}";
    this.#leave(items);
  }

  #enter(container: object): void {
    this.#active ??= new Set();
    if (this.#active.has(container)) throw endlessValueError(this.roots, "values");
    this.#active.add(container);
  }

  #leave(container: object): void {
    this.#active!.delete(container);
  }
}
