/**
 * Side by side with Dask, in one run: each workload of issue 17's table runs in a fresh process
 * of this project (`bench/compare/ours.ts`) and right after in a fresh Dask process
 * (`bench/dask/compare.py`, when `python3-distributed` is installed), and the table shows the
 * ratio measured in this run, cold (the first run in the process, as a one-off script sees it)
 * and warm. Ratios are speed-ups: Dask's time over ours (ours over Dask's for MB/s).
 *
 *   deno run -A bench/compare.ts [workload ...]
 *
 * Prints a Markdown table with the date and the machine, ready for README.
 */

interface Figure {
  cold: number;
  warm: number;
  unit: "ms" | "µs/task" | "MB/s";
}

/** Each workload, what the table calls it, and its target speed-up over Dask. */
const WORKLOADS: [name: string, label: string, target: number][] = [
  ["roundtrip", "submit → result round trip (median of 200)", 30],
  ["submit10k", "10,000 submit + gather, per task", 150],
  ["map10k", "map of 10,000, per task", 100],
  ["treeCluster", "`delayed` tree, 16,383 tasks, cluster, per task", 100],
  ["treeThreads", "same tree, `threads`, per task", 20],
  ["treeSync", "same tree, `sync`, per task", 0],
  ["monteCarloCluster", "Monte Carlo (seed 000), 1,000 walks, cluster", 100],
  ["arrayThreads", "`(x + x.T).sum(axis=0).mean()`, 4000², `threads`", 1.5],
  ["arrayCluster", "same, 2-worker cluster", 4],
  ["transfer", "200 MB worker → worker", 4],
  ["bag200k", "bag: 200k records, 3 queries, cluster", 50],
];

const PYTHON = "/usr/bin/python3";

async function run(cmd: string, args: string[]): Promise<Figure | string> {
  try {
    const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1) ?? "";
    if (out.code !== 0) {
      return `failed (${out.code}): ${new TextDecoder().decode(out.stderr).trim().slice(-300)}`;
    }
    return JSON.parse(text) as Figure;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  }
}

async function daskAvailable(): Promise<boolean> {
  const probe = await run(PYTHON, ["-c", 'print(\'{"cold":0,"warm":0,"unit":"ms"}\')']);
  if (typeof probe === "string") return false;
  const imported = await new Deno.Command(PYTHON, {
    args: ["-c", "import distributed, numpy"],
    stdout: "null",
    stderr: "null",
  }).output().catch(() => ({ code: 1 }));
  return imported.code === 0;
}

function show(value: number, unit: string): string {
  const digits = value >= 100 ? 0 : value >= 10 ? 1 : value >= 1 ? 2 : 3;
  return `${value.toFixed(digits)} ${unit === "µs/task" ? "µs" : unit}`;
}

function ratio(ours: number, dask: number, unit: string): number {
  return unit === "MB/s" ? ours / dask : dask / ours;
}

function machine(): string {
  let model = "unknown CPU";
  try {
    const info = Deno.readTextFileSync("/proc/cpuinfo");
    model = /model name\s*:\s*(.+)/.exec(info)?.[1] ?? model;
  } catch { /* not Linux */ }
  return `${navigator.hardwareConcurrency} cores, ${model}`;
}

const only = Deno.args;
const withDask = await daskAvailable();
if (!withDask) {
  console.error(`(${PYTHON} with dask.distributed not found: this project's side only)`);
}
const rows: string[] = [];
const here = new URL("./compare/ours.ts", import.meta.url).href;
const theirs = new URL("./dask/compare.py", import.meta.url).pathname;
for (const [name, label, target] of WORKLOADS) {
  if (only.length > 0 && !only.includes(name)) continue;
  const ours = await run(Deno.execPath(), ["run", "-A", here, name]);
  const dask = withDask ? await run(PYTHON, [theirs, name]) : "not measured";
  if (typeof ours === "string") {
    rows.push(`| ${label} | ${ours} | | | |`);
    console.error(`${name}: ${ours}`);
    continue;
  }
  const cells = typeof dask === "string"
    ? [`${show(ours.cold, ours.unit)} / ${show(ours.warm, ours.unit)}`, dask, "", ""]
    : [
      `${show(ours.cold, ours.unit)} / ${show(ours.warm, ours.unit)}`,
      `${show(dask.cold, dask.unit)} / ${show(dask.warm, dask.unit)}`,
      `${ratio(ours.cold, dask.cold, ours.unit).toFixed(1)}× / ${
        ratio(ours.warm, dask.warm, ours.unit).toFixed(1)
      }×`,
      target > 0 ? `≥ ${target}×` : "",
    ];
  rows.push(`| ${label} | ${cells.join(" | ")} |`);
  console.error(`${name}: ${rows.at(-1)}`);
}
console.log(
  `\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine()}; each cell cold / warm; ` +
    `ratio = speed-up over Dask ${withDask ? "in this run" : "(Dask not measured)"}.\n`,
);
console.log("| workload | here | Dask 2022.12 | ratio | target |");
console.log("| --- | --- | --- | --- | --- |");
for (const row of rows) console.log(row);
