import assert from "node:assert/strict";
import * as array from "../../collections/array/mod.ts";
import { compute } from "../../mod.ts";
import { shutdownThreads } from "../../collections/local/threads.ts";
import * as k from "../../collections/array/kernels/mod.ts";
import { qr, solveTriangular, svd } from "../../collections/array/kernels/decomposition.ts";
import { NDArray } from "../../core/ndarray.ts";
import { Random } from "./ndarray_reference.ts";
import { assertComputes, randomChunks, randomData } from "./array_support.ts";

/** A random float64 matrix with values in [-1, 1). */
function randomMatrix(r: Random, rows: number, cols: number): NDArray {
  return new NDArray(Float64Array.from({ length: rows * cols }, () => 2 * r.next() - 1), [
    rows,
    cols,
  ]);
}

function assertClose(actual: NDArray, expected: NDArray, context: string, tol = 1e-9): void {
  assert.deepEqual(actual.shape, expected.shape, `${context}: shape`);
  const a = actual.numbers(), e = expected.numbers();
  for (let i = 0; i < a.length; i++) {
    assert.ok(
      Math.abs(a[i] - e[i]) <= tol * Math.max(1, Math.abs(e[i])),
      `${context}: [${i}] ${a[i]} vs ${e[i]}`,
    );
  }
}

function assertOrthonormalColumns(q: NDArray, context: string): void {
  const n = q.shape[1];
  assertClose(k.matmul(k.transpose(q), q), k.eye(n), `${context}: qᵀq = I`);
}

function assertUpperTriangular(r: NDArray, context: string): void {
  const [rows, cols] = r.shape;
  for (let i = 0; i < rows; i++) {
    for (let j = 0; j < Math.min(i, cols); j++) {
      assert.equal(r.get(i, j), 0, `${context}: r[${i},${j}]`);
    }
  }
}

Deno.test("decomposition kernels: qr, svd and triangular solves on random matrices", () => {
  const r = new Random(51);
  for (const [m, n] of [[5, 3], [3, 5], [4, 4], [1, 3], [7, 1]]) {
    const a = randomMatrix(r, m, n);
    const { q, r: rr } = qr(a);
    assertOrthonormalColumns(q, `qr ${m}×${n}`);
    assertUpperTriangular(rr, `qr ${m}×${n}`);
    assertClose(k.matmul(q, rr), a, `qr ${m}×${n}: q r = a`);
    const { u, s, vt } = svd(a);
    const values = Array.from(s.numbers());
    assert.deepEqual([...values].sort((x, y) => y - x), values, "descending singular values");
    assertClose(k.matmul(k.multiply(u, s), vt), a, `svd ${m}×${n}: u s vᵀ = a`);
    assertOrthonormalColumns(u, `svd ${m}×${n} u`);
  }
  const upper = new NDArray(new Float64Array([2, 1, -1, 0, 3, 2, 0, 0, 4]), [3, 3]);
  const x = new NDArray(new Float64Array([1, -2, 0.5]));
  assertClose(solveTriangular(upper, k.matmul(upper, x)), x, "solveTriangular");
  const lower = k.transpose(upper).toContiguous();
  assertClose(solveTriangular(lower, k.matmul(lower, x), { lower: true }), x, "lower");
  const singular = new NDArray(new Float64Array([1, 1, 0, 0]), [2, 2]);
  assert.throws(
    () => solveTriangular(singular, new NDArray(new Float64Array([1, 1]))),
    /Singular matrix/,
  );
});

Deno.test("tensordot, matmul and dot match the kernels over random blocks", async () => {
  const r = new Random(52);
  try {
    for (let trial = 0; trial < 40; trial++) {
      const [m, n, p] = [r.int(1, 7), r.int(1, 7), r.int(1, 7)];
      const dtype = r.pick(["float64", "int32", "float32"] as const);
      const a = randomData(r, [m, n], dtype), b = randomData(r, [n, p], dtype);
      const x = array.fromArray(a, { chunks: randomChunks(r, [m, n]) });
      const y = array.fromArray(b, { chunks: randomChunks(r, [n, p]) });
      const context = `${dtype} ${JSON.stringify(x.chunks)} @ ${JSON.stringify(y.chunks)}`;
      const rtol = dtype === "float32" ? 1e-5 : 1e-12;
      await assertComputes(x.matmul(y), k.matmul(a, b), `${context} matmul`, {
        threads: trial % 20 === 0,
        rtol,
      });
      await assertComputes(x.dot(y.get(":, 0")), k.dot(a, k.slice(b, [{}, 0])), `${context} dot`, {
        rtol,
      });
      const c = randomData(r, [m, n, 3], "float64"), d = randomData(r, [3, n, 2], "float64");
      const z = array.fromArray(c, { chunks: randomChunks(r, [m, n, 3]) });
      const w = array.fromArray(d, { chunks: randomChunks(r, [3, n, 2]) });
      await assertComputes(
        array.tensordot(z, w, [[1, 2], [1, 0]]),
        k.tensordot(c, d, [[1, 2], [1, 0]]),
        `${context} tensordot`,
      );
      // batched matmul with broadcasting batch axes
      const e = randomData(r, [2, m, n], "float64"), f = randomData(r, [1, n, p], "float64");
      const ex = array.fromArray(e, { chunks: randomChunks(r, [2, m, n]) });
      const fx = array.fromArray(f, { chunks: randomChunks(r, [1, n, p]) });
      await assertComputes(array.matmul(ex, fx), k.matmul(e, f), `${context} batched`);
    }
  } finally {
    shutdownThreads();
  }
  assert.throws(
    () => array.ones([3, 4]).matmul(array.ones([5, 2])),
    /mismatch in its core dimension/,
  );
  assert.throws(() => array.tensordot(array.ones([3, 4]), array.ones([5, 2]), 1), /shape-mismatch/);
});

Deno.test("TSQR: qr and svd of tall-and-skinny arrays", async () => {
  const r = new Random(53);
  try {
    for (const [rows, cols, chunk] of [[200, 5, 30], [60, 8, 60], [50, 4, 7], [40, 10, 15]]) {
      const data = randomMatrix(r, rows, cols);
      const a = array.fromArray(data, { chunks: [chunk, cols] });
      const [q, rr] = array.linalg.qr(a);
      assert.deepEqual(q.chunks[0], a.chunks[0], "q keeps a's row blocks");
      const [qv, rv] = [await q.compute(), await rr.compute({ scheduler: "threads" })];
      const context = `qr ${rows}×${cols} in ${chunk}-row blocks`;
      assertOrthonormalColumns(qv, context);
      assertUpperTriangular(rv, context);
      assertClose(k.matmul(qv, rv), data, `${context}: q r = a`);
      const [u, s, v] = array.linalg.svd(a);
      const [uv, sv, vv] = await compute(u, s, v); // one graph: the shared R is factored once
      assertClose(sv, svd(data).s, `${context}: singular values`);
      assertClose(k.matmul(k.multiply(uv, sv), vv), data, `${context}: u s v = a`);
      assertOrthonormalColumns(uv, `${context}: u`);
    }
  } finally {
    shutdownThreads();
  }
  assert.throws(() => array.linalg.qr(array.ones([4])), /qr needs a 2-d array/);
});

Deno.test("solve and lstsq through TSQR", async () => {
  const r = new Random(54);
  const square = k.add(randomMatrix(r, 12, 12), k.multiply(k.eye(12), 4));
  const truth = randomMatrix(r, 12, 2);
  const b = k.matmul(square, truth);
  const x = array.linalg.solve(
    array.fromArray(square, { chunks: [5, 12] }),
    array.fromArray(b, { chunks: 4 }),
  );
  assertClose(await x.compute(), truth, "solve", 1e-9);
  const vector = k.slice(b, [{}, 0]).toContiguous();
  const x1 = array.linalg.solve(
    array.fromArray(square, { chunks: 4 }),
    array.fromArray(vector, { chunks: 5 }),
  );
  assertClose(await x1.compute(), k.slice(truth, [{}, 0]).toContiguous(), "solve vector", 1e-9);
  assert.throws(() => array.linalg.solve(array.ones([4, 3]), array.ones([4])), /square matrix/);
  assert.throws(() => array.linalg.solve(array.ones([4, 4]), array.ones([5])), /does not match/);

  // least squares: an overdetermined system with noise
  const tall = randomMatrix(r, 80, 3);
  const coefficients = new NDArray(new Float64Array([1.5, -2, 0.25]));
  const noise = k.multiply(randomMatrix(r, 80, 1), 0.01);
  const target = k.add(k.matmul(tall, coefficients), k.reshape(noise, [80]));
  const [fit, residuals, rank, s] = array.linalg.lstsq(
    array.fromArray(tall, { chunks: [25, 3] }),
    array.fromArray(target, { chunks: 25 }),
  );
  // the normal equations give the same answer: (aᵀa) x = aᵀb
  const normal = solveNormal(tall, target);
  const fitted = await fit.compute();
  assertClose(fitted, normal, "lstsq", 1e-8);
  const diff = k.subtract(target, k.matmul(tall, fitted));
  assertClose(await residuals.compute(), k.reshape(k.sum(k.square(diff)), [1]), "residuals", 1e-8);
  assert.equal(await rank.compute(), 3);
  assertClose(await s.compute(), svd(tall).s, "singular values", 1e-9);
});

function solveNormal(a: NDArray, b: NDArray): NDArray {
  const ata = k.matmul(k.transpose(a), a), atb = k.matmul(k.transpose(a), b);
  const { q, r } = qr(ata);
  return solveTriangular(r, k.matmul(k.transpose(q), atb));
}
