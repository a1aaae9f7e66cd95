import assert from "node:assert/strict";
import { type Document, DOMParser } from "npm:@xmldom/xmldom@^0.9";
import type { TaskStreamEntry } from "../../scheduler/state.ts";
import {
  prefixTimes,
  renderPerformanceReport,
  writePerformanceReport,
} from "../../client/performance_report.ts";

function run(
  key: string,
  worker: string,
  thread: number,
  start: number,
  stop: number,
  status: "memory" | "erred" = "memory",
): TaskStreamEntry {
  return { key, prefix: key.slice(0, key.lastIndexOf("-")), worker, thread, start, stop, status };
}

const W1 = "tcp://10.0.0.1:4000";
const W2 = "tcp://10.0.0.2:4000";

/** The SVG pictures inside the report, each checked for well-formed XML. */
function svgsOf(html: string): Document[] {
  return [...html.matchAll(/<svg[\s\S]*?<\/svg>/g)].map(([svg]) => {
    const errors: string[] = [];
    const doc = new DOMParser({
      onError: (level: string, message: string) => {
        if (level !== "warning") errors.push(message);
      },
    }).parseFromString(svg, "image/svg+xml");
    assert.deepEqual(errors, []);
    return doc;
  });
}

Deno.test("prefix times add up compute time per prefix, most expensive first", () => {
  const times = prefixTimes([
    run("inc-1", W1, 0, 10, 11),
    run("inc-2", W1, 1, 10, 13),
    run("sum-1", W2, 0, 13, 17, "erred"),
  ]);
  assert.deepEqual(
    times.map((p) => [p.prefix, p.runs, p.erred, p.seconds, p.mean, p.max]),
    [
      ["inc", 2, 0, 4, 2, 3],
      ["sum", 1, 1, 4, 4, 4],
    ].sort((a, b) => (b[3] as number) - (a[3] as number)),
  );
});

Deno.test("the report is standalone HTML with the task stream and per-prefix times", async () => {
  const runs = [
    run("load-1", W1, 0, 100, 100.5),
    run("load-2", W1, 1, 100, 100.4),
    run("inc-1", W2, 0, 100.5, 101),
    run("inc-2", W2, 1, 100.6, 101.2, "erred"),
  ];
  const html = renderPerformanceReport({
    taskStream: runs,
    title: "Grid <search>",
    workers: [{ address: W1, name: "alpha", nthreads: 2 }, { address: W2, nthreads: 2 }],
  });
  assert.match(html, /^<!doctype html>/);
  assert.ok(html.includes("<title>Grid &lt;search&gt;</title>"));
  assert.ok(!/<script|<link|https?:\/\/(?!www\.w3\.org)/.test(html), "nothing to fetch");
  const [stream, chart] = svgsOf(html);
  const bars = Array.from(stream.getElementsByTagName("rect")).filter((r) =>
    r.getElementsByTagName("title").length > 0
  );
  assert.equal(bars.length, 4, "one bar per run");
  const erred = bars.find((b) =>
    b.getElementsByTagName("title")[0].textContent!.startsWith("inc-2")
  );
  assert.equal(erred!.getAttribute("fill"), "#111111");
  const labels = Array.from(stream.getElementsByTagName("text")).map((t) => t.textContent);
  assert.ok(labels.includes("alpha #1"));
  assert.equal(chart.getElementsByTagName("rect").length, 2, "a bar per prefix");
  assert.match(html, /<dt>Task runs<\/dt><dd>4 \(1 erred\)<\/dd>/);
  assert.match(html, /<dt>Wall time<\/dt><dd>1.20 s<\/dd>/);

  const dir = await Deno.makeTempDir();
  try {
    await writePerformanceReport(`${dir}/report.html`, { taskStream: runs });
    assert.match(await Deno.readTextFile(`${dir}/report.html`), /<h1>Performance report<\/h1>/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a report of 100,000 runs merges sub-pixel bars and stays small", () => {
  const runs: TaskStreamEntry[] = [];
  for (let i = 0; i < 100_000; i++) {
    const thread = i % 8;
    const t = 1000 + Math.floor(i / 8) * 0.001;
    runs.push(run(`inc-${i}`, W1, thread, t, t + 0.0009));
  }
  const html = renderPerformanceReport({ taskStream: runs });
  assert.ok(html.length < 2_000_000, `report is ${html.length} bytes`);
  const [stream] = svgsOf(html);
  const merged = Array.from(stream.getElementsByTagName("title"))
    .filter((t) => /^\d+ × inc/.test(t.textContent ?? ""));
  assert.ok(merged.length > 0 && merged.length < 10_000);
  assert.match(html, /<dt>Task runs<\/dt><dd>100,000<\/dd>/);
});
