/**
 * `--preload MODULE`: modules a worker process imports at start (Dask's preload scripts). A module
 * may export `daskSetup(worker)`, awaited once the worker listens, and `daskTeardown(worker)`,
 * awaited when it stops; it may also just run code when imported.
 *
 * @module
 */

/** What a preload module's `daskSetup` / `daskTeardown` receive. */
export interface PreloadWorkerInfo {
  name: string;
  address: string;
  scheduler: string;
  nthreads: number;
  memoryLimit: number;
}

type Hook = (worker: PreloadWorkerInfo) => unknown;

/** The URL a `--preload` value names: a URL as it is, a path relative to the working folder. */
export function preloadUrl(spec: string, cwd: string = Deno.cwd()): string {
  if (/^(https?|file|jsr|npm|data):/.test(spec)) return spec;
  const absolute = spec.startsWith("/") ? spec : `${cwd.replace(/\/$/, "")}/${spec}`;
  return new URL(`file://${absolute}`).href;
}

/** Imported preload modules, set up once the worker listens and torn down when it stops. */
export class Preloads {
  private constructor(readonly modules: { url: string; exports: Record<string, unknown> }[]) {}

  /**
   * Imports every module, in order.
   *
   * @throws {Error} naming the module that failed to import, and why.
   */
  static async load(specs: string[]): Promise<Preloads> {
    const modules = [];
    for (const spec of specs) {
      const url = preloadUrl(spec);
      try {
        modules.push({ url, exports: await import(url) as Record<string, unknown> });
      } catch (error) {
        throw new Error(`--preload ${spec}: cannot import ${url}: ${(error as Error).message}`);
      }
    }
    return new Preloads(modules);
  }

  /** Awaits each module's `daskSetup(worker)`. */
  async setup(worker: PreloadWorkerInfo): Promise<void> {
    await this.#call("daskSetup", worker);
  }

  /** Awaits each module's `daskTeardown(worker)`, in reverse order. */
  async teardown(worker: PreloadWorkerInfo): Promise<void> {
    await this.#call("daskTeardown", worker, true);
  }

  async #call(hook: string, worker: PreloadWorkerInfo, reverse = false): Promise<void> {
    const modules = reverse ? [...this.modules].reverse() : this.modules;
    for (const { url, exports } of modules) {
      const fn = exports[hook];
      if (typeof fn !== "function") continue;
      try {
        await (fn as Hook)(worker);
      } catch (error) {
        throw new Error(`--preload ${url}: ${hook} failed: ${(error as Error).message}`);
      }
    }
  }
}
