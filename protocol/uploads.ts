/**
 * `client.uploadFile`: a module's source the scheduler keeps and hands every worker — those
 * connected now and every one that registers later, right after its registration, before any
 * task — so tasks can import it (client/uploads.ts).
 *
 * @module
 */

/** Scheduler → worker: the module `name` (its whole source). */
export interface UploadFileMsg {
  op: "upload-file";
  name: string;
  source: string;
}

/** Why a module upload cannot be taken, or null. */
export function uploadProblem(name: unknown, source: unknown): string | null {
  if (typeof name !== "string" || !/^[\w.-]+$/.test(name) || name.startsWith(".")) {
    return `an uploaded module's name must be a file name (letters, digits, _ . -), got ` +
      `${JSON.stringify(name)}`;
  }
  if (typeof source !== "string") return `the source of uploaded module ${name} is not text`;
  return null;
}
