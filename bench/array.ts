/**
 * Array collection benchmarks (issue 5): the seed-001 expression `(x + x.T).sum(axis=0).mean()`
 * on the local threads and on a local 2-worker cluster, beside Dask 2022.12 + NumPy on the same
 * machine, and the same expression on an array larger than memory, with the peak resident
 * memory of the process that ran it.
 *
 *   deno run -A bench/array.ts            all figures
 *   deno run -A bench/array.ts --large    only the 12.8 GB run (in a child process)
 */
import { benchArgs } from "./cli.ts";
import { array } from "../mod.ts";
import { Client, shutdownThreads } from "../mod.ts";
import { collectGraph } from "../collections/collection.ts";
import { bestOf, mb, peakRss, report } from "./measure.ts";

const { values: flags } = benchArgs({
  options: {
    large: { type: "boolean", default: false },
    "large-child": { type: "boolean", default: false },
  },
}, "deno run -A bench/array.ts [--large]");

/** The seed expression on a random n×n array in `chunk`×`chunk` blocks. */
function seedExpression(n: number, chunk: number): array.Scalar {
  const x = array.random.random([n, n], { chunks: [chunk, chunk], seed: 42 });
  return x.add(x.T).sum({ axis: 0 }).mean();
}

if (flags["large-child"]) {
  // runs in its own process, so its VmHWM is this computation's alone
  const start = performance.now();
  const value = await seedExpression(40_000, 2_000).compute();
  console.log(JSON.stringify({ ms: performance.now() - start, peak: peakRss(), value }));
  shutdownThreads();
  Deno.exit(0);
}

if (!flags.large) {
  const expression = seedExpression(4000, 500);
  const start = performance.now();
  await expression.compute();
  report(
    "(x + x.T).sum(axis=0).mean(), 4000² in 500²: first (starts threads)",
    `${((performance.now() - start) / 1000).toFixed(3)} s`,
  );
  const threads = await bestOf(5, () => expression.compute({ scheduler: "threads" }));
  report(
    "(x + x.T).sum(axis=0).mean(), 4000² in 500²: threads",
    `${(threads / 1000).toFixed(3)} s`,
    "≤ 0.15 s; Dask threads 0.11 s",
  );
  const sync = await bestOf(3, () => expression.compute({ scheduler: "sync" }));
  report(
    "(x + x.T).sum(axis=0).mean(), 4000² in 500²: sync (one thread)",
    `${(sync / 1000).toFixed(3)} s`,
  );
  shutdownThreads();
  {
    await using client = await Client.local({ nWorkers: 2, threadsPerWorker: 1 });
    const cluster = await bestOf(5, () => expression.compute({ scheduler: client }));
    report(
      "(x + x.T).sum(axis=0).mean(), 4000² in 500²: 2-worker cluster",
      `${(cluster / 1000).toFixed(3)} s`,
      "≤ 0.4 s; Dask cluster 0.67 s",
    );
  }
  const tasks = collectGraph([expression.layer()]).size;
  const buildMs = await bestOf(5, () => seedExpression(4000, 500).layer());
  report(`  building and planning its graph (${tasks} tasks)`, `${buildMs.toFixed(2)} ms`);
}

const child = await new Deno.Command(Deno.execPath(), {
  args: ["run", "-A", new URL(import.meta.url).href, "--large-child"],
  stdout: "piped",
  stderr: "inherit",
}).output();
if (child.code !== 0) throw new Error(`the 40,000² run failed (exit code ${child.code})`);
const figures = JSON.parse(new TextDecoder().decode(child.stdout).trim().split("\n").pop()!);
report(
  "(x + x.T).sum(axis=0).mean(), 40,000² in 2,000² (12.8 GB)",
  `${(figures.ms / 1000).toFixed(1)} s`,
);
report("  peak resident memory of that process (VmHWM)", mb(figures.peak), "≤ 2 GB");
