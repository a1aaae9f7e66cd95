/**
 * Task graphs as Graphviz DOT text: one node per task labelled by its key prefix, an edge from
 * each dependency to its dependent.
 *
 * @module
 */

import type { Graph } from "../core/graph.ts";
import { keyPrefix } from "../core/task.ts";

function quote(text: string): string {
  return `"${text.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/** The graph in DOT: boxes for literal values, ellipses for function calls. */
export function toDot(graph: Graph, options: { name?: string } = {}): string {
  const lines = [`digraph ${quote(options.name ?? "tasks")} {`, "  rankdir=BT;"];
  for (const task of graph.values()) {
    const shape = task.fn === null ? "box" : "ellipse";
    lines.push(
      `  ${quote(task.key)} [label=${quote(keyPrefix(task.key))}, shape=${shape}, ` +
        `tooltip=${quote(task.key)}];`,
    );
  }
  for (const task of graph.values()) {
    for (const dep of task.deps) lines.push(`  ${quote(dep)} -> ${quote(task.key)};`);
  }
  lines.push("}");
  return lines.join("\n") + "\n";
}
