/**
 * Colours: one per task prefix (stable across the dashboard, `visualize` and the performance
 * report, so `inc` looks the same everywhere) and one per task state.
 *
 * @module
 */

/**
 * Sixteen distinguishable colours (Tableau's Category20 without its reds and oranges, which mark
 * errors, transfers and spills), strong shades first.
 */
const PREFIX_COLORS = [
  "#1f77b4",
  "#2ca02c",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#17becf",
  "#bcbd22",
  "#7f7f7f",
  "#aec7e8",
  "#98df8a",
  "#c5b0d5",
  "#c49c94",
  "#f7b6d2",
  "#9edae5",
  "#dbdb8d",
  "#c7c7c7",
];

/**
 * FNV-1a hash of a string: cheap, and spreads similar names apart.
 * @param {string} text
 * @returns {number}
 */
function hash(text) {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * The colour of a task prefix (a function's name), as `#rrggbb`.
 * @param {string} prefix
 * @returns {string}
 */
export function prefixColor(prefix) {
  return PREFIX_COLORS[hash(prefix) % PREFIX_COLORS.length];
}

/**
 * Colours of the scheduler's task states (Dask's: processing green, memory red, erred black).
 * @type {Readonly<Record<string, string>>}
 */
export const STATE_COLORS = Object.freeze({
  released: "#8da0cb",
  waiting: "#d0d4d9",
  queued: "#a8b0b9",
  "no-worker": "#f0a030",
  processing: "#2ca02c",
  memory: "#d62728",
  erred: "#111111",
  forgotten: "#eeeeee",
});

/** Colours of the task stream's marks. */
export const MARK_COLORS = Object.freeze({
  transfer: "#d62728",
  spill: "#f0a030",
  unspill: "#9467bd",
  erred: "#111111",
});
