/**
 * Modules for every worker (Dask's `upload_file`): `client.uploadFile(pathOrUrl)` reads a module
 * and hands its source to the scheduler, which gives it to every worker now and to each one
 * that joins later, before any task; tasks load it with `importUploaded(name)` (also reachable
 * as `globalThis.importUploaded` from self-contained task functions). Nothing is written to the
 * workers' disks: the module is imported from a `data:` URL (core/uploaded_modules.ts), so it
 * may import packages by absolute specifier (`npm:`…), not files beside it.
 *
 * @module
 */

import { uploadProblem } from "../protocol/uploads.ts";

// tasks import their uploaded modules through core (task threads must not load the client)
export { importUploaded } from "../core/uploaded_modules.ts";

/** Options of `client.uploadFile`. */
export interface UploadFileOptions {
  /** The name tasks import it by. Default: the file's name (`helpers.ts`). */
  name?: string;
}

/** Reads the module at a path, a `file:` URL or an `http(s):` URL; gives its name and source. */
export async function readModule(
  pathOrUrl: string | URL,
  options: UploadFileOptions = {},
): Promise<{ name: string; source: string }> {
  const text = String(pathOrUrl);
  const isUrl = pathOrUrl instanceof URL || /^[a-z][a-z\d+.-]*:\/\//i.test(text);
  const url = isUrl ? new URL(text) : undefined;
  let source: string;
  try {
    if (url !== undefined && (url.protocol === "http:" || url.protocol === "https:")) {
      const response = await fetch(url);
      if (!response.ok) throw new Error(`HTTP ${response.status} ${response.statusText}`);
      source = await response.text();
    } else {
      source = await Deno.readTextFile(url ?? text);
    }
  } catch (error) {
    throw new Error(
      `client.uploadFile(): cannot read ${text} (${(error as Error).message}); give the path ` +
        `or URL of a module file.`,
      { cause: error },
    );
  }
  const path = url?.pathname ?? text;
  const name = options.name ??
    path.slice(Math.max(path.lastIndexOf("/"), path.lastIndexOf("\\")) + 1);
  const problem = uploadProblem(name, source);
  if (problem !== null) throw new TypeError(`client.uploadFile(): ${problem}.`);
  return { name, source };
}
