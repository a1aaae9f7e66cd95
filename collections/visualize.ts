/**
 * Task graphs as pictures: Graphviz DOT text, or a standalone SVG laid out here (no Graphviz
 * needed). One node per task labelled by its key prefix and coloured by it (the function), an
 * edge from each dependency to its dependent; results on top, as Dask draws them.
 *
 * The SVG layout is layered (Sugiyama): dagre when the graph is small enough for it to finish
 * quickly, else the dashboard's linear-time layered layout, so a deep graph never hangs.
 *
 * @module
 */

import type { Graph } from "../core/graph.ts";
import { keyPrefix } from "../core/task.ts";
// One layout and one palette for the dashboard's Graph page and these files.
import { layeredLayout } from "../core/display/graph_layout.js";
import { prefixColor } from "../core/display/palette.js";
import { jupyterDisplay, type MimeBundle } from "./display/notebook.ts";

/** What `.visualize()` draws and where it writes it. */
export interface VisualizeOptions {
  /** Writes the picture to this file; `.svg` gives SVG, `.dot`/`.gv` DOT. */
  filename?: string;
  /** Output format; default: from `filename`'s extension, else `"dot"`. */
  format?: "dot" | "svg";
  /** The graph's title. */
  name?: string;
}

/** Nodes plus long edges (dummy nodes) above which dagre is too slow; see the module doc. */
const DAGRE_BUDGET = 3000;
const NODE_HEIGHT = 26;
const CHAR_WIDTH = 7;

function quote(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The graph in DOT: boxes for literal values, ellipses for function calls, one colour per prefix. */
export function toDot(graph: Graph, options: { name?: string } = {}): string {
  const lines = [
    `digraph ${quote(options.name ?? "tasks")} {`,
    "  rankdir=BT;",
    '  node [style=filled, fontname="Helvetica", fontsize=11];',
  ];
  for (const task of graph.values()) {
    const shape = task.fn === null ? "box" : "ellipse";
    const prefix = keyPrefix(task.key);
    lines.push(
      `  ${quote(task.key)} [label=${quote(prefix)}, shape=${shape}, ` +
        `fillcolor=${quote(prefixColor(prefix))}, tooltip=${quote(task.key)}];`,
    );
  }
  for (const task of graph.values()) {
    for (const dep of task.deps) {
      if (graph.has(dep)) lines.push(`  ${quote(dep)} -> ${quote(task.key)};`);
    }
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}

function escapeXml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

interface Placed {
  width: number;
  height: number;
  /** Node centres and sizes, in graph order. */
  nodes: { x: number; y: number; w: number }[];
  /** Edge polylines, in the order of `edges`. */
  edgePoints: { x: number; y: number }[][];
}

/** Dependency → dependent pairs as node indices (edges to keys outside the graph are left out). */
function indexEdges(keys: string[], graph: Graph): [number, number][] {
  const index = new Map(keys.map((k, i) => [k, i]));
  const edges: [number, number][] = [];
  keys.forEach((key, i) => {
    for (const dep of graph.get(key)!.deps) {
      const from = index.get(dep);
      if (from !== undefined) edges.push([from, i]);
    }
  });
  return edges;
}

function nodeWidth(label: string): number {
  return Math.max(44, label.length * CHAR_WIDTH + 20);
}

async function dagreLayout(labels: string[], edges: [number, number][]): Promise<Placed> {
  const { default: dagre } = await import("npm:@dagrejs/dagre@^1");
  const g = new dagre.graphlib.Graph();
  g.setGraph({ rankdir: "BT", nodesep: 14, ranksep: 34, marginx: 12, marginy: 12 });
  g.setDefaultEdgeLabel(() => ({}));
  labels.forEach((label, i) =>
    g.setNode(String(i), { width: nodeWidth(label), height: NODE_HEIGHT })
  );
  for (const [a, b] of edges) g.setEdge(String(a), String(b));
  dagre.layout(g);
  const size = g.graph();
  return {
    width: Math.ceil(size.width ?? 0),
    height: Math.ceil(size.height ?? 0),
    nodes: labels.map((_, i) => {
      const n = g.node(String(i));
      return { x: n.x, y: n.y, w: n.width };
    }),
    edgePoints: edges.map(([a, b]) => g.edge(String(a), String(b)).points),
  };
}

function layeredPlacement(
  labels: string[],
  edges: [number, number][],
  layers: ReturnType<typeof layeredLayout>,
): Placed {
  const { rank, order, rankCount, rankSizes } = layers;
  const slot = Math.max(...labels.map(nodeWidth)) + 12;
  let widest = 1;
  for (const size of rankSizes) widest = Math.max(widest, size);
  const width = widest * slot + 24;
  const rowHeight = NODE_HEIGHT + 34;
  const height = rankCount * rowHeight + 24;
  const nodes = labels.map((label, i) => ({
    // Each rank spreads over the full width; inputs at the bottom, results on top.
    x: 12 + ((order[i] + 0.5) / rankSizes[rank[i]]) * (width - 24),
    y: height - 12 - (rank[i] + 0.5) * rowHeight,
    w: nodeWidth(label),
  }));
  const edgePoints = edges.map(([a, b]) => [
    { x: nodes[a].x, y: nodes[a].y - NODE_HEIGHT / 2 },
    { x: nodes[b].x, y: nodes[b].y + NODE_HEIGHT / 2 },
  ]);
  return { width, height, nodes, edgePoints };
}

/** The graph as a standalone SVG document. */
export async function toSvg(graph: Graph, options: { name?: string } = {}): Promise<string> {
  const keys = [...graph.keys()];
  const labels = keys.map(keyPrefix);
  const edges = indexEdges(keys, graph);
  const layers = layeredLayout(keys.length, edges);
  let cost = keys.length;
  for (const [a, b] of edges) cost += layers.rank[b] - layers.rank[a] - 1;
  const placed = cost <= DAGRE_BUDGET
    ? await dagreLayout(labels, edges)
    : layeredPlacement(labels, edges, layers);

  const prefixes = [...new Set(labels)];
  const legendHeight = 22;
  const width = Math.max(placed.width, 200);
  const height = placed.height + legendHeight;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<title>${escapeXml(options.name ?? "tasks")}: ${keys.length} tasks</title>`,
    '<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="7" ' +
    'markerHeight="7" orient="auto"><path d="M0,0L8,4L0,8z" fill="#8a8f96"/></marker></defs>',
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<g class="edges" fill="none" stroke="#8a8f96" stroke-width="1">`,
  ];
  for (const points of placed.edgePoints) {
    const d = points.map((p, i) => `${i === 0 ? "M" : "L"}${p.x.toFixed(1)},${p.y.toFixed(1)}`);
    out.push(`<path d="${d.join("")}" marker-end="url(#arrow)"/>`);
  }
  out.push("</g>", '<g class="nodes" stroke="#44484d" stroke-width="0.8">');
  keys.forEach((key, i) => {
    const { x, y, w } = placed.nodes[i];
    const fill = prefixColor(labels[i]);
    const shape = graph.get(key)!.fn === null
      ? `<rect x="${(x - w / 2).toFixed(1)}" y="${(y - NODE_HEIGHT / 2).toFixed(1)}" ` +
        `width="${w}" height="${NODE_HEIGHT}" rx="3" fill="${fill}"/>`
      : `<ellipse cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" rx="${w / 2}" ` +
        `ry="${NODE_HEIGHT / 2}" fill="${fill}"/>`;
    out.push(
      `<g class="node"><title>${escapeXml(key)}</title>${shape}` +
        `<text x="${x.toFixed(1)}" y="${(y + 4).toFixed(1)}" text-anchor="middle" ` +
        `stroke="none" fill="#111">${escapeXml(labels[i])}</text></g>`,
    );
  });
  out.push("</g>", `<g class="legend" transform="translate(8,${placed.height + 6})">`);
  let x = 0;
  for (const prefix of prefixes) {
    out.push(
      `<rect x="${x}" y="0" width="10" height="10" fill="${prefixColor(prefix)}"/>` +
        `<text x="${x + 14}" y="9">${escapeXml(prefix)}</text>`,
    );
    x += 24 + prefix.length * CHAR_WIDTH;
  }
  out.push("</g>", "</svg>");
  return out.join("\n") + "\n";
}

function formatOf(options: VisualizeOptions): "dot" | "svg" {
  if (options.format !== undefined) return options.format;
  const name = options.filename?.toLowerCase() ?? "";
  if (name.endsWith(".svg")) return "svg";
  if (name === "" || name.endsWith(".dot") || name.endsWith(".gv")) return "dot";
  throw new TypeError(
    `visualize(): cannot tell the format of '${options.filename}'; ` +
      `name it .svg or .dot, or pass format: "svg" | "dot".`,
  );
}

/**
 * What `.visualize()` gives: the picture's text (DOT or SVG) and, in a notebook (`deno jupyter`),
 * the graph drawn as SVG whatever the format — as Dask's `visualize()` returns a picture that
 * Jupyter shows. `String(picture)` and `picture.text` are the text.
 *
 * @example
 * ```ts
 * import { delayed } from "./mod.ts";
 *
 * const total = delayed((a: number, b: number) => a + b)(1, 2);
 * const picture = await total.visualize();
 * console.log(picture.format, picture.text.startsWith("digraph")); // dot true
 * ```
 */
export class GraphPicture {
  readonly #graph: Graph;
  readonly #name: string | undefined;

  /** A picture of `graph` whose text is `text`, in `format` (what {@link visualizeGraph} makes). */
  constructor(
    /** `"dot"` or `"svg"`: what {@link GraphPicture.text} holds. */
    readonly format: "dot" | "svg",
    /** The picture as DOT or SVG text. */
    readonly text: string,
    graph: Graph,
    name?: string,
  ) {
    this.#graph = graph;
    this.#name = name;
  }

  /** How many tasks the picture draws. */
  get tasks(): number {
    return this.#graph.size;
  }

  /** The DOT or SVG text. */
  toString(): string {
    return this.text;
  }

  /** The picture as SVG (drawn now when it was asked for as DOT). */
  svg(): Promise<string> {
    return this.format === "svg"
      ? Promise.resolve(this.text)
      : toSvg(this.#graph, { name: this.#name });
  }

  /** In a notebook: the SVG drawing (Deno's kernel awaits it). */
  async [jupyterDisplay](): Promise<MimeBundle> {
    return { "text/plain": this.#plain(), "image/svg+xml": await this.svg() };
  }

  /** `console.log` shows what the picture is, not its text. */
  [Symbol.for("Deno.customInspect")](): string {
    return this.#plain();
  }

  #plain(): string {
    return `GraphPicture<${this.#name ?? "tasks"}, ${this.tasks} tasks, ${this.format}>`;
  }
}

/**
 * The graph as DOT or SVG text; with `filename`, also written there. This is what the
 * collections' `.visualize(options)` does.
 *
 * @example
 * ```ts
 * import { delayed, visualizeGraph } from "./mod.ts";
 *
 * const total = delayed((a: number, b: number) => a + b)(1, 2);
 * const picture = await visualizeGraph(total.graph, { format: "svg" });
 * console.log(picture.text.startsWith("<svg")); // true
 * ```
 */
export async function visualizeGraph(
  graph: Graph,
  options: VisualizeOptions = {},
): Promise<GraphPicture> {
  const format = formatOf(options);
  const text = format === "svg" ? await toSvg(graph, options) : toDot(graph, options);
  if (options.filename !== undefined) await Deno.writeTextFile(options.filename, text);
  return new GraphPicture(format, text, graph, options.name);
}
