/**
 * The modules clients uploaded (`client.uploadFile`), as a task thread holds them: by name, as
 * `data:` URLs of their source, which `import()` loads without a file or a permission (a module
 * loaded so resolves only absolute imports: `npm:`, `jsr:`, `https:`). Kept under a global
 * symbol, so a task module that imports the library from another URL sees the same ones.
 *
 * @module
 */

import { currentTask, threadSlot } from "./task_context.ts";

const MEDIA_TYPES: Record<string, string> = {
  ts: "application/typescript",
  mts: "application/typescript",
  tsx: "text/tsx",
  jsx: "text/jsx",
  js: "text/javascript",
  mjs: "text/javascript",
};

function registry(): Map<string, string> {
  return threadSlot("uploaded-modules", () => new Map<string, string>());
}

/** The `data:` URL of a module's source, typed by its name's extension (JavaScript if none). */
export function moduleDataUrl(name: string, source: string): string {
  const extension = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1) : "";
  const type = MEDIA_TYPES[extension] ?? "text/javascript";
  const bytes = new TextEncoder().encode(source);
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return `data:${type};base64,${btoa(binary)}`;
}

/** Keeps uploaded modules (the thread entry, when its worker gets them). */
export function addUploadedModules(modules: Record<string, string>): void {
  const known = registry();
  for (const [name, source] of Object.entries(modules)) {
    known.set(name, moduleDataUrl(name, source));
  }
}

/** The `data:` URL of uploaded module `name`, or undefined when none was uploaded here. */
export function uploadedModuleUrl(name: string): string | undefined {
  return registry().get(name);
}

/** The names of the modules uploaded here. */
export function uploadedModuleNames(): string[] {
  return [...registry().keys()];
}

/**
 * Imports module `name`, uploaded with `client.uploadFile`, inside a task (the module of the
 * same name last uploaded before the task ran).
 *
 * @example
 * ```ts
 * import { Client, importUploaded, taskModule } from "./mod.ts";
 *
 * export const { useHelper } = taskModule(import.meta.url, {
 *   useHelper: async (x: number) => {
 *     const helpers = await importUploaded<{ double(x: number): number }>("helpers.ts");
 *     return helpers.double(x);
 *   },
 * });
 *
 * if (import.meta.main) {
 *   await using client = await Client.local({ nWorkers: 1 });
 *   await client.uploadFile("./helpers.ts"); // export const double = (x: number) => 2 * x;
 *   console.log(await client.submit(useHelper, 21)); // 42
 * }
 * ```
 *
 * @throws when called outside a task, or when no module of that name was uploaded.
 */
export async function importUploaded<T = Record<string, unknown>>(name: string): Promise<T> {
  if (currentTask() === undefined) {
    throw new Error(
      `importUploaded(${JSON.stringify(name)}) works inside a task on a worker; here, import ` +
        `the file itself.`,
    );
  }
  const url = uploadedModuleUrl(name);
  if (url === undefined) {
    const known = uploadedModuleNames();
    throw new Error(
      `No module named ${JSON.stringify(name)} was uploaded to this worker (uploaded: ` +
        `${known.length === 0 ? "none" : known.join(", ")}); upload it first with ` +
        `client.uploadFile(path).`,
    );
  }
  return await import(url) as T;
}
