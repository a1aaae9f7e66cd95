import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import type { DType, NDArray } from "../../core/ndarray.ts";
import {
  ALL_DTYPES,
  assertArray,
  coerce,
  flatIndex,
  indicesOf,
  Random,
  randomArray,
  randomShape,
  type Ref,
  refOf,
} from "./ndarray_reference.ts";

/** Groups the values of `ref` by their position with `axes` removed (plain loops). */
function groups(
  ref: Ref,
  axes: number[],
  keepdims: boolean,
): { shape: number[]; lists: number[][] } {
  const kept = ref.shape.map((n, i) => (axes.includes(i) ? 1 : n));
  const lists = indicesOf(kept).map(() => [] as number[]);
  indicesOf(ref.shape).forEach((ix, p) => {
    const at = ix.map((v, i) => (axes.includes(i) ? 0 : v));
    lists[flatIndex(at, kept)].push(ref.values[p]);
  });
  const shape = keepdims ? kept : ref.shape.filter((_, i) => !axes.includes(i));
  return { shape, lists };
}

const floatOr = (dtype: DType, other: DType): DType => (dtype.startsWith("float") ? dtype : other);
const meanOf = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
const varOf = (xs: number[], ddof: number) =>
  xs.reduce((s, x) => s + (x - meanOf(xs)) ** 2, 0) / Math.max(xs.length - ddof, 0);

interface Case {
  fn: (a: NDArray, o: k.VarianceOptions) => NDArray;
  ref: (xs: number[], ddof: number) => number;
  dtype: (d: DType) => DType;
  needsElements?: boolean;
}

const CASES: Record<string, Case> = {
  sum: {
    fn: k.sum,
    ref: (xs) => xs.reduce((s, x) => s + x, 0),
    dtype: (d) => floatOr(d, "float64"),
  },
  prod: {
    fn: k.prod,
    ref: (xs) => xs.reduce((s, x) => s * x, 1),
    dtype: (d) => floatOr(d, "float64"),
  },
  mean: { fn: k.mean, ref: meanOf, dtype: (d) => (d === "float32" ? d : "float64") },
  variance: { fn: k.variance, ref: varOf, dtype: (d) => (d === "float32" ? d : "float64") },
  std: {
    fn: k.std,
    ref: (xs, ddof) => Math.sqrt(varOf(xs, ddof)),
    dtype: (d) => (d === "float32" ? d : "float64"),
  },
  min: { fn: k.min, ref: (xs) => Math.min(...xs), dtype: (d) => d, needsElements: true },
  max: { fn: k.max, ref: (xs) => Math.max(...xs), dtype: (d) => d, needsElements: true },
  any: { fn: k.any, ref: (xs) => +xs.some((x) => x !== 0), dtype: () => "bool" },
  all: { fn: k.all, ref: (xs) => +xs.every((x) => x !== 0), dtype: () => "bool" },
};

/** A random `axis` option: all, one (maybe negative) or several, and the normalised list. */
function randomAxes(
  r: Random,
  ndim: number,
): { axis: number | number[] | undefined; axes: number[] } {
  const all = Array.from({ length: ndim }, (_, i) => i);
  const mode = r.int(0, 2);
  if (mode === 0 || ndim === 0) return { axis: undefined, axes: all };
  if (mode === 1) {
    const a = r.int(0, ndim - 1);
    return { axis: r.bool() ? a - ndim : a, axes: [a] };
  }
  const axes = all.filter(() => r.bool());
  return { axis: [...axes].reverse(), axes };
}

Deno.test("reductions over random axes with keepdims match plain-loop references", () => {
  const r = new Random(4242);
  for (let iter = 0; iter < 500; iter++) {
    const name = r.pick(Object.keys(CASES));
    const c = CASES[name];
    const dtype = r.pick(ALL_DTYPES);
    const a = randomArray(r, randomShape(r), dtype, name === "prod" ? 3 : 9);
    const { axis, axes } = randomAxes(r, a.ndim);
    const keepdims = r.bool(), ddof = r.int(0, 1);
    const context = `${name}(${dtype}${JSON.stringify(a.shape)}, axis=${JSON.stringify(axis)}, ` +
      `keepdims=${keepdims}, ddof=${ddof}) #${iter}`;
    const g = groups(refOf(a), axes, keepdims);
    if (c.needsElements && g.lists.some((xs) => xs.length === 0)) {
      assert.throws(() => c.fn(a, { axis, keepdims }), /zero-size array/, context);
      continue;
    }
    const result = c.fn(a, { axis, keepdims, ddof });
    const outType = c.dtype(dtype);
    assertArray(
      result,
      {
        shape: g.shape,
        dtype: outType,
        values: g.lists.map((xs) => coerce(c.ref(xs, ddof), outType)),
      },
      context,
      1e-9,
    );
  }
});

Deno.test("argmin and argmax: first extreme along an axis or flattened, int32 indices", () => {
  const r = new Random(5);
  for (let iter = 0; iter < 200; iter++) {
    const dtype = r.pick(ALL_DTYPES);
    const a = randomArray(r, randomShape(r).map((n) => n || 1), dtype, 3);
    const flat = a.ndim === 0 || r.bool(0.3);
    const axis = flat ? undefined : r.int(0, a.ndim - 1);
    const ref = refOf(a);
    const g = groups(ref, flat ? ref.shape.map((_, i) => i) : [axis!], false);
    const lists = flat ? [ref.values] : g.lists;
    for (
      const [fn, better] of [[k.argmax, (x: number, y: number) => x > y], [
        k.argmin,
        (x: number, y: number) => x < y,
      ]] as const
    ) {
      const result = fn(a, { axis });
      const values = lists.map((xs) =>
        xs.reduce((best, x, i) => (better(x, xs[best]) ? i : best), 0)
      );
      assertArray(
        result,
        { shape: flat ? [] : g.shape, dtype: "int32", values },
        `#${iter} axis=${axis}`,
      );
    }
  }
  const withNaN = k.fromNested([[1, NaN, 3, NaN], [4, 2, 9, 0]]);
  assert.deepEqual(k.argmax(withNaN, { axis: 1 }).toArray(), [1, 2]);
  assert.deepEqual(k.argmin(withNaN, { axis: 1, keepdims: true }).toArray(), [[1], [3]]);
  assert.equal(k.argmax(withNaN).get(), 1);
  assert.throws(() => k.argmax(k.zeros([2, 0]), { axis: 1 }), /empty sequence/);
});

Deno.test("cumsum and cumprod along an axis or flattened", () => {
  const r = new Random(11);
  for (let iter = 0; iter < 150; iter++) {
    const dtype = r.pick(ALL_DTYPES);
    const a = randomArray(r, randomShape(r), dtype, 3);
    const flat = a.ndim === 0 || r.bool(0.3);
    const axis = flat ? undefined : r.int(-a.ndim, a.ndim - 1);
    const ax = axis === undefined ? 0 : axis < 0 ? axis + a.ndim : axis;
    const ref = refOf(a);
    const shape = flat ? [ref.values.length] : ref.shape;
    const isSum = r.bool();
    const outType = floatOr(dtype, "float64");
    const values = indicesOf(shape).map((ix) => {
      let acc = isSum ? 0 : 1;
      for (let j = 0; j <= ix[ax]; j++) {
        const at = [...ix];
        at[ax] = j;
        const x = ref.values[flatIndex(at, shape)];
        acc = coerce(isSum ? acc + x : acc * x, outType);
      }
      return acc;
    });
    const result = (isSum ? k.cumsum : k.cumprod)(a, { axis });
    assertArray(
      result,
      { shape, dtype: outType, values },
      `#${iter} ${isSum ? "cumsum" : "cumprod"}`,
    );
  }
});

Deno.test("reductions name bad axes and handle empty inputs like NumPy", () => {
  const a = k.zeros([2, 3]);
  assert.throws(() => k.sum(a, { axis: 2 }), {
    message: "axis 2 is out of bounds for array of dimension 2",
  });
  assert.throws(() => k.sum(a, { axis: [0, -2] }), /duplicate value in 'axis'/);
  assert.throws(() => k.max(k.zeros([0])), /zero-size array to reduction operation maximum/);
  assert.equal(k.sum(k.zeros([0])).get(), 0);
  assert.equal(k.prod(k.zeros([0])).get(), 1);
  assert.ok(Number.isNaN(k.mean(k.zeros([0])).get()));
  assert.deepEqual(k.max(k.zeros([0, 3]), { axis: 1 }).shape, [0]);
  assert.equal(k.all(k.zeros([0])).get(), 1);
  assert.ok(Number.isNaN(k.max(k.fromNested([1, NaN, 2])).get()));
  assert.equal(k.variance(k.fromNested([1, 2, 3, 4]), { ddof: 1 }).get(), 5 / 3);
  assert.equal(k.std(k.fromNested([2, 4, 4, 4, 5, 5, 7, 9])).get(), 2);
});

Deno.test("sum of float32 accumulates in float64; integer sums do not overflow", () => {
  const x = k.full([1 << 20], 0.1, "float32");
  assert.equal(k.sum(x).get(), Math.fround((1 << 20) * Math.fround(0.1)));
  assert.equal(k.sum(k.full([1000], 2147483647, "int32")).get(), 2147483647000);
});
