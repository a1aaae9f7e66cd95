/**
 * Modules clients uploaded (`client.uploadFile`), by name: the scheduler keeps them for the
 * workers that register later. A second upload under a name replaces the first.
 *
 * @module
 */

import { type UploadFileMsg, uploadProblem } from "../protocol/uploads.ts";

export class UploadedModules {
  readonly #modules = new Map<string, UploadFileMsg>();

  /**
   * Keeps a module; gives the message that hands it to a worker.
   *
   * @throws {TypeError} when the name or source is not acceptable.
   */
  put(name: unknown, source: unknown): UploadFileMsg {
    const problem = uploadProblem(name, source);
    if (problem !== null) throw new TypeError(problem);
    const msg: UploadFileMsg = {
      op: "upload-file",
      name: name as string,
      source: source as string,
    };
    this.#modules.set(msg.name, msg);
    return msg;
  }

  /** The messages that hand a new worker every module uploaded so far. */
  messages(): UploadFileMsg[] {
    return [...this.#modules.values()];
  }
}
