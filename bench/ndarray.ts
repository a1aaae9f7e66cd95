/**
 * Throughput of the NDArray chunk kernels, one thread: `deno run -A bench/ndarray.ts`.
 *
 * Figures are bytes of input read per second, best of five runs after a warm-up. Element-wise
 * timings include allocating the result; most of that time is the kernel touching fresh pages.
 *
 * @module
 */
import {
  add,
  arange,
  astype,
  matmul,
  multiply,
  type NDArray,
  ones,
  reshape,
  slice,
  sum,
  transpose,
} from "../collections/array/kernels/mod.ts";

const ELEMENTS = (64 * 1024 * 1024) / 8;
const ROUNDS = 5;

/** The best of ROUNDS timings of `fn`, in milliseconds. */
function best(fn: () => unknown): number {
  fn(); // compiles the kernel and warms up V8
  let ms = Infinity;
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    fn();
    ms = Math.min(ms, performance.now() - t0);
  }
  return ms;
}

function report(name: string, bytes: number, fn: () => unknown): void {
  const ms = best(fn);
  const rate = (bytes / (ms / 1000) / 1e9).toFixed(2);
  console.log(`${name.padEnd(46)} ${ms.toFixed(1).padStart(7)} ms ${rate.padStart(6)} GB/s`);
}

const x: NDArray = multiply(arange(ELEMENTS, undefined, 1, "float64"), 0.5);
const y: NDArray = add(x, 1);
const bytes = x.nbytes;
console.log(`float64 inputs of ${ELEMENTS} elements (${bytes / 2 ** 20} MiB each)`);
report("add(x, y)            [input: x and y]", 2 * bytes, () => add(x, y));
report("add(x, 1)            [input: x]", bytes, () => add(x, 1));
report("sum(x)", bytes, () => sum(x));
const m = reshape(x, [2048, ELEMENTS / 2048]);
report("sum(m, {axis: 0})    [2048 rows]", bytes, () => sum(m, { axis: 0 }));
report("sum(m, {axis: 1})", bytes, () => sum(m, { axis: 1 }));
const cube = reshape(x, [256, 256, ELEMENTS / 256 / 256]);
report("add(t, t), t = transposed view [strided]", 2 * bytes, () => {
  const t = transpose(cube, [1, 0, 2]);
  return add(t, t);
});
report(
  "sum(slice(m, ::-1, ::2)) [strided view]",
  bytes / 2,
  () => sum(slice(m, [{ step: -1 }, { step: 2 }])),
);
const x32 = astype(x, "float32"), y32 = astype(y, "float32");
report("add(x32, y32)        [float32]", x32.nbytes * 2, () => add(x32, y32));

const n = 512;
const a = ones([n, n]), b = ones([n, n]);
const ms = best(() => matmul(a, b));
console.log(
  `${"matmul 512x512 float64".padEnd(46)} ${ms.toFixed(1).padStart(7)} ms ${
    (2 * n ** 3 / (ms / 1000) / 1e9).toFixed(2).padStart(6)
  } GFLOP/s`,
);
