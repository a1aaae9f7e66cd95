/**
 * The permissions a worker process needs, and how it gets them: granted by flags, asked for on a
 * terminal, or — without a terminal to ask on — named in one line so the operator can pass them.
 *
 * A worker needs the network without restriction (it listens, reaches the scheduler, and fetches
 * from peers wherever they run) and reading files without restriction (its threads load their
 * entry module and the modules that task functions come from, and tasks read their inputs).
 * Measuring the machine's memory for `--memory-limit auto` needs `sys: systemMemoryInfo`.
 *
 * @module
 */

/** One permission the worker needs, with the flag that grants it. */
export interface PermissionNeed {
  descriptor: Deno.PermissionDescriptor;
  flag: string;
  why: string;
}

/** What a worker needs; `systemMemory` when its memory limit is computed from the machine's. */
export function workerPermissions(options: { systemMemory: boolean }): PermissionNeed[] {
  const needs: PermissionNeed[] = [
    {
      descriptor: { name: "net" },
      flag: "--allow-net",
      why: "listen for peers, reach the scheduler and the other workers",
    },
    {
      descriptor: { name: "read" },
      flag: "--allow-read",
      why: "load the thread entry and task modules, let tasks read their inputs",
    },
  ];
  if (options.systemMemory) {
    needs.push({
      descriptor: { name: "sys", kind: "systemMemoryInfo" },
      flag: "--allow-sys=systemMemoryInfo",
      why: "size --memory-limit auto from the machine's memory",
    });
  }
  return needs;
}

/** The outcome: granted, or a one-line explanation naming the flags to pass. */
export type PermissionOutcome = { granted: true } | { granted: false; message: string };

/**
 * Makes sure every need is granted: already (flags), or by asking on the terminal when
 * `interactive`. Without a terminal nothing is asked and the message names every flag.
 */
export async function ensurePermissions(
  needs: PermissionNeed[],
  options: { interactive: boolean; command: string },
): Promise<PermissionOutcome> {
  const missing: PermissionNeed[] = [];
  for (const need of needs) {
    const status = await Deno.permissions.query(need.descriptor);
    if (status.state !== "granted") missing.push(need);
  }
  if (missing.length === 0) return { granted: true };
  const flags = needs.map((need) => need.flag).join(" ");
  const explain = (refused: PermissionNeed[]) =>
    `worker needs permissions it was not given (${
      refused.map((need) => `${need.descriptor.name}: ${need.why}`).join("; ")
    }): run \`deno run ${flags} ${options.command}\` (or -A)`;
  if (!options.interactive) return { granted: false, message: explain(missing) };
  const refused: PermissionNeed[] = [];
  for (const need of missing) {
    const status = await Deno.permissions.request(need.descriptor);
    if (status.state !== "granted") refused.push(need);
  }
  return refused.length === 0 ? { granted: true } : { granted: false, message: explain(refused) };
}
