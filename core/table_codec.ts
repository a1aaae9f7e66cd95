/**
 * Tables in the value codec: how a columnar library's frame or series (a dataframe partition)
 * travels. Its bytes are an Arrow IPC stream, carried as an out-of-band frame (never copied into
 * the msgpack body), so core/ knows nothing of the library: the dataframe collection registers a
 * {@link TableCodec} when it loads, and where none is registered (a scheduler, a process that
 * never imported the dataframe collection) a table stays an {@link ArrowIPC} value that passes
 * through untouched and becomes a table again wherever the codec is known.
 *
 * @module
 */

/** What a table is: a frame (many named columns) or a series (one named column). */
export type TableKind = "frame" | "series";

/** A table in its wire form: an uncompressed Arrow IPC stream. */
export class ArrowIPC {
  constructor(readonly kind: TableKind, readonly bytes: Uint8Array) {}
}

/** Turns the library's tables into Arrow IPC and back. */
export interface TableCodec {
  /** The value's wire form, or undefined when the value is not one of the library's tables. */
  toIPC(value: object): ArrowIPC | undefined;
  /** The library's table from its wire form. */
  fromIPC(ipc: ArrowIPC): unknown;
  /** Bytes the value holds in memory, or undefined when it is not one of the library's tables. */
  sizeOf(value: object): number | undefined;
}

let registered: TableCodec | undefined;
/** Tables converted to or from Arrow IPC by the registered codec in this thread (ever). */
let conversions = 0;

/**
 * How many tables this thread converted to or from Arrow IPC so far: what keeping partitions
 * live in their thread saves (a worker reports it as the `tableConversions` metric).
 */
export function tableConversions(): number {
  return conversions;
}

/** Registers the codec of the dataframe collection's tables (the last registration wins). */
export function registerTableCodec(codec: TableCodec): void {
  registered = codec;
}

/** The registered codec, if any. */
export function tableCodec(): TableCodec | undefined {
  return registered;
}

/** A table's wire form for the encoder: its own, or the registered codec's conversion. */
export function tableToIPC(value: object): ArrowIPC | undefined {
  if (value instanceof ArrowIPC) return value;
  const ipc = registered?.toIPC(value);
  if (ipc !== undefined) conversions++;
  return ipc;
}

/** A decoded table: the library's table when the codec is known, else the wire form. */
export function tableFromIPC(ipc: ArrowIPC): unknown {
  if (registered === undefined) return ipc;
  conversions++;
  return registered.fromIPC(ipc);
}
