/**
 * The NDArray chunk kernels: NumPy-style functions over {@link NDArray} (from core/ndarray.ts).
 * Operands may be arrays or JS scalars; results are new arrays except where a function says it
 * returns a view (slice, transpose, reshape when possible, broadcastTo, expandDims, squeeze).
 *
 * @module
 */
export { type DType, NDArray } from "../../../core/ndarray.ts";
export * from "./broadcast.ts";
export * from "./create.ts";
export * from "./dtype.ts";
export * from "./elementwise.ts";
export * from "./indexing.ts";
export {
  checkStackShapes,
  formatShape,
  normalizeAxes,
  normalizeAxis,
  type Operand,
} from "./layout.ts";
export * from "./linalg.ts";
export * from "./reduce.ts";
export * from "./shape.ts";
