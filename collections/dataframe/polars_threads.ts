/**
 * Caps Polars' own thread pool before Polars loads (it reads `POLARS_MAX_THREADS` once, when the
 * pool starts). Inside a task thread Polars gets one thread, so that task threads × workers is
 * the number of cores the user asked for instead of that times the core count. A value the user
 * set is kept; without `--allow-env` the default stays.
 *
 * @module
 */

const inTaskThread = typeof (globalThis as { WorkerGlobalScope?: unknown }).WorkerGlobalScope !==
  "undefined";
if (inTaskThread) {
  try {
    if (Deno.env.get("POLARS_MAX_THREADS") === undefined) Deno.env.set("POLARS_MAX_THREADS", "1");
  } catch {
    // no env permission: Polars sizes its pool by the core count
  }
}
