import assert from "node:assert/strict";
import parseDot from "npm:dotparser@^1";
import { DOMParser } from "npm:@xmldom/xmldom@^0.9";
import type { Graph } from "../../core/graph.ts";
import { makeLiteral, makeTask, type Task, TaskRef } from "../../core/task.ts";
import { GraphPicture, toDot, toSvg, visualizeGraph } from "../../collections/visualize.ts";

const add = (...xs: number[]) => xs.reduce((a, b) => a + b, 0);

/** A blocked reduction: `leaves` literal chunks → `inc` each → `sum` in groups of 4 → `total`. */
function treeGraph(leaves: number): Graph {
  const tasks: Task[] = [];
  let level: string[] = [];
  for (let i = 0; i < leaves; i++) {
    tasks.push(makeLiteral(`chunk-${i}`, i));
    tasks.push(makeTask(`inc-${i}`, add, [new TaskRef(`chunk-${i}`), 1]));
    level.push(`inc-${i}`);
  }
  for (let depth = 0; level.length > 1; depth++) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += 4) {
      const key = `sum-${depth}x${i}`;
      tasks.push(makeTask(key, add, level.slice(i, i + 4).map((k) => new TaskRef(k))));
      next.push(key);
    }
    level = next;
  }
  tasks.push(makeTask("total-1", add, [new TaskRef(level[0])]));
  return new Map(tasks.map((t) => [t.key, t]));
}

function edgeCount(graph: Graph): number {
  let n = 0;
  for (const task of graph.values()) n += task.deps.length;
  return n;
}

/** Parses SVG as XML, failing on any well-formedness error. */
function parseSvg(text: string) {
  const errors: string[] = [];
  const doc = new DOMParser({
    onError: (level: string, message: string) => {
      if (level !== "warning") errors.push(message);
    },
  }).parseFromString(text, "image/svg+xml");
  assert.deepEqual(errors, []);
  return doc;
}

Deno.test("DOT output parses, with every task, edge and a colour per function", () => {
  const graph = treeGraph(64);
  const dot = toDot(graph, { name: 'my "graph"' });
  const [ast] = parseDot(dot) as {
    type: string;
    id: string;
    children: {
      type: string;
      node_id?: { id: string };
      attr_list?: { id: string; eq: string }[];
      edge_list?: unknown[];
    }[];
  }[];
  assert.equal(ast.type, "digraph");
  assert.equal(ast.id, 'my "graph"');
  const nodes = ast.children.filter((c) => c.type === "node_stmt");
  const edges = ast.children.filter((c) => c.type === "edge_stmt");
  assert.equal(nodes.length, graph.size);
  assert.equal(edges.length, edgeCount(graph));
  const fill = (key: string) =>
    nodes.find((n) => n.node_id!.id === key)!.attr_list!.find((a) => a.id === "fillcolor")!.eq;
  assert.equal(fill("inc-1"), fill("inc-2"), "same function, same colour");
  assert.notEqual(fill("inc-1"), fill("sum-0x0"));
  const shape = (key: string) =>
    nodes.find((n) => n.node_id!.id === key)!.attr_list!.find((a) => a.id === "shape")!.eq;
  assert.equal(shape("chunk-0"), "box");
  assert.equal(shape("inc-0"), "ellipse");
});

Deno.test("SVG output is valid SVG with a node per task and an arrow per dependency", async () => {
  const graph = treeGraph(128); // 128 + 128 + 32 + 8 + 2 + 1 + 1 = 300 tasks
  const svg = await toSvg(graph, { name: "tree & co" });
  const doc = parseSvg(svg);
  const root = doc.documentElement!;
  assert.equal(root.nodeName, "svg");
  assert.equal(root.getAttribute("xmlns"), "http://www.w3.org/2000/svg");
  const width = Number(root.getAttribute("width"));
  const height = Number(root.getAttribute("height"));
  assert.ok(width > 0 && height > 0);
  const groups = Array.from(root.getElementsByTagName("g"));
  const nodes = groups.filter((g) => g.getAttribute("class") === "node");
  assert.equal(nodes.length, graph.size);
  const titles = new Set(nodes.map((g) => g.getElementsByTagName("title")[0].textContent));
  assert.deepEqual(titles, new Set(graph.keys()));
  const edgeGroup = groups.find((g) => g.getAttribute("class") === "edges")!;
  assert.equal(edgeGroup.getElementsByTagName("path").length, edgeCount(graph));
  // Every node lies inside the picture.
  for (const shape of [...root.getElementsByTagName("ellipse")]) {
    const cx = Number(shape.getAttribute("cx"));
    const cy = Number(shape.getAttribute("cy"));
    assert.ok(cx >= 0 && cx <= width && cy >= 0 && cy <= height, `node at ${cx},${cy}`);
  }
  // Results on top: the total sits above its inputs.
  const y = (key: string) => {
    const g = nodes.find((n) => n.getElementsByTagName("title")[0].textContent === key)!;
    return Number(g.getElementsByTagName("ellipse")[0].getAttribute("cy"));
  };
  assert.ok(y("total-1") < y("inc-0"));
});

Deno.test("a deep graph with long edges is laid out whole, each step above its input", async () => {
  // A chain of 400 tasks, each also reading one of the first ten: thousands of long edges, over
  // dagre's budget, so the linear-time layered layout places it (bench/ measures its speed).
  const tasks: Task[] = [makeLiteral("x-0", 0)];
  for (let i = 1; i < 400; i++) {
    const refs = [new TaskRef(`x-${i - 1}`)];
    if (i > 10) refs.push(new TaskRef(`x-${i % 10}`));
    tasks.push(makeTask(`x-${i}`, add, refs));
  }
  const graph: Graph = new Map(tasks.map((t) => [t.key, t]));
  const svg = await toSvg(graph);
  const root = parseSvg(svg).documentElement!;
  const height = Number(root.getAttribute("height"));
  const groups = Array.from(root.getElementsByTagName("g"));
  const nodes = groups.filter((g) => g.getAttribute("class") === "node");
  assert.equal(nodes.length, 400);
  const edgeGroup = groups.find((g) => g.getAttribute("class") === "edges")!;
  assert.equal(edgeGroup.getElementsByTagName("path").length, edgeCount(graph));
  const y = new Map(nodes.map((g) => [
    g.getElementsByTagName("title")[0].textContent!,
    Number(
      g.getElementsByTagName("ellipse")[0]?.getAttribute("cy") ??
        g.getElementsByTagName("rect")[0].getAttribute("y"),
    ),
  ]));
  for (let i = 1; i < 400; i++) {
    assert.ok(y.get(`x-${i}`)! < y.get(`x-${i - 1}`)!, `x-${i} is drawn above its input`);
  }
  for (const value of y.values()) assert.ok(value >= 0 && value <= height);
});

Deno.test("visualizeGraph writes the format its filename names", async () => {
  const graph = treeGraph(4);
  const dir = await Deno.makeTempDir();
  try {
    const svg = (await visualizeGraph(graph, { filename: `${dir}/g.svg` })).text;
    assert.equal(await Deno.readTextFile(`${dir}/g.svg`), svg);
    assert.match(svg, /^<svg /);
    const dot = (await visualizeGraph(graph, { filename: `${dir}/g.dot` })).text;
    assert.match(await Deno.readTextFile(`${dir}/g.dot`), /^digraph "tasks" \{/);
    assert.equal(dot, toDot(graph));
    await assert.rejects(
      visualizeGraph(graph, { filename: `${dir}/g.png` }),
      /name it \.svg or \.dot/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a picture shows as SVG in a notebook, also when it was asked for as DOT", async () => {
  const graph = treeGraph(4);
  const picture = await visualizeGraph(graph, { name: "tree" });
  assert.ok(picture instanceof GraphPicture);
  assert.equal(picture.format, "dot");
  assert.equal(String(picture), toDot(graph, { name: "tree" }));
  const display = picture as unknown as Record<symbol, () => Promise<Record<string, string>>>;
  const bundle = await display[Symbol.for("Jupyter.display")]();
  assert.equal(bundle["image/svg+xml"], await toSvg(graph, { name: "tree" }));
  assert.equal(bundle["text/plain"], `GraphPicture<tree, ${graph.size} tasks, dot>`);
  assert.equal(Deno.inspect(picture), bundle["text/plain"]);
});
