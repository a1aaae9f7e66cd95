/**
 * NDArray kernels of this tree against another checkout's, alternated in one process (so load on
 * a shared machine hits both alike): `deno run -A bench/kernels_against.ts <old checkout dir>`.
 * Prints the median per-call time of each side over 21 alternated calls, and new ÷ old.
 *
 * @module
 */
import { pathToFileURL } from "node:url";

type Kernels = typeof import("../collections/array/kernels/mod.ts");
type Random = typeof import("../collections/array/kernels/random.ts");

const dir = Deno.args[0];
if (dir === undefined) {
  console.error("usage: deno run -A bench/kernels_against.ts <directory of the other checkout>");
  Deno.exit(2);
}
const base = pathToFileURL(`${Deno.realPathSync(dir)}/`);
const sides: [string, Kernels, Random][] = [
  [
    "old",
    await import(new URL("collections/array/kernels/mod.ts", base).href),
    await import(
      new URL("collections/array/kernels/random.ts", base).href
    ),
  ],
  [
    "new",
    await import("../collections/array/kernels/mod.ts"),
    await import(
      "../collections/array/kernels/random.ts"
    ),
  ],
];
const N = 8 * 1024 * 1024;
// each side computes on its own arrays: the two NDArray classes are distinct
const inputs = sides.map(([, k]) => ({
  x: k.arange(0, N),
  y: k.ones([N]),
  m: k.reshape(k.arange(0, 512 * 512), [512, 512]),
}));
type Inputs = (typeof inputs)[number];
const cases: [string, (k: Kernels, r: Random, i: Inputs) => unknown][] = [
  ["sum(x), 8M", (k, _r, i) => k.sum(i.x)],
  ["add(x, y), 8M", (k, _r, i) => k.add(i.x, i.y)],
  ["matmul 512²", (k, _r, i) => k.matmul(i.m, i.m)],
  ["random 8M", (_k, r) => r.randomBlock([N], { kind: "uniform", low: 0, high: 1 }, 1, 0)],
];
const median = (a: number[]) => a.sort((p, q) => p - q)[a.length >> 1];
for (const [name, fn] of cases) {
  const times: number[][] = [[], []];
  for (let s = 0; s < 2; s++) for (let w = 0; w < 3; w++) fn(sides[s][1], sides[s][2], inputs[s]);
  for (let round = 0; round < 21; round++) {
    for (const s of round % 2 === 0 ? [0, 1] : [1, 0]) {
      const t0 = performance.now();
      fn(sides[s][1], sides[s][2], inputs[s]);
      times[s].push(performance.now() - t0);
    }
  }
  const [old, now] = times.map(median);
  console.log(
    `${name.padEnd(14)} old ${old.toFixed(2)} ms  new ${now.toFixed(2)} ms  new/old ${
      (now / old).toFixed(3)
    }`,
  );
}
