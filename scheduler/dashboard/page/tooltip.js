/**
 * The pages' tooltip, placed beside the pointer but always inside the window: it goes left of
 * the pointer or above it when there is no room right or below, and is clamped to the edges.
 *
 * @module
 */

/** Gap between the pointer and the tooltip, CSS pixels. */
const OFFSET = 12;
/** Least distance from the window's edge. */
const MARGIN = 4;

/**
 * Shows `text` in `tooltip` near the pointer at (`x`, `y`) (client coordinates).
 * @param {HTMLElement} tooltip
 * @param {string} text
 * @param {number} x
 * @param {number} y
 */
export function showTooltip(tooltip, text, x, y) {
  tooltip.textContent = text;
  tooltip.hidden = false;
  // Measure where it would be, then move it in: its size depends on its text.
  tooltip.style.left = "0px";
  tooltip.style.top = "0px";
  const { width, height } = tooltip.getBoundingClientRect();
  const viewW = document.documentElement.clientWidth;
  const viewH = document.documentElement.clientHeight;
  let left = x + OFFSET;
  if (left + width > viewW - MARGIN) left = x - OFFSET - width;
  let top = y + OFFSET;
  if (top + height > viewH - MARGIN) top = y - OFFSET - height;
  tooltip.style.left = `${Math.max(MARGIN, Math.min(left, viewW - MARGIN - width))}px`;
  tooltip.style.top = `${Math.max(MARGIN, Math.min(top, viewH - MARGIN - height))}px`;
}
