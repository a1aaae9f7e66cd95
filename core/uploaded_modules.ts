/**
 * The modules clients uploaded (`client.uploadFile`), as a task thread holds them: by name, as
 * `data:` URLs of their source, which `import()` loads without a file or a permission (a module
 * loaded so resolves only absolute imports: `npm:`, `jsr:`, `https:`). Kept under a global
 * symbol, so a task module that imports the library from another URL sees the same ones.
 *
 * @module
 */

import { threadSlot } from "./task_context.ts";

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
