import assert from "node:assert/strict";
import * as k from "../../collections/array/kernels/mod.ts";
import {
  ALL_DTYPES,
  assertArray,
  flatIndex,
  indicesOf,
  Random,
  randomArray,
  randomShape,
  refOf,
} from "./ndarray_reference.ts";

/** The positions `list(range(n))[start:stop:step]` selects in Python, by walking. */
function pythonSlice(n: number, s: k.Slice): number[] {
  const step = s.step ?? 1;
  let i = s.start ?? (step > 0 ? 0 : n - 1);
  if (s.start != null && i < 0) i += n;
  let end = s.stop ?? (step > 0 ? n : -1);
  if (s.stop != null && end < 0) end += n;
  if (step > 0) i = Math.max(i, 0);
  else i = Math.min(i, n - 1);
  const out: number[] = [];
  for (; step > 0 ? i < end && i < n : i > end && i >= 0; i += step) out.push(i);
  return out;
}

Deno.test("the walking reference agrees with known Python slices", () => {
  const r10 = (s: k.Slice) => pythonSlice(10, s);
  assert.deepEqual(r10({ start: 8, stop: 2, step: -3 }), [8, 5]);
  assert.deepEqual(r10({ step: -4 }), [9, 5, 1]);
  assert.deepEqual(r10({ start: -3 }), [7, 8, 9]);
  assert.deepEqual(r10({ start: -100, stop: 3 }), [0, 1, 2]);
  assert.deepEqual(r10({ start: 100, stop: -100, step: -5 }), [9, 4]);
  assert.deepEqual(r10({ stop: -11, step: -1 }), [9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
  assert.deepEqual(r10({ start: 5, stop: 5 }), []);
});

type Item = k.IndexItem;

Deno.test("slice views match a walking reference for random specs, steps and layouts", () => {
  const r = new Random(314);
  for (let iter = 0; iter < 500; iter++) {
    const a = randomArray(r, randomShape(r), r.pick(ALL_DTYPES));
    // Per consumed axis: an integer, a slice, or nothing (implicitly whole); plus new axes.
    const spec: Item[] = [];
    const picks: (number | number[] | null)[] = []; // per source axis; null = new axis
    const useEllipsis = r.bool(0.3);
    const before = useEllipsis ? r.int(0, a.ndim) : a.ndim;
    let axis = 0;
    const emit = (count: number) => {
      for (let j = 0; j < count; j++, axis++) {
        const n = a.shape[axis];
        if (r.bool(0.15)) {
          spec.push(null);
          picks.push(null);
        }
        if (n > 0 && r.bool(0.25)) {
          const i = r.int(0, n - 1);
          spec.push(r.bool() ? i - n : i);
          picks.push(i);
        } else {
          const s: k.Slice = {};
          if (r.bool()) s.start = r.int(-n - 2, n + 2);
          if (r.bool()) s.stop = r.int(-n - 2, n + 2);
          if (r.bool()) s.step = r.pick([1, 2, 3, -1, -2, -3]);
          spec.push(s);
          picks.push(pythonSlice(n, s));
        }
      }
    };
    const take = r.int(0, before);
    emit(take);
    if (useEllipsis) {
      spec.push("...");
      const rest = a.ndim - take - r.int(0, a.ndim - take);
      for (let j = 0; j < rest; j++, axis++) {
        picks.push(indicesOf([a.shape[axis]]).map((x) => x[0]));
      }
      emit(a.ndim - axis);
    }
    for (; axis < a.ndim; axis++) picks.push(indicesOf([a.shape[axis]]).map((x) => x[0]));
    const view = k.slice(a, spec);
    const ref = refOf(a);
    const shape = picks.flatMap((
      p,
    ) => (p === null ? [1] : typeof p === "number" ? [] : [p.length]));
    const values = indicesOf(shape).map((ix) => {
      const source: number[] = [];
      let d = 0;
      for (const p of picks) {
        if (p === null) d++;
        else if (typeof p === "number") source.push(p);
        else source.push(p[ix[d++]]);
      }
      return ref.values[flatIndex(source, ref.shape)];
    });
    const context = `slice(${JSON.stringify(a.shape)}, ${JSON.stringify(spec)}) #${iter}`;
    assertArray(view, { shape, values, dtype: a.dtype }, context);
    assert.equal(view.data, a.data, `${context}: a view shares the buffer`);
  }
});

Deno.test("parseIndex reads NumPy index text", () => {
  assert.deepEqual(k.parseIndex(":100, 500:100:-2"), [{ stop: 100 }, {
    start: 500,
    stop: 100,
    step: -2,
  }]);
  assert.deepEqual(k.parseIndex("..., 0"), ["...", 0]);
  assert.deepEqual(k.parseIndex("None, -1, ::3"), [null, -1, { step: 3 }]);
  assert.deepEqual(k.parseIndex(" 2 ,"), [2]);
  assert.deepEqual(k.parseIndex(""), []);
  assert.deepEqual(k.parseIndex(":"), [{}]);
  assert.throws(() => k.parseIndex("1:2:3:4"), /cannot parse index item '1:2:3:4'/);
  assert.throws(() => k.parseIndex("a"), SyntaxError);
  const x = k.reshape(k.arange(24), [4, 6]);
  assert.deepEqual(k.slice(x, k.parseIndex("::-2, 1::2")).toArray(), [[19, 21, 23], [7, 9, 11]]);
});

Deno.test("basic indexing errors say what is wrong", () => {
  const x = k.zeros([5, 2]);
  assert.throws(() => k.slice(x, [10]), {
    message: "index 10 is out of bounds for axis 0 with size 5",
  });
  assert.throws(() => k.slice(x, [0, -3]), {
    message: "index -3 is out of bounds for axis 1 with size 2",
  });
  assert.throws(
    () => k.slice(x, [0, 0, 0]),
    /too many indices for array: array is 2-dimensional, but 3/,
  );
  assert.throws(() => k.slice(x, ["...", "..."]), /single ellipsis/);
  assert.throws(() => k.slice(x, [{ step: 0 }]), /step must be a non-zero integer/);
});

Deno.test("take picks integer lists along one axis (or the flattened array)", () => {
  const r = new Random(8);
  for (let iter = 0; iter < 200; iter++) {
    const a = randomArray(r, randomShape(r).map((n) => n || 1), r.pick(ALL_DTYPES));
    const flat = a.ndim === 0 || r.bool(0.2);
    const axis = flat ? undefined : r.int(0, a.ndim - 1);
    const ref = refOf(a);
    const shape = flat ? [ref.values.length] : ref.shape;
    const ax = axis ?? 0;
    const idx = Array.from({ length: r.int(0, 5) }, () => r.int(-shape[ax], shape[ax] - 1));
    const outShape = [...shape.slice(0, ax), idx.length, ...shape.slice(ax + 1)];
    const values = indicesOf(outShape).map((ix) => {
      const src = [...ix];
      src[ax] = idx[ix[ax]] < 0 ? idx[ix[ax]] + shape[ax] : idx[ix[ax]];
      return ref.values[flatIndex(src, shape)];
    });
    assertArray(k.take(a, idx, axis), { shape: outShape, values, dtype: a.dtype }, `take #${iter}`);
  }
  const x = k.reshape(k.arange(6), [2, 3]);
  assert.deepEqual(k.take(x, k.fromNested([[0, 2], [1, 1]]), 1).shape, [2, 2, 2]);
  assert.throws(() => k.take(x, [3], 1), {
    message: "index 3 is out of bounds for axis 1 with size 3",
  });
});

Deno.test("booleanMask selects positions of the leading axes", () => {
  const r = new Random(21);
  for (let iter = 0; iter < 200; iter++) {
    const a = randomArray(r, randomShape(r), r.pick(ALL_DTYPES));
    const lead = r.int(0, a.ndim);
    const mask = randomArray(r, a.shape.slice(0, lead), "bool");
    const ref = refOf(a), m = refOf(mask);
    const rest = ref.shape.slice(lead);
    const restSize = rest.reduce((p, n) => p * n, 1);
    const values: number[] = [];
    let count = 0;
    m.values.forEach((flag, i) => {
      if (!flag) return;
      count++;
      for (let j = 0; j < restSize; j++) values.push(ref.values[i * restSize + j]);
    });
    assertArray(
      k.booleanMask(a, mask),
      { shape: [count, ...rest], values, dtype: a.dtype },
      `mask #${iter}`,
    );
  }
  const x = k.reshape(k.arange(6), [3, 2]);
  assert.deepEqual(k.booleanMask(x, k.greater(x, 2)).toArray(), [3, 4, 5]);
  assert.throws(
    () => k.booleanMask(x, k.zeros([4], "bool")),
    /boolean index did not match indexed array along axis 0; size of axis is 3 but size of corresponding boolean axis is 4/,
  );
  assert.throws(() => k.booleanMask(x, k.zeros([3])), /must have dtype bool/);
});
