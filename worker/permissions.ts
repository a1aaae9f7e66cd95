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

/** What a worker process needs, given the options it was started with. */
export interface WorkerPermissionOptions {
  /** Its memory limit is computed from the machine's (`--memory-limit auto`). */
  systemMemory: boolean;
  /** It may spill to disk: into this folder, or the system's temporary folder when null. */
  spillDirectory?: string | null;
  /** Files it writes besides spilling (`--pid-file`). */
  writeFiles?: string[];
  /** It supervises worker processes (`--nworkers`, `--lifetime`): it runs Deno. */
  runsWorkers?: boolean;
}

/**
 * Everything a worker needs, all at once, so an operator without a terminal learns every flag
 * from one message.
 */
export function workerPermissions(options: WorkerPermissionOptions): PermissionNeed[] {
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
  // Writing: everywhere (spilling to the temporary folder), or to the paths that need it.
  const spill = options.spillDirectory;
  const writes = [
    ...(spill === undefined || spill === null
      ? []
      : [{ path: spill, why: "spill values beyond the memory limit to disk" }]),
    ...(options.writeFiles ?? []).map((path) => ({ path, why: `write ${path}` })),
  ];
  if (spill === null) {
    needs.push({
      descriptor: { name: "write" },
      flag: "--allow-write",
      why: "spill values beyond the memory limit to the temporary folder" +
        writes.map((w) => `, ${w.why}`).join(""),
    });
  } else if (writes.length > 0) {
    const flag = `--allow-write=${writes.map((w) => w.path).join(",")}`;
    for (const write of writes) {
      needs.push({ descriptor: { name: "write", path: write.path }, flag, why: write.why });
    }
  }
  if (options.runsWorkers) {
    needs.push({
      descriptor: { name: "run" },
      flag: "--allow-run",
      why: "start and supervise the worker processes (--nworkers, --lifetime)",
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
  const flags = [...new Set(needs.map((need) => need.flag))].join(" ");
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

/**
 * Deno's npm package cache on this machine (`$DENO_DIR/npm`, else under the platform's default
 * cache folder), or null when it cannot be told (no permission to read the environment).
 */
export function denoNpmCache(): string | null {
  // never prompt for env just for this (a worker on a terminal asks only for what it must have)
  if (Deno.permissions.querySync({ name: "env" }).state !== "granted") return null;
  const env = (name: string) => Deno.env.get(name) || undefined;
  const windows = Deno.build.os === "windows";
  const join = (...parts: string[]) => parts.join(windows ? "\\" : "/");
  const home = env("HOME") ?? env("USERPROFILE");
  const cache = windows
    ? env("LOCALAPPDATA")
    : Deno.build.os === "darwin"
    ? home && join(home, "Library", "Caches")
    : env("XDG_CACHE_HOME") ?? (home && join(home, ".cache"));
  const denoDir = env("DENO_DIR") ?? (cache && join(cache, "deno"));
  return denoDir === undefined ? null : join(denoDir, "npm");
}
