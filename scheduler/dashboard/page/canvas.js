/**
 * Canvas sizing shared by the pages' charts: a backing store at the screen's pixel density.
 *
 * @module
 */

/**
 * Sizes `canvas` to `cssWidth` × `cssHeight` CSS pixels at the device's pixel ratio and returns
 * its cleared context, scaled so that drawing is in CSS pixels.
 * @param {HTMLCanvasElement} canvas
 * @param {number} cssWidth
 * @param {number} cssHeight
 * @returns {CanvasRenderingContext2D}
 */
export function sizedContext(canvas, cssWidth, cssHeight) {
  const dpr = globalThis.devicePixelRatio || 1;
  const width = Math.round(cssWidth * dpr);
  const height = Math.round(cssHeight * dpr);
  // Setting a size reallocates the backing store even when it is the same: only on a change.
  if (canvas.width !== width) canvas.width = width;
  if (canvas.height !== height) canvas.height = height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext("2d"));
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, cssWidth, cssHeight);
  return ctx;
}
