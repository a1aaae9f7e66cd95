/**
 * Small dense decompositions for the blocked linear algebra: Householder QR, one-sided Jacobi
 * SVD and triangular solves. They work in float64 on row-major copies and return float32 for
 * float32 input, float64 otherwise (as NumPy's linalg does for its float types).
 *
 * These are per-block kernels: the distributed algorithms (TSQR and what builds on it) call them
 * on blocks small enough for one thread.
 *
 * @module
 */
import { type DType, NDArray } from "../../../core/ndarray.ts";
import { astype } from "./elementwise.ts";
import { formatShape } from "./layout.ts";

/** The dtype of a decomposition of an array of `dtype`. */
function linalgType(dtype: DType): DType {
  return dtype === "float32" ? "float32" : "float64";
}

/** A row-major float64 copy of a 2-d array (always a fresh buffer: callers write into it). */
function float64Rows(a: NDArray, what: string): Float64Array {
  if (a.ndim !== 2) {
    throw new RangeError(`${what} needs a 2-d array, got shape ${formatShape(a.shape)}`);
  }
  const copy = astype(a, "float64");
  return copy.data as Float64Array;
}

function result(data: Float64Array, shape: number[], dtype: DType): NDArray {
  const out = new NDArray(data, shape);
  return dtype === "float64" ? out : astype(out, dtype);
}

/**
 * The reduced QR decomposition `a = q r` of an m×n array: q is m×k with orthonormal columns,
 * r is k×n upper triangular, k = min(m, n). Householder reflections; signs follow LAPACK's
 * convention (the diagonal of r may be negative).
 */
export function qr(a: NDArray): { q: NDArray; r: NDArray } {
  const [m, n] = a.shape;
  const A = float64Rows(a, "qr");
  const k = Math.min(m, n);
  const vs: Float64Array[] = [];
  const vnorms = new Float64Array(k);
  const col = new Float64Array(n);
  for (let j = 0; j < k; j++) {
    let norm = 0;
    for (let i = j; i < m; i++) norm += A[i * n + j] * A[i * n + j];
    norm = Math.sqrt(norm);
    const v = new Float64Array(m - j);
    for (let i = j; i < m; i++) v[i - j] = A[i * n + j];
    const alpha = v[0] >= 0 ? -norm : norm;
    v[0] -= alpha;
    let vv = 0;
    for (let i = 0; i < v.length; i++) vv += v[i] * v[i];
    vs.push(v);
    vnorms[j] = vv;
    if (vv === 0) continue;
    // A[j:, j:] -= (2 / v·v) v (vᵀ A[j:, j:]), row by row so memory is read in order
    col.fill(0, j);
    for (let i = j; i < m; i++) {
      const vi = v[i - j], row = i * n;
      if (vi !== 0) { for (let c = j; c < n; c++) col[c] += vi * A[row + c]; }
    }
    for (let i = j; i < m; i++) {
      const f = (2 * v[i - j]) / vv, row = i * n;
      if (f !== 0) { for (let c = j; c < n; c++) A[row + c] -= f * col[c]; }
    }
  }
  const r = new Float64Array(k * n);
  for (let i = 0; i < k; i++) {
    for (let c = i; c < n; c++) r[i * n + c] = A[i * n + c];
  }
  // q = H0 H1 ... H(k-1) applied to the first k columns of the identity, last reflector first
  const q = new Float64Array(m * k);
  for (let i = 0; i < k; i++) q[i * k + i] = 1;
  const acc = new Float64Array(k);
  for (let j = k - 1; j >= 0; j--) {
    const v = vs[j], vv = vnorms[j];
    if (vv === 0) continue;
    acc.fill(0);
    for (let i = j; i < m; i++) {
      const vi = v[i - j], row = i * k;
      if (vi !== 0) { for (let c = 0; c < k; c++) acc[c] += vi * q[row + c]; }
    }
    for (let i = j; i < m; i++) {
      const f = (2 * v[i - j]) / vv, row = i * k;
      if (f !== 0) { for (let c = 0; c < k; c++) q[row + c] -= f * acc[c]; }
    }
  }
  const dtype = linalgType(a.dtype);
  return { q: result(q, [m, k], dtype), r: result(r, [k, n], dtype) };
}

/**
 * The reduced singular value decomposition `a = u diag(s) vt` of an m×n array: u is m×k, s has
 * k values in descending order, vt is k×n, k = min(m, n). One-sided Jacobi rotations, which
 * give small singular values to high relative accuracy. Columns of u for zero singular values
 * are left zero.
 */
export function svd(a: NDArray): { u: NDArray; s: NDArray; vt: NDArray } {
  const [m, n] = a.shape;
  const rows = float64Rows(a, "svd");
  const dtype = linalgType(a.dtype);
  if (m >= n) {
    // columns of a, each contiguous
    const cols = new Float64Array(m * n);
    for (let i = 0; i < m; i++) for (let c = 0; c < n; c++) cols[c * m + i] = rows[i * n + c];
    const { u, s, v } = jacobi(cols, m, n);
    return {
      u: result(transposed(u, n, m), [m, n], dtype),
      s: result(s, [n], dtype),
      vt: result(v, [n, n], dtype),
    };
  }
  // a = (aᵀ)ᵀ: the columns of aᵀ are the rows of a, already contiguous
  const { u, s, v } = jacobi(rows, n, m);
  return {
    u: result(transposed(v, m, m), [m, m], dtype),
    s: result(s, [m], dtype),
    vt: result(u, [m, n], dtype),
  };
}

/** `x` (rows×cols, row-major) transposed into a new row-major cols×rows array. */
function transposed(x: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j];
  return out;
}

const MAX_SWEEPS = 60;

/**
 * One-sided Jacobi on the n columns (each of length m, m ≥ n, stored one after another) of a
 * matrix, in place. Returns the left singular vectors as rows (n×m: row c is column c of u),
 * the singular values (descending) and vᵀ (n×n, row-major).
 */
function jacobi(
  cols: Float64Array,
  m: number,
  n: number,
): { u: Float64Array; s: Float64Array; v: Float64Array } {
  // v is kept as columns too: column c of v at v[c * n ..]
  const v = new Float64Array(n * n);
  for (let c = 0; c < n; c++) v[c * n + c] = 1;
  const eps = 2.220446049250313e-16;
  for (let sweep = 0; sweep < MAX_SWEEPS; sweep++) {
    let rotated = false;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const P = p * m, Q = q * m;
        let alpha = 0, beta = 0, gamma = 0;
        for (let i = 0; i < m; i++) {
          const x = cols[P + i], y = cols[Q + i];
          alpha += x * x;
          beta += y * y;
          gamma += x * y;
        }
        if (gamma === 0 || Math.abs(gamma) <= eps * Math.sqrt(alpha * beta)) continue;
        rotated = true;
        const zeta = (beta - alpha) / (2 * gamma);
        const t = (zeta >= 0 ? 1 : -1) / (Math.abs(zeta) + Math.sqrt(1 + zeta * zeta));
        const c = 1 / Math.sqrt(1 + t * t), s = c * t;
        for (let i = 0; i < m; i++) {
          const x = cols[P + i], y = cols[Q + i];
          cols[P + i] = c * x - s * y;
          cols[Q + i] = s * x + c * y;
        }
        const VP = p * n, VQ = q * n;
        for (let i = 0; i < n; i++) {
          const x = v[VP + i], y = v[VQ + i];
          v[VP + i] = c * x - s * y;
          v[VQ + i] = s * x + c * y;
        }
      }
    }
    if (!rotated) break;
  }
  const norms = new Float64Array(n);
  for (let c = 0; c < n; c++) {
    let sum = 0;
    for (let i = 0; i < m; i++) sum += cols[c * m + i] * cols[c * m + i];
    norms[c] = Math.sqrt(sum);
  }
  const order = Array.from({ length: n }, (_, c) => c).sort((x, y) => norms[y] - norms[x]);
  const u = new Float64Array(n * m), s = new Float64Array(n), vt = new Float64Array(n * n);
  order.forEach((c, k) => {
    s[k] = norms[c];
    const scale = norms[c] > 0 ? 1 / norms[c] : 0;
    for (let i = 0; i < m; i++) u[k * m + i] = cols[c * m + i] * scale;
    for (let i = 0; i < n; i++) vt[k * n + i] = v[c * n + i];
  });
  return { u, s, v: vt };
}

/**
 * Solves `r x = b` for upper (default) or lower triangular square `r`; `b` is a vector or a
 * matrix of right-hand sides. Throws when `r` is singular to working precision.
 */
export function solveTriangular(
  r: NDArray,
  b: NDArray,
  options: { lower?: boolean } = {},
): NDArray {
  const [n, n2] = r.shape;
  if (r.ndim !== 2 || n !== n2) {
    throw new RangeError(`solveTriangular needs a square matrix, got ${formatShape(r.shape)}`);
  }
  if ((b.ndim !== 1 && b.ndim !== 2) || b.shape[0] !== n) {
    throw new RangeError(
      `solveTriangular: right-hand side of shape ${formatShape(b.shape)} does not match a ` +
        `${n}×${n} matrix (its first axis must have length ${n})`,
    );
  }
  const R = float64Rows(r, "solveTriangular");
  const k = b.ndim === 1 ? 1 : b.shape[1];
  const x = astype(b, "float64").data as Float64Array;
  let largest = 0;
  for (let i = 0; i < n; i++) largest = Math.max(largest, Math.abs(R[i * n + i]));
  const tiny = largest * n * 2.220446049250313e-16;
  const lower = options.lower ?? false;
  for (let step = 0; step < n; step++) {
    const i = lower ? step : n - 1 - step;
    const d = R[i * n + i];
    if (!(Math.abs(d) > tiny)) {
      throw new RangeError(
        `Singular matrix: diagonal element ${i} of the triangular factor is ${d} (largest ` +
          `${largest}); the system has no unique solution — use lstsq for least squares`,
      );
    }
    for (let c = 0; c < k; c++) {
      let sum = x[i * k + c];
      if (lower) { for (let j = 0; j < i; j++) sum -= R[i * n + j] * x[j * k + c]; }
      else for (let j = i + 1; j < n; j++) sum -= R[i * n + j] * x[j * k + c];
      x[i * k + c] = sum / d;
    }
  }
  const dtype = r.dtype === "float32" && b.dtype === "float32" ? "float32" : "float64";
  return result(x, [...b.shape], dtype);
}
