/**
 * The environment our own Deno child processes (scheduler, workers, the `processes` pool's
 * children) start with: glibc's allocator told to back its large blocks with transparent huge
 * pages (`GLIBC_TUNABLES=glibc.malloc.hugetlb=1`, glibc 2.35+).
 *
 * Why: a worker receives a large value into fresh memory, and on virtual machines the first
 * touch of each 4 KiB page is a costly fault. Measured on this project's 2-core VM: filling a
 * fresh 200 MB `Float64Array` took 450–750 ms against 9 ms for the same array touched before; a
 * 200 MB worker → worker transfer ran at 90–180 MB/s without the setting and 260–1,540 MB/s with
 * it, while an idle worker's RSS and a 10,000-task map stayed the same (docs/architecture.md,
 * "Huge pages for large buffers"). Only the allocator's memory is affected: V8's heap maps its own.
 *
 * A user's own `GLIBC_TUNABLES` is kept; one that already sets `glibc.malloc.hugetlb` (to 0, say)
 * wins. Other C libraries and systems ignore the variable.
 *
 * @module
 */

const HUGE_PAGES_TUNABLE = "glibc.malloc.hugetlb=1";

/**
 * `env` (the variables a child is started with, beside the inherited ones) plus the allocator
 * tunable, unless `env` or this process's environment already sets `glibc.malloc.hugetlb`.
 */
export function withHugePageAllocator(
  env: Record<string, string> = {},
): Record<string, string> {
  if (Deno.build.os !== "linux") return env;
  const current = env.GLIBC_TUNABLES ?? inheritedTunables();
  if (current?.includes("glibc.malloc.hugetlb")) return env;
  const tunables = current ? `${current}:${HUGE_PAGES_TUNABLE}` : HUGE_PAGES_TUNABLE;
  return { ...env, GLIBC_TUNABLES: tunables };
}

/**
 * This process's GLIBC_TUNABLES, or undefined when unset or not granted: the permission is
 * queried, never asked for (a worker CLI on a terminal must not prompt for it).
 */
function inheritedTunables(): string | undefined {
  try {
    const query = { name: "env", variable: "GLIBC_TUNABLES" } as const;
    if (Deno.permissions.querySync(query).state !== "granted") return undefined;
    return Deno.env.get("GLIBC_TUNABLES");
  } catch {
    return undefined;
  }
}
