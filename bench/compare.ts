/**
 * Side by side with Dask, in one run: each workload of issue 17's table runs in a fresh process
 * of this project (`bench/compare/ours.ts`) and right after in a fresh Dask process
 * (`bench/dask/compare.py`, when `python3-distributed` is installed), and the table shows the
 * ratio measured in this run, cold (the first run in the process, as a one-off script sees it)
 * and warm. Ratios are speed-ups: Dask's time over ours (ours over Dask's for MB/s).
 *
 *   deno run -A bench/compare.ts [--rounds=N] [--against=path/to/older/checkout] [workload ...]
 *
 * With `--rounds`, each workload runs N times, ours and Dask's alternating (and an older checkout
 * of this repository's, with `--against`, in between), so that a loaded machine slows all of them
 * alike; each cell is then the median over the rounds and each ratio the median of the rounds'
 * ratios, with their range. Prints a Markdown table with the date and the machine, ready for
 * README.
 */

import { benchArgs } from "./cli.ts";
import { median } from "./measure.ts";

interface Figure {
  cold: number;
  warm: number;
  unit: "ms" | "µs/task" | "MB/s";
}

/** Each workload, what the issue's table calls it, and its target speed-up over Dask. */
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

const { values: flags, positionals: only } = benchArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "1" }, against: { type: "string" } },
  allowPositionals: true,
}, "deno run -A bench/compare.ts [--rounds=N] [--against=path/to/older/checkout] [workload ...]");
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds=${flags.rounds}: give a whole number of rounds, 1 or more`);
  Deno.exit(2);
}
const withDask = await daskAvailable();
if (!withDask) {
  console.error(`(${PYTHON} with dask.distributed not found: this project's side only)`);
}
/** Figures of the rounds (one per round), or why the workload could not be measured. */
type Rounds = Figure[] | string;

/** The median cold / warm of the rounds. */
function cell(figures: Figure[]): string {
  const unit = figures[0].unit;
  return `${show(median(figures.map((f) => f.cold)), unit)} / ${
    show(median(figures.map((f) => f.warm)), unit)
  }`;
}

/** The median of the rounds' speed-ups of `ours` over `other` (range when several), cold / warm. */
function speedUp(ours: Figure[], other: Figure[]): string {
  return (["cold", "warm"] as const).map((phase) => {
    const ratios = ours.map((f, i) => ratio(f[phase], other[i][phase], f.unit));
    const mid = `${median(ratios).toFixed(1)}×`;
    if (ratios.length === 1) return mid;
    return `${mid} (${Math.min(...ratios).toFixed(1)}–${Math.max(...ratios).toFixed(1)})`;
  }).join(" / ");
}

const rows: string[] = [];
const here = new URL("./compare/ours.ts", import.meta.url).href;
const older = flags.against === undefined ? undefined : new URL(
  "bench/compare/ours.ts",
  new URL(flags.against.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`),
)
  .href;
const theirs = new URL("./dask/compare.py", import.meta.url).pathname;
for (const [name, label, target] of WORKLOADS) {
  if (only.length > 0 && !only.includes(name)) continue;
  const contenders: [string, () => Promise<Figure | string>][] = [
    ["ours", () => run(Deno.execPath(), ["run", "-A", here, name])],
  ];
  if (older !== undefined) {
    contenders.push(["older", () => run(Deno.execPath(), ["run", "-A", older, name])]);
  }
  if (withDask) contenders.push(["dask", () => run(PYTHON, [theirs, name])]);
  const samples = new Map<string, Rounds>(contenders.map(([who]) => [who, []]));
  for (let round = 0; round < rounds; round++) {
    for (const [who, measure] of contenders) {
      const got = samples.get(who)!;
      if (typeof got === "string") continue;
      const figure = await measure();
      samples.set(who, typeof figure === "string" ? figure : [...got, figure]);
    }
  }
  const ours = samples.get("ours")!;
  const dask = samples.get("dask") ?? "not measured";
  const old = samples.get("older");
  if (typeof ours === "string") {
    rows.push(`| ${label} | ${ours} | | | |${older === undefined ? "" : " | |"}`);
    console.error(`${name}: ${ours}`);
    continue;
  }
  const cells = typeof dask === "string"
    ? [cell(ours), dask, "", ""]
    : [cell(ours), cell(dask), speedUp(ours, dask), target > 0 ? `≥ ${target}×` : ""];
  if (old !== undefined) {
    cells.push(
      typeof old === "string" ? old : cell(old),
      typeof old === "string" ? "" : speedUp(ours, old),
    );
  }
  rows.push(`| ${label} | ${cells.join(" | ")} |`);
  console.error(`${name}: ${rows.at(-1)}`);
}
console.log(
  `\nMeasured ${new Date().toISOString().slice(0, 10)} on ${machine()}; each cell cold / warm` +
    `${
      rounds > 1 ? `, median of ${rounds} rounds (ratios: median and range of the rounds')` : ""
    }; ` +
    `ratio = speed-up over Dask ${withDask ? "in this run" : "(Dask not measured)"}.\n`,
);
const olderColumns = older === undefined
  ? ["", ""]
  : [` older tree (${flags.against}) |`, " --- | --- |"];
console.log(
  `| workload | here | Dask 2022.12 | ratio | target |${olderColumns[0]}${
    older === undefined ? "" : " speed-up over it |"
  }`,
);
console.log(`| --- | --- | --- | --- | --- |${olderColumns[1]}`);
for (const row of rows) console.log(row);
