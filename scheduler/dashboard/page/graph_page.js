/**
 * The Graph page: the tasks the scheduler holds now, left (inputs) to right (results), nodes
 * coloured by state and updated live. Edges are drawn once per shape; state changes redraw the
 * nodes only.
 *
 * @module
 */

import { formatCount } from "../../../core/display/format.js";
import { layeredLayout } from "../../../core/display/graph_layout.js";
import { STATE_COLORS } from "../../../core/display/palette.js";
import { sizedContext } from "./canvas.js";
import { showTooltip } from "./tooltip.js";

const MARGIN = 12;
/** Graphs of at most this many tasks have their nodes labelled. */
const LABELLED_NODES = 40;

export class GraphPage {
  views = ["graph"];

  constructor() {
    this.canvas = /** @type {HTMLCanvasElement} */ (document.getElementById("graph"));
    this.caption = /** @type {HTMLElement} */ (document.getElementById("graph-caption"));
    this.legend = /** @type {HTMLElement} */ (document.getElementById("graph-legend"));
    this.tooltip = /** @type {HTMLElement} */ (document.getElementById("tooltip"));
    /** @type {any} */
    this.graph = null;
    /** @type {number[]} */
    this.states = [];
    /** @type {any} */
    this.layout = null;
    /** @type {HTMLCanvasElement | null} */
    this.edgeLayer = null;
    this.edgeLayerSize = "";
    /** @type {Float64Array} */
    this.x = new Float64Array(0);
    /** @type {Float64Array} */
    this.y = new Float64Array(0);
    this.radius = 4;
    this.canvas.addEventListener("mousemove", (e) => this.#hover(e));
    this.canvas.addEventListener("mouseleave", () => (this.tooltip.hidden = true));
  }

  /**
   * @param {string} event
   * @param {any} data
   */
  handle(event, data) {
    if (event !== "graph") return;
    if (data.kind === "structure") {
      this.graph = data;
      this.states = data.states.slice();
      this.layout = layeredLayout(data.nodes.length, data.edges);
      this.edgeLayerSize = "";
    } else if (data.kind === "states") {
      if (this.graph === null || data.version !== this.graph.version) return;
      for (const [i, s] of data.changes) this.states[i] = s;
    } else if (data.kind === "too-large") {
      this.graph = data;
      this.layout = null;
    } else if (data.kind === "groups") {
      const sameShape = this.graph?.kind === "groups" &&
        JSON.stringify(this.graph.edges) === JSON.stringify(data.edges) &&
        this.graph.groups.length === data.groups.length;
      if (!sameShape) this.layout = layeredLayout(data.groups.length, data.edges);
      this.graph = data;
    }
  }

  render() {
    const canvas = this.canvas;
    const cssWidth = canvas.clientWidth || 800;
    const cssHeight = canvas.clientHeight || 500;
    const ctx = sizedContext(canvas, cssWidth, cssHeight);
    const graph = this.graph;
    if (graph === null || graph.kind === "too-large" || graph.nodes?.length === 0) {
      this.caption.textContent = graph?.kind === "too-large"
        ? `${formatCount(graph.tasks)} tasks: more than the ${formatCount(graph.limit)} ` +
          `this page draws`
        : "no tasks";
      canvas.dataset.nodes = "0";
      this.legend.replaceChildren();
      return;
    }
    if (graph.kind === "groups") {
      this.#renderGroups(ctx, cssWidth, cssHeight);
      return;
    }
    this.#place(cssWidth, cssHeight);
    const sizeKey = `${cssWidth}x${cssHeight}x${globalThis.devicePixelRatio || 1}`;
    if (this.edgeLayerSize !== sizeKey) {
      this.edgeLayer = this.#drawEdges(cssWidth, cssHeight);
      this.edgeLayerSize = sizeKey;
    }
    ctx.drawImage(/** @type {HTMLCanvasElement} */ (this.edgeLayer), 0, 0, cssWidth, cssHeight);

    /** @type {string[]} */
    const names = graph.stateNames;
    const counts = new Array(names.length).fill(0);
    const r = this.radius;
    // Batch nodes by colour: one path per state.
    for (let s = 0; s < names.length; s++) {
      ctx.beginPath();
      for (let i = 0; i < this.states.length; i++) {
        if (this.states[i] !== s) continue;
        counts[s]++;
        ctx.moveTo(this.x[i] + r, this.y[i]);
        ctx.arc(this.x[i], this.y[i], r, 0, 2 * Math.PI);
      }
      ctx.fillStyle = STATE_COLORS[names[s]] ?? "#999";
      ctx.fill();
    }
    // A small graph names its nodes by prefix (a fused task's names its parts: `inc+add`).
    if (graph.nodes.length <= LABELLED_NODES) {
      ctx.font = "11px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillStyle = "#24292e";
      graph.nodes.forEach((/** @type {[string, number]} */ [, p], /** @type {number} */ i) => {
        ctx.fillText(graph.prefixes[p], this.x[i] + r + 4, this.y[i], 160);
      });
    }
    canvas.dataset.nodes = String(graph.nodes.length);
    canvas.dataset.prefixes = graph.prefixes.join(" ");
    this.caption.textContent = `${formatCount(graph.nodes.length)} tasks, ` +
      `${formatCount(graph.edges.length)} dependencies`;
    this.legend.replaceChildren(...names.flatMap((name, s) => {
      if (counts[s] === 0) return [];
      const span = document.createElement("span");
      span.dataset.state = name;
      span.dataset.count = String(counts[s]);
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = STATE_COLORS[name];
      span.append(swatch, `${name} ${formatCount(counts[s])}`);
      return [span];
    }));
  }

  /**
   * Task groups as boxes in dependency order, each with its progress: done, processing, erred
   * and waiting tasks as parts of its bar.
   * @param {CanvasRenderingContext2D} ctx
   * @param {number} width
   * @param {number} height
   */
  #renderGroups(ctx, width, height) {
    const { groups, edges, tasks } = this.graph;
    this.#place(width, height);
    const { rankCount, rankSizes } = this.layout;
    let widest = 1;
    for (const size of rankSizes) widest = Math.max(widest, size);
    const boxW = Math.min(220, 0.7 * (width - 2 * MARGIN) / Math.max(1, rankCount));
    const boxH = Math.min(44, 0.7 * (height - 2 * MARGIN) / widest);
    ctx.strokeStyle = "rgba(90,100,110,0.5)";
    ctx.beginPath();
    for (const [a, b] of edges) {
      ctx.moveTo(this.x[a] + boxW / 2, this.y[a]);
      ctx.lineTo(this.x[b] - boxW / 2, this.y[b]);
    }
    ctx.stroke();
    ctx.font = "12px system-ui, sans-serif";
    ctx.textBaseline = "middle";
    /** @type {[string, string][]} */
    const parts = [
      ["done", STATE_COLORS.memory],
      ["processing", STATE_COLORS.processing],
      ["erred", STATE_COLORS.erred],
      ["waiting", STATE_COLORS.waiting],
    ];
    groups.forEach((/** @type {any} */ g, /** @type {number} */ i) => {
      const left = this.x[i] - boxW / 2;
      const top = this.y[i] - boxH / 2;
      let x = left;
      for (const [part, color] of parts) {
        const w = (g[part] / Math.max(1, g.total)) * boxW;
        ctx.fillStyle = color ?? "#ccc";
        ctx.fillRect(x, top, w, boxH);
        x += w;
      }
      ctx.strokeStyle = "#24292e";
      ctx.strokeRect(left, top, boxW, boxH);
      ctx.fillStyle = "#ffffff";
      ctx.fillRect(left + 3, this.y[i] - 8, Math.min(boxW - 6, 150), 16);
      ctx.fillStyle = "#24292e";
      ctx.fillText(
        `${g.name} ${formatCount(g.done)}/${formatCount(g.total)}`,
        left + 6,
        this.y[i],
        boxW - 12,
      );
    });
    this.canvas.dataset.nodes = "0";
    this.canvas.dataset.groups = String(groups.length);
    this.canvas.dataset.prefixes = groups.map((/** @type {any} */ g) => g.name).join(" ");
    this.canvas.dataset.done = String(groups.reduce((n, /** @type {any} */ g) => n + g.done, 0));
    this.caption.textContent = `${formatCount(tasks)} tasks in ${formatCount(groups.length)} ` +
      `task groups (by key prefix), ${formatCount(edges.length)} ` +
      `${edges.length === 1 ? "dependency" : "dependencies"} between groups`;
    this.legend.replaceChildren(...parts.map(([part, color]) => {
      const span = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = color ?? "#ccc";
      span.append(swatch, part);
      return span;
    }));
  }

  /**
   * @param {number} width
   * @param {number} height
   */
  #place(width, height) {
    const { rank, order, rankCount, rankSizes } = this.layout;
    const n = rank.length;
    if (this.x.length !== n) {
      this.x = new Float64Array(n);
      this.y = new Float64Array(n);
    }
    let widest = 1;
    for (const size of rankSizes) widest = Math.max(widest, size);
    const dx = (width - 2 * MARGIN) / Math.max(1, rankCount);
    const innerHeight = height - 2 * MARGIN;
    this.radius = Math.max(1.5, Math.min(7, 0.35 * Math.min(dx, innerHeight / widest)));
    for (let i = 0; i < n; i++) {
      this.x[i] = MARGIN + (rank[i] + 0.5) * dx;
      this.y[i] = MARGIN + ((order[i] + 0.5) / rankSizes[rank[i]]) * innerHeight;
    }
  }

  /**
   * @param {number} width
   * @param {number} height
   */
  #drawEdges(width, height) {
    const layer = document.createElement("canvas");
    const ctx = sizedContext(layer, width, height);
    const edges = this.graph.edges;
    ctx.strokeStyle = edges.length > 3000 ? "rgba(90,100,110,0.12)" : "rgba(90,100,110,0.35)";
    ctx.lineWidth = 1;
    ctx.beginPath();
    for (const [a, b] of edges) {
      ctx.moveTo(this.x[a], this.y[a]);
      ctx.lineTo(this.x[b], this.y[b]);
    }
    ctx.stroke();
    return layer;
  }

  /** @param {MouseEvent} event */
  #hover(event) {
    if (this.graph === null || this.graph.kind !== "structure") return;
    const rect = this.canvas.getBoundingClientRect();
    const px = event.clientX - rect.left;
    const py = event.clientY - rect.top;
    let best = -1;
    let bestDistance = (this.radius + 4) ** 2;
    for (let i = 0; i < this.x.length; i++) {
      const d = (this.x[i] - px) ** 2 + (this.y[i] - py) ** 2;
      if (d < bestDistance) {
        best = i;
        bestDistance = d;
      }
    }
    if (best < 0) {
      this.tooltip.hidden = true;
      return;
    }
    const [key, prefix] = this.graph.nodes[best];
    // a fused task's prefix names its parts (`inc+double+add`)
    const text = `${key}\n${this.graph.prefixes[prefix]} · ` +
      this.graph.stateNames[this.states[best]];
    showTooltip(this.tooltip, text, event.clientX, event.clientY);
  }
}
