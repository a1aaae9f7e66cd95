/**
 * Gives memory the process freed back to the operating system. Native allocations (socket
 * buffers, decoding temporaries, large strings on their way in and out) come from glibc's malloc,
 * which keeps freed memory in its heap rather than returning it: after a burst — many rejected
 * connections, large messages — the resident memory stayed ~40 MB higher although nothing was
 * held (measured with tests/fuzz/: 20,000 hostile inputs, V8 heap back to its size, resident
 * memory not). `malloc_trim(0)` returns those pages, as Dask's workers do (`trim_memory`).
 *
 * It needs FFI permission (granted to `-A` processes; never prompted for) and glibc on Linux;
 * elsewhere it does nothing.
 *
 * @module
 */

/** A burst's trim waits this long after the connection that ended it (at most one pending). */
const TRIM_DELAY_MS = 1000;

let trim: (() => void) | null | undefined;
let pending: ReturnType<typeof setTimeout> | undefined;

function loadTrim(): (() => void) | null {
  if (Deno.build.os !== "linux") return null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return null;
    const libc = Deno.dlopen("libc.so.6", {
      malloc_trim: { parameters: ["usize"], result: "i32" },
    });
    return () => void libc.symbols.malloc_trim(0n);
  } catch {
    return null; // not glibc (musl), or no such library: nothing to trim
  }
}

/**
 * Trims the native heap a second from now (a burst of calls makes one trim). Does not keep the
 * process alive.
 */
export function trimNativeMemorySoon(): void {
  if (pending !== undefined) return;
  trim ??= loadTrim();
  if (trim === null) return;
  const run = trim;
  const timer = setTimeout(() => {
    pending = undefined;
    run();
  }, TRIM_DELAY_MS);
  Deno.unrefTimer(timer);
  pending = timer;
}

/**
 * Trims the native heap now (a dataframe task ends with this after its garbage collection: the
 * native memory of the tables it dropped goes back to the operating system at once).
 */
export function trimNativeMemoryNow(): void {
  trim ??= loadTrim();
  trim?.();
}
