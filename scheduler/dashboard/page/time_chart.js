/**
 * A chart of values over time on a canvas: stacked areas (memory by kind) or one line per series
 * (processing, occupancy per worker), with a time axis ending now and a value axis from zero.
 *
 * @module
 */

import { formatClock } from "../../../core/display/format.js";
import { sizedContext } from "./canvas.js";

const LEFT = 64;
const BOTTOM = 18;
const LEGEND = 18;

/**
 * @typedef {{ label: string, color: string, points: [number, number][] }} Series
 * A series' points are `[time, value]`, oldest first.
 */

/**
 * Draws `series` over the `windowS` seconds before `now`; returns the largest value drawn.
 * @param {HTMLCanvasElement} canvas
 * @param {Series[]} series
 * @param {{ now: number, windowS: number, stacked: boolean, format: (v: number) => string }} options
 */
export function drawTimeChart(canvas, series, { now, windowS, stacked, format }) {
  const cssWidth = canvas.clientWidth || 600;
  const cssHeight = canvas.clientHeight || 180;
  const ctx = sizedContext(canvas, cssWidth, cssHeight);
  const start = now - windowS;
  const plotW = cssWidth - LEFT - 8;
  const plotH = cssHeight - BOTTOM - LEGEND;
  const xOf = (/** @type {number} */ t) => LEFT + ((t - start) / windowS) * plotW;

  // Stacked series share their sample times (one sample per worker per tick).
  /** @type {[number, number][][]} */
  const drawn = series.map((s) => s.points.filter(([t]) => t >= start - 1));
  if (stacked) {
    for (let i = 1; i < drawn.length; i++) {
      drawn[i] = drawn[i].map(([t, v], j) => [t, v + (drawn[i - 1][j]?.[1] ?? 0)]);
    }
  }
  let max = 0;
  for (const points of drawn) for (const [, v] of points) max = Math.max(max, v);
  const top = max > 0 ? max * 1.1 : 1;
  const yOf = (/** @type {number} */ v) => LEGEND + plotH - (v / top) * plotH;

  ctx.font = "11px system-ui, sans-serif";
  ctx.strokeStyle = "#e1e4e8";
  ctx.fillStyle = "#6a737d";
  ctx.textBaseline = "middle";
  for (let i = 0; i <= 4; i++) {
    const v = (top * i) / 4;
    const y = yOf(v);
    ctx.beginPath();
    ctx.moveTo(LEFT, y);
    ctx.lineTo(LEFT + plotW, y);
    ctx.stroke();
    ctx.fillText(format(v), 4, y, LEFT - 8);
  }
  ctx.textBaseline = "top";
  for (let i = 0; i <= 4; i++) {
    const t = start + (windowS * i) / 4;
    ctx.fillText(formatClock(t), Math.min(xOf(t), LEFT + plotW - 50), LEGEND + plotH + 4);
  }

  for (let i = drawn.length - 1; i >= 0; i--) {
    const points = drawn[i];
    if (points.length === 0) continue;
    ctx.beginPath();
    points.forEach(([t, v], j) => {
      if (j === 0) ctx.moveTo(xOf(t), yOf(v));
      else ctx.lineTo(xOf(t), yOf(v));
    });
    if (stacked) {
      ctx.lineTo(xOf(points[points.length - 1][0]), yOf(0));
      ctx.lineTo(xOf(points[0][0]), yOf(0));
      ctx.closePath();
      ctx.fillStyle = series[i].color;
      ctx.fill();
    } else {
      ctx.strokeStyle = series[i].color;
      ctx.lineWidth = 1.5;
      ctx.stroke();
      ctx.lineWidth = 1;
    }
  }

  let x = LEFT;
  ctx.textBaseline = "middle";
  for (const s of series) {
    ctx.fillStyle = s.color;
    ctx.fillRect(x, 5, 10, 10);
    ctx.fillStyle = "#24292e";
    ctx.fillText(s.label, x + 14, 10);
    x += 24 + ctx.measureText(s.label).width;
  }
  return max;
}
