/**
 * Number formatting shared by the dashboard's pages (and by the performance report).
 *
 * @module
 */

const BYTE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];

/**
 * Bytes as `12.3 MiB`.
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes(bytes) {
  if (!Number.isFinite(bytes) || bytes < 0) return "–";
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < BYTE_UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 2 : 1)} ${BYTE_UNITS[unit]}`;
}

/**
 * A duration as `850 µs`, `12 ms`, `1.5 s`, `3m04s` or `2h05m`.
 * @param {number} seconds
 * @returns {string}
 */
export function formatDuration(seconds) {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.max(0, seconds);
  if (s === 0) return "0 s";
  if (s < 1e-3) return `${(s * 1e6).toFixed(0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 0.01 ? 2 : 0)} ms`;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.floor(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * A count with thousands separators.
 * @param {number} n
 * @returns {string}
 */
export function formatCount(n) {
  return Number.isFinite(n) ? COUNT_FORMAT.format(Math.round(n)) : "–";
}

/** One formatter for every count: `toLocaleString` builds a new one per call (slow in pages). */
const COUNT_FORMAT = new Intl.NumberFormat("en-US");

/**
 * A wall-clock time (seconds since the epoch) as `HH:MM:SS`.
 * @param {number} seconds
 * @returns {string}
 */
export function formatClock(seconds) {
  const d = new Date(seconds * 1000);
  return [d.getHours(), d.getMinutes(), d.getSeconds()]
    .map((n) => String(n).padStart(2, "0"))
    .join(":");
}
