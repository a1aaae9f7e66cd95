/**
 * Byte sizes as people write them (`4GB`, `512MiB`, `auto`) and as logs print them.
 *
 * @module
 */

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  m: 1e6,
  mb: 1e6,
  g: 1e9,
  gb: 1e9,
  t: 1e12,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/**
 * Parses a memory limit: a number of bytes (`4000000000`), a size with a unit (`4GB`, `4 gb`,
 * `512MiB`, `1.5TB`; decimal units are powers of 1000, `iB` units powers of 1024), `0` or `none`
 * for no limit, or `auto`: the machine's memory shared by threads, `total × min(1, nthreads /
 * cores)`. `totalMemory` is asked for only when `auto` needs it.
 *
 * @throws {TypeError} naming the accepted forms when the text is none of them.
 */
export function parseMemoryLimit(
  text: string,
  auto: { nthreads: number; cores: number; totalMemory: () => number },
): number {
  const trimmed = text.trim().toLowerCase();
  if (trimmed === "auto") {
    const share = Math.min(1, auto.nthreads / Math.max(1, auto.cores));
    return Math.floor(auto.totalMemory() * share);
  }
  if (trimmed === "none") return 0;
  const match = /^(\d+(?:\.\d+)?|\.\d+)(?:e(\d+))?\s*([a-z]*)$/.exec(trimmed);
  const unit = match === null ? undefined : UNITS[match[3]];
  if (match === null || unit === undefined) {
    throw new TypeError(
      `Invalid memory limit ${JSON.stringify(text)}: expected bytes (4000000000), a size with a ` +
        `unit (4GB, 512MiB, 1.5TB), "auto" (a share of this machine's memory) or 0/"none" ` +
        `(no limit).`,
    );
  }
  const mantissa = Number(match[1]) * (match[2] === undefined ? 1 : 10 ** Number(match[2]));
  return Math.floor(mantissa * unit);
}

/** `4.00 GB`, `512.00 MB`, `12 B`: decimal units, two decimals. */
export function formatBytes(bytes: number): string {
  const units = ["kB", "MB", "GB", "TB", "PB"];
  if (Math.abs(bytes) < 1000) return `${bytes} B`;
  let value = bytes;
  let unit = "B";
  for (const next of units) {
    if (Math.abs(value) < 1000) break;
    value /= 1000;
    unit = next;
  }
  return `${value.toFixed(2)} ${unit}`;
}
