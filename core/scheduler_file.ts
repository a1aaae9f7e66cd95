/**
 * The scheduler file (Dask's `--scheduler-file`): the scheduler writes where it listens to a JSON
 * file on a shared file system; workers and clients read it instead of being given an address.
 *
 * ```json
 * { "type": "Scheduler", "address": "tcp://10.0.0.5:8786", "dashboard": "http://10.0.0.5:8787/status" }
 * ```
 *
 * @module
 */

/** What the scheduler file holds. */
export interface SchedulerFileContents {
  type: "Scheduler";
  address: string;
  dashboard?: string;
  pid?: number;
}

/** Writes the file (through a temporary sibling and a rename, so readers never see half of it). */
export async function writeSchedulerFile(
  path: string,
  contents: Omit<SchedulerFileContents, "type">,
): Promise<void> {
  const temporary = `${path}.${Deno.pid}.tmp`;
  await Deno.writeTextFile(temporary, JSON.stringify({ type: "Scheduler", ...contents }) + "\n");
  await Deno.rename(temporary, path);
}

/**
 * Reads the scheduler's address from the file, waiting for it to appear (the scheduler may start
 * after its workers, as on a batch system) for up to `timeoutSeconds` (default: forever).
 *
 * @throws {Error} naming the file when it holds no scheduler address, or does not appear in time.
 */
export async function readSchedulerFile(
  path: string,
  options: { timeoutSeconds?: number } = {},
): Promise<SchedulerFileContents> {
  const deadline = Date.now() + (options.timeoutSeconds ?? Infinity) * 1000;
  for (let delay = 50;; delay = Math.min(delay * 2, 1000)) {
    let text: string | undefined;
    try {
      text = await Deno.readTextFile(path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    if (text !== undefined) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      const address = (parsed as { address?: unknown } | undefined)?.address;
      if (typeof address !== "string") {
        throw new Error(
          `The scheduler file ${path} holds no scheduler address (expected JSON like ` +
            `{"type":"Scheduler","address":"tcp://host:8786"}); is it the file the scheduler ` +
            `was started with (--scheduler-file)?`,
        );
      }
      return parsed as SchedulerFileContents;
    }
    if (Date.now() >= deadline) {
      throw new Error(
        `The scheduler file ${path} did not appear within ${options.timeoutSeconds} s: start ` +
          `the scheduler with --scheduler-file ${path} (on a file system this machine shares).`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
  }
}
