/**
 * Seed 001, the array cells: chunked arrays, lazy graphs, blocked algorithms.
 *
 *   deno run -A examples/arrays.ts            the small cells
 *   deno run -A examples/arrays.ts --large    also (x + x.T).sum(axis=0).mean() on 40,000²
 *                                             (12.8 GB of float64, never all in memory)
 */
import { parseArgs } from "node:util";
import { array } from "../mod.ts";
import { shutdownThreads } from "../mod.ts";

const { values: flags } = parseArgs({ options: { large: { type: "boolean", default: false } } });

/** The tasks of a graph by key prefix, a compact stand-in for `visualize()`'s picture. */
async function graphSummary(x: array.DArray): Promise<string> {
  const counts = new Map<string, number>();
  for (const line of (await x.visualize()).text.split("\n")) {
    const label = line.match(/\[label="([^"]+)"/)?.[1];
    if (label !== undefined) counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return [...counts].map(([name, n]) => `${n} × ${name}`).join(", ");
}

// Dask arrays are chunked: arange(1, 50, 3) in blocks of 5
const arr = array.arange(1, 50, 3, { chunks: 5 });
console.log(String(arr));
console.log("dtype:", arr.dtype, " shape:", arr.shape, " chunks:", arr.chunks);
console.log("graph:", await graphSummary(arr));
console.log("computed:", (await arr.compute()).toArray());

// a blocked algorithm: the sum of 4 blocks is 4 partial sums and one aggregate
const x = array.random.random(20, { chunks: 5 });
const total = x.sum();
console.log("\nrandom(20, chunks 5).sum() graph:", await graphSummary(total));
console.log("sum:", await total.compute()); // a number, as Dask gives a NumPy scalar

// NumPy operations on 1000×1000 in 250×500 blocks
const y = array.random.random([1000, 1000], { chunks: [250, 500] });
const result = y.add(y.T).sum({ axis: 0 }).mean();
console.log(`\n(x + x.T).sum(axis=0).mean() on ${String(y)}`);
console.log("graph:", await graphSummary(result));
console.log("result:", await result.compute());

// slicing and fancy indexing, as x[:100, 500:100:-2] and x[:, [10, 1, 5]]
console.log("x[:100, 500:100:-2]:", String(y.get(":100, 500:100:-2")));
console.log("x[:, [10, 1, 5]]:", String(y.get(":, [10, 1, 5]")));

if (flags.large) {
  const big = array.random.random([40_000, 40_000], { chunks: [2_000, 2_000] });
  console.log(`\n${String(big)}: ${(big.nbytes / 1e9).toFixed(1)} GB`);
  const start = performance.now();
  const value = await big.add(big.T).sum({ axis: 0 }).mean().compute({ progress: true });
  console.log(`result: ${value} in ${((performance.now() - start) / 1000).toFixed(1)} s`);
}

shutdownThreads();
