/**
 * Linear algebra for tall-and-skinny matrices (many rows, few columns), as in `dask.array.linalg`.
 *
 * `qr` is the direct TSQR of Benson, Gleich and Demmel: every block of rows is factored on its
 * own (`A_i = Q_i R_i`), the stacked small `R_i` are factored once more (`[R_1; …; R_p] = Q' R`),
 * and `Q`'s blocks are `Q_i Q'_i` (the rows of `Q'` that belong to block i). `svd` factors the
 * small `R` and multiplies its left vectors into `Q`; `solve` and `lstsq` solve `R x = Qᵀ b`.
 * Only `R`, a few `n×n` matrices and `Qᵀ b` ever meet in one task. The stacked `R_i` are
 * factored in one task: this scales to as many row blocks as fit `p·n` rows in one task.
 *
 * @module
 */
import type { DType, NDArray } from "../../core/ndarray.ts";
import { tokenize } from "../../core/tokenize.ts";
import { blockExpr } from "./block_expr.ts";
import { isKnown, offsetsOf } from "./chunks.ts";
import { fromArray } from "./creation.ts";
import { DArray, type Scalar } from "./darray.ts";
import { formatShape } from "./kernels/mod.ts";
import { rechunk } from "./rechunk.ts";
import { matmul, tensordot } from "./products.ts";
import { reduce } from "./reductions.ts";

/** The dtype of factors of an array of `dtype` (NumPy keeps float32, else float64). */
function qrDType(dtype: DType): DType {
  return dtype === "float32" ? "float32" : "float64";
}

function asDArray(x: DArray | NDArray): DArray {
  return x instanceof DArray ? x : fromArray(x);
}

/** `a` checked as a matrix with known row blocks and its columns in one block. */
function tallSkinny(a: DArray, what: string): DArray {
  if (a.ndim !== 2) {
    throw new RangeError(`${what} needs a 2-d array, got shape ${formatShape(a.shape)}`);
  }
  if (!isKnown(a.chunks)) {
    throw new RangeError(
      `${what} needs known block lengths; call \`await a.computeChunkSizes()\` first`,
    );
  }
  // TSQR factors whole rows: the columns must be one block
  return a.numblocks[1] === 1 ? a : rechunk(a, { 1: null });
}

/**
 * The reduced QR decomposition of a tall-and-skinny matrix (blocked along rows only): `q` has
 * `a`'s row blocks and orthonormal columns, `r` is upper triangular in one block.
 */
export function qr(input: DArray | NDArray): [DArray, DArray] {
  const a = tallSkinny(asDArray(input), "qr");
  const n = a.shape[1];
  const rowChunks = a.chunks[0];
  const ranks = rowChunks.map((m) => Math.min(m, n));
  const stackedRows = ranks.reduce((x, y) => x + y, 0);
  const k = Math.min(stackedRows, n);
  const dtype = qrDType(a.dtype);
  const token = tokenize(a);
  const blocks = new DArray(`qr-blocks-${token}`, a.chunks, dtype, {
    kind: "blocks",
    inputs: [a],
    oneToOne: [true],
    block: (index, ctx) => blockExpr("qr", null, [ctx.input(0, index)]),
  });
  const count = rowChunks.length;
  const stacked = new DArray(`qr-stacked-${token}`, [[stackedRows], [n]], dtype, {
    kind: "blocks",
    inputs: [blocks],
    oneToOne: [count === 1],
    block: (_, ctx) => {
      const rs = rowChunks.map((_, i) => blockExpr("field", { name: "r" }, [ctx.input(0, [i, 0])]));
      const joined = rs.length === 1 ? rs[0] : blockExpr("concatenate", { axis: 0 }, rs);
      return blockExpr("qr", null, [joined]);
    },
  });
  const r = new DArray(`qr-r-${token}`, [[k], [n]], dtype, {
    kind: "blocks",
    inputs: [stacked],
    oneToOne: [true],
    view: true,
    block: (_, ctx) => blockExpr("field", { name: "r" }, [ctx.input(0, [0, 0])]),
  });
  const starts = offsetsOf(ranks);
  const q = new DArray(`qr-q-${token}`, [rowChunks, [k]], dtype, {
    kind: "blocks",
    inputs: [blocks, stacked],
    oneToOne: [true, count === 1],
    block: (index, ctx) => {
      const i = index[0];
      const local = blockExpr("field", { name: "q" }, [ctx.input(0, [i, 0])]);
      const second = blockExpr("field", { name: "q" }, [ctx.input(1, [0, 0])]);
      const rowsOfBlock = blockExpr("slice", {
        index: [{ start: starts[i], stop: starts[i + 1] }],
      }, [second]);
      return blockExpr("matmul", null, [local, rowsOfBlock]);
    },
  });
  return [q, r];
}

/**
 * The singular value decomposition of a tall-and-skinny matrix: `[u, s, v]` with `a = u ·
 * diag(s) · v` (`v` holds the right singular vectors as rows, as NumPy's `vh`), `s` descending.
 */
export function svd(input: DArray | NDArray): [DArray, DArray, DArray] {
  const [q, r] = qr(input);
  const k = r.shape[0], n = r.shape[1];
  const kk = Math.min(k, n);
  const token = tokenize(q, r);
  const factors = new DArray(`svd-small-${token}`, [[k], [n]], r.dtype, {
    kind: "blocks",
    inputs: [r],
    oneToOne: [true],
    block: (_, ctx) => blockExpr("svd", null, [ctx.input(0, [0, 0])]),
  });
  const field = (name: string, chunks: number[][], prefix: string) =>
    new DArray(`${prefix}-${token}`, chunks, r.dtype, {
      kind: "blocks",
      inputs: [factors],
      oneToOne: [true],
      view: true,
      block: (_, ctx) => blockExpr("field", { name }, [ctx.input(0, [0, 0])]),
    });
  const s = field("s", [[kk]], "svd-s");
  const v = field("vt", [[kk], [n]], "svd-v");
  const u = new DArray(`svd-u-${token}`, [q.chunks[0], [kk]], r.dtype, {
    kind: "blocks",
    inputs: [q, factors],
    oneToOne: [true, q.numblocks[0] === 1],
    block: (index, ctx) =>
      blockExpr("matmul", null, [
        ctx.input(0, [index[0], 0]),
        blockExpr("field", { name: "u" }, [ctx.input(1, [0, 0])]),
      ]),
  });
  return [u, s, v];
}

/** `x` with `r x = qᵀ b`, from the QR decomposition of `a`. */
function solveQR(q: DArray, r: DArray, b: DArray, prefix: string): DArray {
  const qtb = tensordot(q, b, [[0], [0]]);
  const whole = rechunk(qtb, qtb.chunks.map(() => null));
  const chunks = whole.chunks.map((c, d) => (d === 0 ? [r.shape[1]] : c));
  return new DArray(`${prefix}-${tokenize(r, whole)}`, chunks, r.dtype, {
    kind: "blocks",
    inputs: [r, whole],
    oneToOne: [true, true],
    block: (index, ctx) =>
      blockExpr("solveTriangular", null, [ctx.input(0, [0, 0]), ctx.input(1, index)]),
  });
}

function checkRightHandSide(a: DArray, b: DArray, what: string): void {
  if ((b.ndim !== 1 && b.ndim !== 2) || b.shape[0] !== a.shape[0]) {
    throw new RangeError(
      `${what}: b of shape ${formatShape(b.shape)} does not match a of shape ` +
        `${formatShape(a.shape)}; b must be 1-d or 2-d with ${a.shape[0]} rows`,
    );
  }
}

/** The solution `x` of `a x = b` for a square, non-singular `a` (via its QR decomposition). */
export function solve(aInput: DArray | NDArray, bInput: DArray | NDArray): DArray {
  const a = asDArray(aInput), b = asDArray(bInput);
  if (a.ndim !== 2 || a.shape[0] !== a.shape[1]) {
    throw new RangeError(
      `solve needs a square matrix, got shape ${formatShape(a.shape)}; use lstsq for ` +
        "least-squares solutions of rectangular systems",
    );
  }
  checkRightHandSide(a, b, "solve");
  const [q, r] = qr(a);
  return solveQR(q, r, b, "solve");
}

/**
 * The least-squares solution of `a x = b` for a tall-and-skinny `a` of full column rank:
 * `[x, residuals, rank, s]` as NumPy gives them — squared residual norms per column of `b`
 * (shape (1,) for a vector `b`), the rank of `a`, and its singular values.
 */
export function lstsq(
  aInput: DArray | NDArray,
  bInput: DArray | NDArray,
): [DArray, DArray, Scalar, DArray] {
  const a = asDArray(aInput), b = asDArray(bInput);
  if (a.ndim !== 2) {
    throw new RangeError(`lstsq needs a 2-d array a, got shape ${formatShape(a.shape)}`);
  }
  checkRightHandSide(a, b, "lstsq");
  const [q, r] = qr(a);
  const x = solveQR(q, r, b, "lstsq");
  const difference = b.subtract(matmul(a, x));
  const residuals = reduce(difference.square(), "sum", { axis: 0, keepdims: b.ndim === 1 });
  const token = tokenize(r);
  const [rows, cols] = r.shape;
  const s = new DArray(`lstsq-singular-${token}`, [[Math.min(rows, cols)]], r.dtype, {
    kind: "blocks",
    inputs: [r],
    oneToOne: [true],
    block: (_, ctx) =>
      blockExpr("field", { name: "s" }, [blockExpr("svd", null, [ctx.input(0, [0, 0])])]),
  });
  // shape (): a Scalar, which computes to a number as NumPy's rank is an int
  const rank = new DArray(`lstsq-rank-${token}`, [], "int32", {
    kind: "blocks",
    inputs: [s],
    oneToOne: [true],
    block: (_, ctx) => blockExpr("rank", { rows, cols }, [ctx.input(0, [0])]),
  });
  return [x, residuals, rank as Scalar, s];
}
