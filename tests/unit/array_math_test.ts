/**
 * The element-wise functions without methods (arctan2, logaddexp, bitwise, frexp, …): blocked
 * results against plain TypeScript loops and NumPy's documented values, on sync and threads.
 */
import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import { NDArray } from "../../core/ndarray.ts";

const schedulers = ["sync", "threads"] as const;

async function values(x: array.DArray, scheduler: "sync" | "threads"): Promise<number[]> {
  return [...(await x.compute({ scheduler })).toArray() as number[]];
}

function close(got: number[], want: number[], what: string) {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => {
    const w = want[i];
    if (Number.isNaN(w)) assert.ok(Number.isNaN(g), `${what}[${i}]: ${g} vs NaN`);
    else {assert.ok(
        Object.is(g, w) || Math.abs(g - w) <= 1e-12 * Math.max(1, Math.abs(w)),
        `${what}[${i}]: ${g} vs ${w}`,
      );}
  });
}

const A = [-3.5, -1, -0, 0, 0.25, 1, 2.5, 7, 1e300, -Infinity, NaN, 0.5];
const B = [2, -0.5, 3, -2, 0.75, NaN, -2.5, 4, 1e300, 1, 2, -0];

Deno.test("two-operand float functions match plain loops", async () => {
  const a = array.fromArray(new NDArray(Float64Array.from(A), [A.length]), { chunks: 5 });
  const b = array.fromArray(new NDArray(Float64Array.from(B), [B.length]), { chunks: 4 });
  const ref = (f: (x: number, y: number) => number) => A.map((x, i) => f(x, B[i]));
  const logaddexp = (x: number, y: number) => {
    if (x === y) return x + Math.LN2;
    return Math.max(x, y) + Math.log1p(Math.exp(-Math.abs(x - y)));
  };
  const fmax = (x: number, y: number) => Number.isNaN(x) ? y : Number.isNaN(y) ? x : Math.max(x, y);
  const fmin = (x: number, y: number) => Number.isNaN(x) ? y : Number.isNaN(y) ? x : Math.min(x, y);
  const neg = (y: number) => y < 0 || Object.is(y, -0);
  try {
    for (const s of schedulers) {
      close(await values(array.arctan2(a, b), s), ref(Math.atan2), "arctan2");
      close(await values(array.hypot(a, b), s), ref(Math.hypot), "hypot");
      close(await values(array.logaddexp(a, b), s), ref(logaddexp), "logaddexp");
      close(await values(array.fmax(a, b), s), ref(fmax), "fmax");
      close(await values(array.fmin(a, b), s), ref(fmin), "fmin");
      close(await values(array.fmod(a, b), s), ref((x, y) => x % y), "fmod");
      close(
        await values(array.copysign(a, b), s),
        ref((x, y) => (Number.isNaN(y) ? Math.abs(x) : neg(y) ? -Math.abs(x) : Math.abs(x))),
        "copysign",
      );
      // NumPy's documented values
      close(
        await values(
          array.logaddexp2(array.fromArray(new NDArray(Float64Array.from([1, 3]), [2])), 3),
          s,
        ),
        [
          3 + Math.log2(1.25),
          4,
        ],
        "logaddexp2",
      );
      close(
        await values(
          array.nextafter(array.fromArray(new NDArray(Float64Array.from([1, 0]), [2])), 2),
          s,
        ),
        [
          1 + Number.EPSILON,
          5e-324,
        ],
        "nextafter",
      );
      const five = array.fromArray(new NDArray(Float64Array.from([5, 5, 1e-300]), [3]));
      const exps = array.fromArray(new NDArray(Int32Array.from([-1, 1100, -1100]), [3]));
      close(
        await values(array.ldexp(five, exps), s),
        [2.5, Infinity, 1e-300 * 2 ** -1100],
        "ldexp",
      );
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("one-operand functions, frexp and modf match NumPy", async () => {
  const x = array.fromArray(new NDArray(Float64Array.from(A), [A.length]), { chunks: 5 });
  try {
    for (const s of schedulers) {
      close(await values(array.arcsinh(x), s), A.map(Math.asinh), "arcsinh");
      close(await values(array.arctanh(x), s), A.map(Math.atanh), "arctanh");
      close(await values(array.arccosh(x), s), A.map(Math.acosh), "arccosh");
      close(await values(array.degrees(x), s), A.map((v) => v * 180 / Math.PI), "degrees");
      close(await values(array.radians(x), s), A.map((v) => v * Math.PI / 180), "radians");
      close(
        await values(array.signbit(x), s),
        A.map((v) => (v < 0 || Object.is(v, -0) ? 1 : 0)),
        "signbit",
      );
      // rint rounds halves to even: NumPy's rint([-1.5, -0.5, 0.5, 1.5, 2.5]) = [-2, -0, 0, 2, 2]
      const halves = array.fromArray(
        new NDArray(Float64Array.from([-1.5, -0.5, 0.5, 1.5, 2.5]), [5]),
      );
      close(await values(array.rint(halves), s), [-2, -0, 0, 2, 2], "rint");
      close(await values(array.fix(halves), s), [-1, -0, 0, 1, 2], "fix");
      // NumPy: frexp([0, 1, 8, -3]) = ([0, 0.5, 0.5, -0.75], [0, 1, 4, 2])
      const f = array.fromArray(new NDArray(Float64Array.from([0, 1, 8, -3, 5e-324]), [5]), {
        chunks: 2,
      });
      const [m, e] = array.frexp(f);
      close(await values(m, s), [0, 0.5, 0.5, -0.75, 0.5], "frexp mantissa");
      assert.deepEqual(await values(e, s), [0, 1, 4, 2, -1073]);
      assert.equal(e.dtype, "int32");
      // NumPy: modf([0, 3.5, -3.5]) = ([0, 0.5, -0.5], [0, 3, -3])
      const [frac, whole] = array.modf(
        array.fromArray(new NDArray(Float64Array.from([0, 3.5, -3.5]), [3])),
      );
      close(await values(frac, s), [0, 0.5, -0.5], "modf fraction");
      close(await values(whole, s), [0, 3, -3], "modf whole");
    }
  } finally {
    shutdownThreads();
  }
});

Deno.test("bitwise functions on integers and bools; floats refused", async () => {
  const I = [0, 1, -2, 13, 127, -128, 5, 100];
  const J = [3, 1, 1, 2, 0, 7, 33, 6];
  const i = array.fromArray(new NDArray(Int32Array.from(I), [I.length]), { chunks: 3 });
  const j = array.fromArray(new NDArray(Int32Array.from(J), [J.length]), { chunks: 3 });
  const ref = (f: (x: number, y: number) => number) => I.map((x, k) => f(x, J[k]));
  try {
    for (const s of schedulers) {
      assert.deepEqual(await values(array.bitwiseAnd(i, j), s), ref((x, y) => x & y));
      assert.deepEqual(await values(array.bitwiseOr(i, j), s), ref((x, y) => x | y));
      assert.deepEqual(await values(array.bitwiseXor(i, j), s), ref((x, y) => x ^ y));
      assert.deepEqual(await values(array.invert(i), s), I.map((x) => ~x));
      // shifting by the width or more gives 0 (or -1 for negative right shifts), as NumPy
      assert.deepEqual(
        await values(array.leftShift(i, j), s),
        ref((x, y) => (y >= 32 ? 0 : x << y)),
      );
      assert.deepEqual(
        await values(array.rightShift(i, j), s),
        ref((x, y) => (y >= 32 ? (x < 0 ? -1 : 0) : x >> y)),
      );
      const u = array.fromArray(new NDArray(Uint8Array.from([255, 16]), [2]));
      assert.deepEqual(await values(array.rightShift(u, 1), s), [127, 8]);
      const flags = array.fromArray(new NDArray(Uint8Array.from([1, 0]), [2], { dtype: "bool" }));
      assert.deepEqual(await values(array.invert(flags), s), [false, true] as never);
    }
    assert.throws(() => array.bitwiseAnd(array.ones([2]), 1), /integers and bools only/);
  } finally {
    shutdownThreads();
  }
});
