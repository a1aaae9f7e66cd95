/**
 * The `processes` scheduler beside Dask's `processes` scheduler (bench/dask/local.py) and,
 * optionally, an older checkout of this repository, interleaved round by round in the same run
 * so that a loaded machine slows all of them alike; each round starts with the next contender
 * (none always runs right after another's teardown). Each measurement runs in a fresh process
 * (bench/processes_run.ts). Prints each figure's median over the rounds and the ratios, and for
 * this tree and the older one the CPU time of the computes (the script's and its worker
 * processes' together), the steadier figure under load.
 *
 *   deno run -A bench/processes.ts [--rounds=3] [--against=path/to/older/checkout]
 */

import { benchArgs } from "./cli.ts";
import { median } from "./measure.ts";

type Figures = Record<
  "tree" | "montecarlo",
  { cold: number; warm: number; coldCpu?: number; warmCpu?: number }
>;

const { values: args } = benchArgs({
  args: Deno.args,
  options: { rounds: { type: "string", default: "3" }, against: { type: "string" } },
}, "deno run -A bench/processes.ts [--rounds=3] [--against=path/to/older/checkout]");
const rounds = Number(args.rounds);
const WORKERS = 2;

async function run(command: string, argv: string[]): Promise<Figures> {
  const out = await new Deno.Command(command, { args: argv, stdout: "piped", stderr: "inherit" })
    .output();
  if (!out.success) throw new Error(`${command} ${argv.join(" ")} failed`);
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").at(-1)!;
  return JSON.parse(text);
}

const runner = new URL("./processes_run.ts", import.meta.url).pathname;
const contenders: [string, () => Promise<Figures>][] = [
  ["this tree", () => run(Deno.execPath(), ["run", "-A", runner, "../", String(WORKERS)])],
];
if (args.against) {
  const dir = new URL(`${args.against.replace(/\/?$/, "/")}`, `file://${Deno.cwd()}/`).href;
  contenders.push([
    `older tree (${args.against})`,
    () => run(Deno.execPath(), ["run", "-A", runner, dir, String(WORKERS)]),
  ]);
}
const daskScript = new URL("./dask/local.py", import.meta.url).pathname;
contenders.push(["Dask", () => run("/usr/bin/python3", [daskScript, String(WORKERS)])]);

const samples = new Map<string, Figures[]>(contenders.map(([name]) => [name, []]));
for (let round = 0; round < rounds; round++) {
  for (let i = 0; i < contenders.length; i++) {
    const [name, measure] = contenders[(round + i) % contenders.length];
    samples.get(name)!.push(await measure());
  }
}

const ours = samples.get("this tree")!;
for (const workload of ["tree", "montecarlo"] as const) {
  for (const phase of ["cold", "warm"] as const) {
    const mine = median(ours.map((f) => f[workload][phase]));
    const line = [`${workload} ${phase}: this tree ${mine.toFixed(3)} s`];
    for (const [name] of contenders.slice(1)) {
      // the ratio of each round's pair, then their median: the pair shared the machine's load
      const ratios = samples.get(name)!.map((f, i) =>
        f[workload][phase] / ours[i][workload][phase]
      );
      const theirs = median(samples.get(name)!.map((f) => f[workload][phase]));
      line.push(`${name} ${theirs.toFixed(3)} s (${median(ratios).toFixed(1)}× ours)`);
    }
    console.log(line.join("; "));
    const cpu = `${phase}Cpu` as const;
    if (ours[0][workload][cpu] === undefined) continue;
    const cpuLine = [
      `${workload} ${phase} CPU: this tree ${
        median(ours.map((f) => f[workload][cpu]!)).toFixed(3)
      } s`,
    ];
    for (const [name] of contenders.slice(1, -1)) {
      const theirs = samples.get(name)!;
      const ratios = theirs.map((f, i) => f[workload][cpu]! / ours[i][workload][cpu]!);
      cpuLine.push(
        `${name} ${median(theirs.map((f) => f[workload][cpu]!)).toFixed(3)} s (${
          median(ratios).toFixed(2)
        }× ours, rounds ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)})`,
      );
    }
    console.log(cpuLine.join("; "));
  }
}
