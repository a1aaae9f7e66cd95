/**
 * When to choose the `processes` scheduler over `threads`.
 *
 * Threads (Web Workers) share one process: its working directory, its environment, its memory
 * limit, and its life. Choose `processes` when a task
 *   - changes process-wide state (`Deno.chdir`, `Deno.env.set`, a native library's globals):
 *     each worker process has its own, so tasks cannot trip over each other or the caller;
 *   - may end its process (a library calling `Deno.exit`, a crash, running out of memory):
 *     only that task fails, with a `ProcessDiedError`, and the pool starts a new process.
 * The price: every task's inputs and result are copied through a pipe, and the processes take a
 * moment to start once (they are then reused). For plain computation `threads` is faster.
 *
 *   deno run -A examples/processes.ts
 */

import { compute, delayed, ProcessDiedError, shutdownProcesses } from "../mod.ts";

/** Writes `text` to a relative path after moving into `dir`: fine in a process of its own. */
export function writeInside(dir: string, text: string): string {
  Deno.chdir(dir); // process-wide: on threads this would move every thread and the caller
  Deno.writeTextFileSync("note.txt", text);
  return Deno.cwd();
}

/** Stands for a library that gives up by ending the process. */
export function fragileParse(input: string): number {
  if (input === "") Deno.exit(2);
  return input.length;
}

if (import.meta.main) {
  const dirs = [Deno.makeTempDirSync(), Deno.makeTempDirSync()];
  const cwd = Deno.cwd();
  const where = await compute(
    ...dirs.map((dir, i) => delayed(writeInside)(dir, `note ${i}`)),
    { scheduler: "processes", numWorkers: 2 },
  );
  console.log(
    "tasks worked in",
    where,
    "- this script is still in",
    Deno.cwd() === cwd ? "its own" : "another",
    "directory",
  );

  const parsed = ["alpha", "", "gamma"].map((s) => delayed(fragileParse)(s));
  for (const part of parsed) {
    try {
      console.log("parsed:", await part.compute({ scheduler: "processes", numWorkers: 2 }));
    } catch (error) {
      if (!(error instanceof ProcessDiedError)) throw error;
      console.log(`a task ended its process (exit code ${error.exitCode}); the others go on`);
    }
  }
  for (const dir of dirs) Deno.removeSync(dir, { recursive: true });
  await shutdownProcesses();
}
