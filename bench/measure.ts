/**
 * Small helpers the benchmarks share: timing, peak memory, and a uniform line format.
 */

/** Peak resident set size of this process so far, in bytes (Linux; 0 where unknown). */
export function peakRss(): number {
  try {
    const status = Deno.readTextFileSync("/proc/self/status");
    const match = status.match(/VmHWM:\s+(\d+) kB/);
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** The middle value of `values` (the upper of the two middle ones for an even count). */
export function median(values: readonly number[]): number {
  return values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)];
}

/** Formats bytes as MB with one decimal. */
export function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

/** Runs `work` `repeat` times and returns the best wall time in ms (after one warm-up). */
export async function bestOf(
  repeat: number,
  work: () => Promise<unknown> | unknown,
): Promise<number> {
  await work();
  let best = Infinity;
  for (let i = 0; i < repeat; i++) {
    const start = performance.now();
    await work();
    best = Math.min(best, performance.now() - start);
  }
  return best;
}

/** Prints one figure: name, value, unit, and the target it is held to. */
export function report(name: string, value: string, target = ""): void {
  console.log(`${name.padEnd(58)} ${value.padStart(14)}${target ? `   (target ${target})` : ""}`);
}

/**
 * Seconds of the first run after `reset` (a fresh pool: cold, as a user's script sees it) and the
 * median of `warmRuns` runs after one unmeasured run (warm).
 */
export async function coldAndWarm(
  work: () => Promise<void>,
  reset: () => Promise<void>,
  warmRuns: number,
): Promise<{ cold: number; warm: number }> {
  await reset();
  const time = async () => {
    const start = performance.now();
    await work();
    return (performance.now() - start) / 1000;
  };
  const cold = await time();
  await work();
  const warm: number[] = [];
  for (let i = 0; i < warmRuns; i++) warm.push(await time());
  warm.sort((a, b) => a - b);
  return { cold, warm: warm[Math.floor(warm.length / 2)] };
}
