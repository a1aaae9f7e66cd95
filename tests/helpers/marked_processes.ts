/**
 * Processes found by a marker in their environment (Linux /proc): a test gives the process it
 * starts a unique variable, which every descendant inherits, and checks afterwards that none
 * outlived it — or kills what a failure left behind.
 */

/** Pids of live (not zombie) processes whose environment has `name=value`. */
export function processesWithMarker(name: string, value: string): number[] {
  const found: number[] = [];
  const needle = `${name}=${value}\0`;
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const environ = new TextDecoder().decode(Deno.readFileSync(`/proc/${entry.name}/environ`));
      if (!`${environ}\0`.includes(needle)) continue;
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      if (!/\) Z /.test(stat)) found.push(Number(entry.name)); // a zombie is already gone
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

/** SIGKILLs the processes with the marker; returns their pids. */
export function killMarked(name: string, value: string): number[] {
  const pids = processesWithMarker(name, value);
  for (const pid of pids) {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  return pids;
}
