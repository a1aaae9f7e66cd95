/**
 * Every figure of `deno task bench` (bench/main.ts's suites) beside the same figure of an older
 * checkout of this repository, measured in one run: each round runs each suite once in each tree,
 * alternating which tree goes first, each in a fresh process, so a loaded machine slows both alike.
 * Prints, per figure, both medians, the median and range of the rounds' ratios (new / old) and a
 * verdict: "within noise" when that median lies inside the old tree's own spread across the rounds
 * or when the rounds disagree on which tree is ahead; else "better" or "worse" by the figure's unit
 * (a time or a size: lower is better; a rate, `…/s`: higher).
 *
 *   deno run -A bench/against.ts --against=path/to/older/checkout [--rounds=3] [--quick]
 *     [--suite-timeout=900] [suite…]
 *
 * A suite run that passes `--suite-timeout` seconds is stopped (SIGTERM, then SIGKILL 10 s later)
 * and only the figures it printed by then count, so one hung suite cannot hold the whole run.
 * `--quick` passes `--quick` to the suites that have smaller sizes (distributed, resilience).
 * state_machines runs on the CPU clock in both trees (bench/cpu_clock.ts). A figure is a number
 * that changes between runs; the rest of its line (numbers that never change included) names it,
 * so lines that read differently in the two trees are listed apart, not compared. With
 * `--rounds=1` every number that differs between the trees is shown as a figure, without a verdict
 * (one round measures no noise, and cannot tell a figure from a size that changed).
 *
 * @module
 */

import { benchArgs } from "./cli.ts";
import { median } from "./measure.ts";
import { SUITES } from "./main.ts";

/** Suites timed on one core: both trees read CPU time instead of the wall clock. */
const CPU_CLOCK_SUITES = new Set(["state_machines"]);
/** Suites that accept `--quick` (smaller sizes). */
const QUICK_SUITES = new Set(["distributed", "resilience"]);
/** A number as the benchmarks print them: `16,383`, `0.27`, `1.5e-3`. */
const NUMBER = /\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:e[+-]?\d+)?/g;

const { values: flags, positionals } = benchArgs(
  {
    args: Deno.args,
    allowPositionals: true,
    options: {
      against: { type: "string" },
      rounds: { type: "string", default: "3" },
      quick: { type: "boolean", default: false },
      "suite-timeout": { type: "string", default: "900" },
    },
  },
  "deno run -A bench/against.ts --against=path/to/older/checkout [--rounds=3] [--quick] [--suite-timeout=900] [suite ...]",
);
if (flags.against === undefined) {
  console.error("usage: deno run -A bench/against.ts --against=<older checkout> [--rounds=3]");
  Deno.exit(2);
}
const here = new URL("../", import.meta.url).pathname;
const there = new URL(flags.against.replace(/\/?$/, "/"), `file://${Deno.cwd()}/`).pathname;
const rounds = Number(flags.rounds);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`--rounds must be a whole number of at least 1, not ${flags.rounds}`);
  Deno.exit(2);
}
const suiteTimeoutMs = Number(flags["suite-timeout"]) * 1000;
if (!(suiteTimeoutMs > 0)) {
  console.error(
    `--suite-timeout must be a positive number of seconds, not ${flags["suite-timeout"]}`,
  );
  Deno.exit(2);
}

/** One output line cut into its name (numbers as `#`) and its numbers. */
interface Line {
  template: string;
  numbers: number[];
}

/** The figures lines of one run: keyed by template (the n-th repeat of a template gets `#n`). */
function parse(output: string): Map<string, number[]> {
  const lines = new Map<string, number[]>();
  for (const raw of output.split("\n")) {
    const line = cut(raw.trim());
    if (line === null) continue;
    let key = line.template;
    for (let n = 2; lines.has(key); n++) key = `${line.template} #${n}`;
    lines.set(key, line.numbers);
  }
  return lines;
}

function cut(text: string): Line | null {
  const numbers: number[] = [];
  const template = text.replace(NUMBER, (found) => {
    numbers.push(Number(found.replaceAll(",", "")));
    return "#";
  }).replace(/\s+/g, " "); // column padding may differ between the trees
  return numbers.length === 0 ? null : { template, numbers };
}

async function runSuite(tree: string, suite: string): Promise<Map<string, number[]>> {
  const args = ["run", "-A"];
  if (CPU_CLOCK_SUITES.has(suite)) args.push(`--preload=${here}bench/cpu_clock.ts`);
  args.push(`${tree}bench/${suite}.ts`);
  if (flags.quick && QUICK_SUITES.has(suite)) args.push("--quick");
  const child = new Deno.Command(Deno.execPath(), { args, cwd: tree, stdout: "piped" }).spawn();
  let timedOut = false;
  let kill: ReturnType<typeof setTimeout> | undefined;
  const stop = setTimeout(() => {
    timedOut = true;
    child.kill("SIGTERM"); // lets the suite close its clusters
    kill = setTimeout(() => child.kill("SIGKILL"), 10_000);
  }, suiteTimeoutMs);
  const out = await child.output();
  clearTimeout(stop);
  clearTimeout(kill);
  const text = new TextDecoder().decode(out.stdout);
  if (timedOut) {
    console.error(
      `${tree}bench/${suite}.ts passed --suite-timeout (${suiteTimeoutMs / 1000} s) and was ` +
        `stopped: only the figures it printed by then count`,
    );
  } else if (!out.success) console.error(`${tree}bench/${suite}.ts exited with ${out.code}`);
  return parse(text);
}

/** Where the unit after a figure says which way is better: -1 lower, 1 higher, 0 unknown. */
function better(template: string, position: number): number {
  const after = template.split("#")[position + 1] ?? "";
  const unit = after.trimStart().split(/[\s,;)(]/)[0];
  if (/\/s$/.test(unit)) return 1; // a rate: MB/s, GFLOP/s
  // a time or a size, also per something: s, µs/task, B/task, %, cores
  if (/^(s|ms|µs|us|ns|B|KB|MB|GB|%|cores?)(\/\w+)?$/.test(unit)) return -1;
  return 0;
}

const exists = (path: string) => Deno.stat(path).then(() => true, () => false);
const suites = positionals.length > 0 ? positionals : SUITES;

console.log(`# ${new Date().toISOString()}: ${rounds} rounds, new = ${here}, old = ${there}`);
console.log(
  "| suite | figure (numbers of the line as #) | # | old | new | new / old: median (range) of the rounds | old / old's median | |",
);
console.log("| --- | --- | --- | --- | --- | --- | --- | --- |");
for (const suite of suites) {
  if (!(await exists(`${here}bench/${suite}.ts`))) continue;
  if (!(await exists(`${there}bench/${suite}.ts`))) {
    console.log(`| ${suite} | (no such suite in the old tree) | | | | | | |`);
    continue;
  }
  const runs: { old: Map<string, number[]>; new: Map<string, number[]> }[] = [];
  for (let round = 0; round < rounds; round++) {
    // alternate who goes first, so neither tree always runs on a warmer (or busier) machine
    const order = round % 2 === 0 ? [there, here] : [here, there];
    const first = await runSuite(order[0], suite);
    const second = await runSuite(order[1], suite);
    runs.push(order[0] === there ? { old: first, new: second } : { old: second, new: first });
  }
  const shared = [...runs[0].new.keys()].filter((key) =>
    runs.every((r) => r.old.get(key)?.length === r.new.get(key)?.length && r.new.has(key))
  );
  for (const key of shared) {
    const count = runs[0].new.get(key)!.length;
    const sizes: string[] = [];
    const rows: string[] = [];
    for (let i = 0; i < count; i++) {
      const olds = runs.map((r) => r.old.get(key)![i]);
      const news = runs.map((r) => r.new.get(key)![i]);
      // a number that never changes is part of the figure's name (a size, a count)
      if ([...olds, ...news].every((x) => x === olds[0])) continue;
      // (one round cannot tell a size from a figure: every number that differs is a figure then)
      if (
        runs.length > 1 && olds.every((x) => x === olds[0]) && news.every((x) => x === news[0])
      ) {
        // the same in every round of each tree but not between them: the trees do different work
        sizes.push(`${i + 1}: old ${olds[0]}, new ${news[0]}`);
        continue;
      }
      const ratios = runs.map((_, j) => news[j] / olds[j]).filter(Number.isFinite);
      const ratio = median(ratios);
      const oldMedian = median(olds);
      const low = Math.min(...olds) / oldMedian;
      const high = Math.max(...olds) / oldMedian;
      const way = better(key, i);
      const spread = `${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}`;
      // noise: the ratio sits inside the old tree's own spread, or the rounds disagree on its side
      const noise = (ratio >= low && ratio <= high) ||
        (Math.min(...ratios) <= 1 && Math.max(...ratios) >= 1);
      const verdict = runs.length < 2
        ? "one round: no noise estimate"
        : noise
        ? "within noise"
        : way === 0
        ? "outside the old spread"
        : (ratio < low) === (way < 0)
        ? "better"
        : "worse";
      rows.push(
        `| ${suite} | ${key.replaceAll("|", "/")} | ${i + 1} | ${fmt(oldMedian)} | ` +
          `${fmt(median(news))} | ${ratio.toFixed(2)}× (${spread}) | ${low.toFixed(2)}–${
            high.toFixed(2)
          } | ` +
          `${verdict} |`,
      );
    }
    const note = sizes.length > 0 ? ` (not the same work: # ${sizes.join("; # ")})` : "";
    for (const row of rows) console.log(row.replace(/ \|$/, `${note} |`));
  }
  const onlyNew = [...runs[0].new.keys()].filter((k) => !shared.includes(k));
  const onlyOld = [...runs[0].old.keys()].filter((k) => !runs[0].new.has(k));
  for (const key of onlyNew) console.log(`| ${suite} | ${key} | new only | | | | | |`);
  for (const key of onlyOld) console.log(`| ${suite} | ${key} | old only | | | | | |`);
}

function fmt(x: number): string {
  return Math.abs(x) >= 100 ? x.toFixed(0) : Math.abs(x) >= 1 ? x.toFixed(2) : x.toPrecision(3);
}
