/**
 * The task stream as the live feed sends it: one array per field rather than one array per run,
 * prefixes and workers named once in a table, times in milliseconds after `t0` (what the server
 * side's views.ts `taskStreamColumns` writes). A page reads it back into runs here.
 *
 * @module
 */

/**
 * @typedef {object} TaskColumns
 * @property {number} t0 seconds (server clock) the times count from
 * @property {string[]} key
 * @property {string[]} prefixes the prefix names `prefix` points into
 * @property {number[]} prefix
 * @property {string[]} workers the worker addresses `worker` points into
 * @property {number[]} worker
 * @property {number[]} thread
 * @property {number[]} start milliseconds after t0
 * @property {number[]} stop milliseconds after t0
 * @property {number[]} erred 1 when the run failed
 * @property {number[]} count runs a coalesced entry stands for
 */

/**
 * The runs of `columns` as `[key, prefix, worker, thread, start, stop, erred, count]`, times in
 * seconds of the server clock.
 * @param {TaskColumns} columns
 * @returns {[string, string, string, number, number, number, 0 | 1, number][]}
 */
export function runsOfColumns(columns) {
  const { t0, key, prefixes, prefix, workers, worker, thread, start, stop, erred, count } = columns;
  /** @type {[string, string, string, number, number, number, 0 | 1, number][]} */
  const runs = new Array(key.length);
  for (let i = 0; i < key.length; i++) {
    runs[i] = [
      key[i],
      prefixes[prefix[i]],
      workers[worker[i]],
      thread[i],
      t0 + start[i] / 1000,
      t0 + stop[i] / 1000,
      erred[i] === 1 ? 1 : 0,
      count[i],
    ];
  }
  return runs;
}
