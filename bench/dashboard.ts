/**
 * What an open dashboard costs: throughput of a sustained stream of 10,000-task maps (a `map` of
 * `inc`, submitted, gathered and released, `--maps` of them back to back make one sample of
 * several seconds) on a scheduler process serving the dashboard, with two pages open against none,
 * and the CPU time of every process group per task: the scheduler, the workers (with their
 * nannies), the client (this process, which also drives Chromium) and Chromium (by process role).
 *
 *   deno run -A bench/dashboard.ts                      8 rounds of 6 maps, two Status pages
 *   deno run -A bench/dashboard.ts --runs 12 --maps 8   more rounds, longer samples
 *   deno run -A bench/dashboard.ts --readers chromium,idle,sse
 *   deno run -A bench/dashboard.ts --second status,workers   also a Status + a Workers page
 *   deno run -A bench/dashboard.ts --against ../old     and a second tree (the code before a
 *                                                       change), its samples interleaved
 *
 * Chromium is launched once and its two tabs stay open for the whole run: a sample "without
 * pages" has them on `about:blank`, a sample "with" on the dashboard (loaded, drawn, then left to
 * settle before the sample starts). Each round measures a pair, without and with, in the order
 * AB in even rounds and BA in odd ones (a drift in the machine's load then falls on both sides);
 * the loss is `1 − with / without` per pair, reported as the median over the rounds with a
 * bootstrap 90 % interval of that median and the range. Target: two pages cost at most 5 %.
 *
 * Readers: `chromium` (the dashboard's pages in headless Chromium, /usr/bin/chromium or
 * CHROMIUM_PATH), `idle` (the two tabs on `/health`, a page that receives nothing: what
 * Chromium costs by merely showing a page), `sse` (a separate process reading the same
 * server-sent-event streams the pages read, `/api/v1/live`, parsing every event and rendering
 * nothing: the scheduler's side alone).
 */

import { benchArgs } from "./cli.ts";
import { Client, type Future } from "../mod.ts";
import { type Browser, chromiumMissing, openBrowser } from "../tests/browser/chromium.ts";
import { median, report } from "./measure.ts";

const { values } = benchArgs(
  {
    args: Deno.args,
    options: {
      runs: { type: "string" },
      maps: { type: "string" },
      readers: { type: "string" },
      second: { type: "string" },
      against: { type: "string" },
    },
  },
  "deno run -A bench/dashboard.ts [--runs N] [--maps N] [--readers chromium,idle,sse] [--second status,workers] [--against ../old]",
);

/** A positive whole number given as `--name`, or its default. */
function count(name: string, given: string | undefined, fallback: number): number {
  const n = Number(given ?? fallback);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`--${name} takes a positive whole number, not ${JSON.stringify(given)}`);
  }
  return n;
}

/** Values of a comma-separated option, each checked against `allowed`. */
function choices<T extends string>(name: string, given: string, allowed: readonly T[]): T[] {
  const asked = given.split(",");
  for (const value of asked) {
    if (!allowed.includes(value as T)) {
      throw new Error(
        `--${name} takes ${allowed.join(", ")} (comma-separated), not ${JSON.stringify(value)}`,
      );
    }
  }
  return asked as T[];
}

const rounds = count("runs", values.runs, 8);
const maps = count("maps", values.maps, 6);
const TASKS = 10_000;
type Readers = "chromium" | "sse" | "idle";
type Second = "status" | "workers";
const kinds = choices<Readers>("readers", values.readers ?? "chromium", [
  "chromium",
  "idle",
  "sse",
]);
const secondPages = choices<Second>("second", values.second ?? "status", ["status", "workers"]);
const needsBrowser = kinds.some((k) => k !== "sse");
if (needsBrowser && chromiumMissing() !== null) throw new Error(chromiumMissing()!);

/** The scheduler of the tree at `root`, as its CLI runs it: the server with the dashboard. */
const schedulerScript = (root: URL) => `
  import { SchedulerServer } from "${new URL("scheduler/server.ts", root)}";
  import { startDashboard } from "${new URL("scheduler/dashboard/mod.ts", root)}";
  import { LiveFeed } from "${new URL("scheduler/dashboard/live_feed.ts", root)}";
  // The dashboard's own work in this process: every tick (poll, serialise, send), summed.
  let tickMs = 0;
  const tick = LiveFeed.prototype.tick;
  LiveFeed.prototype.tick = function (...args) {
    const start = performance.now();
    try {
      return tick.apply(this, args);
    } finally {
      tickMs += performance.now() - start;
    }
  };
  Deno.addSignalListener("SIGUSR2", () => console.log("TICKMS " + tickMs));
  const server = await SchedulerServer.start({ host: "127.0.0.1", port: 0, log: () => {} });
  const dashboard = await startDashboard({
    state: server.state, hostname: "127.0.0.1", port: 0, schedulerAddress: server.address,
    onChange: (listener) => server.onChange(listener),
  });
  server.dashboardLink = dashboard.url;
  console.log("READY " + server.address + " " + dashboard.url);
  await server.closed;
`;

/** Lines a child process prints, one at a time. */
function lines(stream: ReadableStream<Uint8Array>): AsyncIterator<string> {
  return stream.pipeThrough(new TextDecoderStream()).pipeThrough(
    new TransformStream<string, string>(
      {
        buffer: "",
        transform(chunk, controller) {
          const parts = (this.buffer + chunk).split("\n");
          this.buffer = parts.pop()!;
          for (const line of parts) controller.enqueue(line);
        },
      } as Transformer<string, string> & { buffer: string },
    ),
  )[Symbol.asyncIterator]();
}

async function spawn(
  args: string[],
  ready: RegExp,
): Promise<[Deno.ChildProcess, string, AsyncIterator<string>]> {
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .spawn();
  const out = lines(child.stdout);
  while (true) {
    const { value, done } = await out.next();
    if (done) throw new Error(`${args.join(" ")} exited before it was ready`);
    if (ready.test(value)) return [child, value, out];
  }
}

/** A process as `/proc/<pid>/stat` describes it (Linux): parent, name, CPU seconds so far. */
interface Proc {
  ppid: number;
  name: string;
  cpu: number;
}

/** Every process now (Linux). */
function processes(): Map<number, Proc> {
  const out = new Map<number, Proc>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
      const close = text.lastIndexOf(") ");
      const fields = text.slice(close + 2).split(" ");
      out.set(pid, {
        ppid: Number(fields[1]),
        name: text.slice(text.indexOf("(") + 1, close),
        cpu: (Number(fields[11]) + Number(fields[12])) / 100,
      });
    } catch {
      // ended meanwhile
    }
  }
  return out;
}

/** A Chromium process's role: its `--type=` (renderer, gpu-process, utility…) or `browser`. */
function chromiumRole(pid: number): string {
  try {
    // children rewrite their title: arguments are then separated by spaces, not NULs
    const args = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split(/[\0 ]/);
    const type = args.find((a) => a.startsWith("--type="));
    return type === undefined ? "browser" : type.slice(7);
  } catch {
    return "ended";
  }
}

/** CPU seconds so far of each process this benchmark cares about, by pid, with its group. */
type CpuReading = Map<number, { group: string; cpu: number }>;

/**
 * Reads the CPU time of the processes under `roots` (a pid → group name: the scheduler, each
 * worker with its nanny's children, the SSE reader), of this process (`client`, which also runs
 * the Chromium driver) and of the Chromium processes it started (`chromium <role>`).
 */
function readCpu(roots: Map<number, string>): CpuReading {
  const all = processes();
  const out: CpuReading = new Map();
  for (const [pid, proc] of all) {
    let group: string | undefined;
    for (let up: number | undefined = pid; up !== undefined && up > 1; up = all.get(up)?.ppid) {
      group = roots.get(up);
      if (group !== undefined) break;
      if (up === Deno.pid) {
        group = pid === Deno.pid
          ? "client"
          : /chrom/i.test(proc.name)
          ? `chromium ${chromiumRole(pid)}`
          : undefined;
        break;
      }
    }
    if (group !== undefined) out.set(pid, { group, cpu: proc.cpu });
  }
  return out;
}

/** CPU seconds by group between two readings (a process started meanwhile counts from zero). */
function cpuBetween(before: CpuReading, after: CpuReading): Map<string, number> {
  const out = new Map<string, number>();
  for (const [pid, { group, cpu }] of after) {
    out.set(group, (out.get(group) ?? 0) + cpu - (before.get(pid)?.cpu ?? 0));
  }
  return out;
}

/** One tree's cluster: a scheduler with its dashboard, two workers, a client. */
interface Cluster {
  name: string;
  scheduler: Deno.ChildProcess;
  schedulerOut: AsyncIterator<string>;
  dashboardUrl: string;
  workers: Deno.ChildProcess[];
  client: Client;
}

async function startCluster(name: string, root: URL): Promise<Cluster> {
  const [scheduler, readyLine, schedulerOut] = await spawn(
    ["eval", schedulerScript(root)],
    /^READY /,
  );
  const [, schedulerAddress, dashboardUrl] = readyLine.split(" ");
  const workers: Deno.ChildProcess[] = [];
  for (const worker of ["w1", "w2"]) {
    const workerMain = new URL("worker/main.ts", root).pathname;
    const [child] = await spawn(
      [
        "run",
        "-A",
        "--unstable-worker-options",
        workerMain,
        schedulerAddress,
        "--nthreads",
        "2",
        "--name",
        worker,
      ],
      /^Worker at /,
    );
    workers.push(child);
  }
  const client = await Client.connect(schedulerAddress);
  return { name, scheduler, schedulerOut, dashboardUrl, workers, client };
}

/** Milliseconds the scheduler's dashboard has spent in its ticks so far. */
async function dashboardMs(cluster: Cluster): Promise<number> {
  Deno.kill(cluster.scheduler.pid, "SIGUSR2");
  while (true) {
    const { value, done } = await cluster.schedulerOut.next();
    if (done) throw new Error("the scheduler exited");
    if (value.startsWith("TICKMS ")) return Number(value.slice(7));
  }
}

const inc = (x: number) => x + 1;
const items = Array.from({ length: TASKS }, (_, i) => i);

/** One 10,000-task map: submitted, gathered, released; its seconds. */
async function oneMap(client: Client): Promise<number> {
  const start = performance.now();
  const futures = client.with({ pure: false }).map(inc, items) as Future<number>[];
  await client.gather(futures);
  const seconds = (performance.now() - start) / 1000;
  for (const future of futures) future.release();
  return seconds;
}

/** One sample: `maps` maps back to back. */
interface Sample {
  /** wall seconds of the whole sample */
  seconds: number;
  /** seconds of each 10,000-task map in it */
  mapSeconds: number[];
  /** CPU seconds by process group over the sample */
  cpu: Map<string, number>;
  /** seconds of the scheduler's dashboard ticks over the sample */
  dashboard: number;
  /** the 1-minute load average when it ended */
  load: number;
}

async function sample(cluster: Cluster, roots: Map<number, string>): Promise<Sample> {
  const tick0 = await dashboardMs(cluster);
  const cpu0 = readCpu(roots);
  const start = performance.now();
  const mapSeconds: number[] = [];
  for (let i = 0; i < maps; i++) mapSeconds.push(await oneMap(cluster.client));
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuBetween(cpu0, readCpu(roots));
  const dashboard = (await dashboardMs(cluster) - tick0) / 1000;
  return { seconds, mapSeconds, cpu, dashboard, load: Deno.loadavg()[0] };
}

/** Time for pages to settle after they were switched, before a sample starts. */
const SETTLE_MS = 1500;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * The two open tabs (one Chromium, launched once) and, for `sse`, a reader process while
 * "with": `show` puts the pages up, `blank` takes them down.
 */
class Pages {
  #tabs: Browser["page"][] = [];
  #reader: Deno.ChildProcess | null = null;
  #browser: Browser | null = null;

  static async open(browser: boolean): Promise<Pages> {
    const pages = new Pages();
    if (browser) {
      pages.#browser = await openBrowser(1280, 800);
      const first = pages.#browser.page;
      pages.#tabs = [first, await first.context().newPage()];
    }
    return pages;
  }

  /** The reader process's pid, if one runs. */
  get readerPid(): number | undefined {
    return this.#reader?.pid;
  }

  async show(dashboardUrl: string, readers: Readers, second: Second): Promise<void> {
    const url = (page: string) => dashboardUrl.replace("/status", `/${page}`);
    if (readers === "sse") {
      this.#reader = sseReader(url("api/v1/live?views="), second);
    } else {
      const [a, b] = this.#tabs;
      if (readers === "idle") {
        await Promise.all([a.goto(url("health")), b.goto(url("health"))]);
      } else {
        await Promise.all([a.goto(url("status")), b.goto(url(second))]);
        await a.waitForSelector("#memory-bars .row");
        await b.waitForSelector(
          second === "status" ? "#memory-bars .row" : "#workers-table tr[data-worker]",
        );
      }
    }
    await sleep(SETTLE_MS);
  }

  async blank(): Promise<void> {
    if (this.#reader !== null) {
      this.#reader.kill("SIGTERM");
      await this.#reader.status;
      this.#reader = null;
    }
    await Promise.all(this.#tabs.map((tab) => tab.goto("about:blank")));
    await sleep(SETTLE_MS);
  }

  async close(): Promise<void> {
    await this.blank();
    await this.#browser?.close();
  }
}

/**
 * A process reading a Status page's stream and a `second` page's as the pages do (page/app.js:
 * Status shows `status`, Workers shows `workers`), parsing every event and drawing nothing.
 */
function sseReader(base: string, second: Second): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const base = ${JSON.stringify(base)};
       await Promise.all(["status", ${JSON.stringify(second)}].map(async (view) => {
         const body = (await fetch(base + view)).body.pipeThrough(new TextDecoderStream());
         let buffer = "";
         for await (const chunk of body) {
           const events = (buffer + chunk).split("\\n\\n");
           buffer = events.pop();
           for (const event of events) {
             const data = event.split("\\n").find((line) => line.startsWith("data: "));
             if (data !== undefined) JSON.parse(data.slice(6));
           }
         }
       }));`,
    ],
    stdout: "null",
  }).spawn();
}

/** `q`-quantile of `xs` (nearest rank). */
const quantile = (xs: number[], q: number) =>
  xs.toSorted((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];

/**
 * A bootstrap 90 % interval of the median of `xs` (2,000 resamples, a fixed seed so that a
 * report can be reproduced from its figures).
 */
function bootstrapMedian(xs: number[]): [number, number] {
  let seed = 0x2545f491;
  const random = () => {
    // mulberry32
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const medians: number[] = [];
  for (let b = 0; b < 2000; b++) {
    medians.push(median(xs.map(() => xs[Math.floor(random() * xs.length)])));
  }
  return [quantile(medians, 0.05), quantile(medians, 0.95)];
}

const clusters = [await startCluster("this tree", new URL("../", import.meta.url))];
if (values.against !== undefined) {
  const against = new URL(`${Deno.realPathSync(values.against)}/`, "file://");
  clusters.push(await startCluster(`against ${values.against}`, against));
}
const pages = await Pages.open(needsBrowser);
const rootsOf = (cluster: Cluster) => {
  const roots = new Map<number, string>([[cluster.scheduler.pid, "scheduler"]]);
  for (const worker of cluster.workers) roots.set(worker.pid, "workers");
  const reader = pages.readerPid;
  if (reader !== undefined) roots.set(reader, "sse reader");
  return roots;
};
// Warm-up: functions compiled, connections open.
for (const cluster of clusters) for (let i = 0; i < 3; i++) await oneMap(cluster.client);

/** Pairs by tree and kind of pages (`<readers> <second page>`): one per round. */
const pairsOf = new Map<string, { without: Sample; with: Sample }[]>();
const loadStart = Deno.loadavg();
for (let round = 0; round < rounds; round++) {
  for (const readers of kinds) {
    for (const second of readers === "idle" ? ["status" as const] : secondPages) {
      for (const cluster of clusters) {
        let without: Sample;
        let withPages: Sample;
        if (round % 2 === 0) {
          without = await sample(cluster, rootsOf(cluster));
          await pages.show(cluster.dashboardUrl, readers, second);
          withPages = await sample(cluster, rootsOf(cluster));
          await pages.blank();
        } else {
          await pages.show(cluster.dashboardUrl, readers, second);
          withPages = await sample(cluster, rootsOf(cluster));
          await pages.blank();
          without = await sample(cluster, rootsOf(cluster));
        }
        const id = `${cluster.name}|${readers} ${second}`;
        pairsOf.set(id, [...pairsOf.get(id) ?? [], { without, with: withPages }]);
        console.error(
          `round ${round + 1}/${rounds} ${id}: ${(TASKS * maps / without.seconds).toFixed(0)} → ${
            (TASKS * maps / withPages.seconds).toFixed(0)
          } tasks/s, load ${withPages.load.toFixed(1)}`,
        );
      }
    }
  }
}
const loadEnd = Deno.loadavg();
await pages.close();

const rate = (s: Sample) => (TASKS * s.mapSeconds.length) / s.seconds;
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const range = (xs: number[], f: (x: number) => string) =>
  `${f(Math.min(...xs))} … ${f(Math.max(...xs))}`;
const label = {
  chromium: "Chromium tabs",
  sse: "SSE readers, no browser",
  idle: "Chromium tabs on /health (receiving nothing)",
};
const pair = { status: "two Status pages", workers: "Status + Workers pages" };
/** CPU seconds of the groups whose name starts with `group`. */
const cpuOf = (s: Sample, group: string) =>
  [...s.cpu].reduce((sum, [name, seconds]) => sum + (name.startsWith(group) ? seconds : 0), 0);
const loads = [...pairsOf.values()].flat().flatMap((p) => [p.without.load, p.with.load]);
console.log(
  `2 workers × 2 threads per tree; ${rounds} rounds, each a pair of samples (AB, then BA) of ` +
    `${maps} maps of ${TASKS} tasks; the trees' samples interleaved`,
);
console.log(
  `load average (1 min) at the start ${loadStart[0].toFixed(1)}, during samples ${
    range(loads, (x) => x.toFixed(1))
  }, at the end ${loadEnd.map((x) => x.toFixed(1)).join(" ")}`,
);
const groups = ["scheduler", "workers", "client", "chromium", "sse reader"];
for (const cluster of clusters) {
  console.log(`${cluster.name}: scheduler with dashboard at ${cluster.dashboardUrl}`);
  for (const readers of kinds) {
    for (const second of readers === "idle" ? ["status" as const] : secondPages) {
      const pairs = pairsOf.get(`${cluster.name}|${readers} ${second}`)!;
      const what = readers === "idle" ? "two tabs" : pair[second];
      console.log(`  ${what} (${label[readers]}) against two blank tabs:`);
      const without = pairs.map((p) => p.without);
      const withPages = pairs.map((p) => p.with);
      for (const [name, samples] of [["without", without], ["with", withPages]] as const) {
        const rates = samples.map(rate);
        report(
          `  throughput ${name} pages, median (range)`,
          `${median(rates).toFixed(0)} tasks/s (${range(rates, (x) => x.toFixed(0))})`,
        );
        const mapTimes = samples.flatMap((s) => s.mapSeconds);
        report(
          `    one 10,000-task map, median (range)`,
          `${(median(mapTimes) * 1000).toFixed(0)} ms (${
            range(mapTimes, (x) => (x * 1000).toFixed(0))
          })`,
        );
      }
      const losses = pairs.map((p) => 1 - rate(p.with) / rate(p.without));
      const [low, high] = bootstrapMedian(losses);
      report(
        `  throughput lost, median [bootstrap 90 %] (range)`,
        `${percent(median(losses))} [${percent(low)} … ${percent(high)}] (${
          range(losses, percent)
        })`,
        "≤ 5 %",
      );
      // What the pages cost in CPU, as a share of all the CPU a task costs without them: on a
      // machine whose cores the cluster keeps busy, the throughput they take. Far steadier than
      // the throughput itself on a shared machine (other work slows the two samples unequally).
      const tasksOf = (s: Sample) => TASKS * s.mapSeconds.length;
      const cpuPerTask = (s: Sample) =>
        groups.reduce((sum, g) => sum + cpuOf(s, g), 0) / tasksOf(s);
      const perTaskOf = (s: Sample, group: string) => cpuOf(s, group) / tasksOf(s);
      const shares = {
        "all processes": pairs.map((p) =>
          (cpuPerTask(p.with) - cpuPerTask(p.without)) / cpuPerTask(p.without)
        ),
        "Chromium alone": pairs.map((p) =>
          (perTaskOf(p.with, "chromium") - perTaskOf(p.without, "chromium")) / cpuPerTask(p.without)
        ),
      };
      for (const [what, xs] of Object.entries(shares)) {
        const [lo, hi] = bootstrapMedian(xs);
        report(
          `  CPU per task added (${what}) / CPU per task without`,
          `${percent(median(xs))} [${percent(lo)} … ${percent(hi)}] (${range(xs, percent)})`,
        );
      }
      for (const group of groups) {
        const perTask = (s: Sample) => cpuOf(s, group) / (TASKS * s.mapSeconds.length) * 1e6;
        if (!withPages.some((s) => cpuOf(s, group) > 0)) continue;
        report(
          `  CPU per task: ${group}, without → with (median)`,
          `${median(without.map(perTask)).toFixed(1)} → ${
            median(withPages.map(perTask)).toFixed(1)
          } µs`,
        );
      }
      if (readers !== "sse") {
        const cores = (s: Sample) => cpuOf(s, "chromium") / s.seconds;
        report(
          `  Chromium cores, without → with, median (range with)`,
          `${median(without.map(cores)).toFixed(3)} → ${median(withPages.map(cores)).toFixed(3)} (${
            range(withPages.map(cores), (x) => x.toFixed(3))
          })`,
        );
        // The pages' Chromium beyond two blank tabs, as a share of the machine's cores: what they
        // take from a cluster that keeps every core busy.
        const extra = pairs.map((p) =>
          (cores(p.with) - cores(p.without)) / navigator.hardwareConcurrency
        );
        const [lo, hi] = bootstrapMedian(extra);
        report(
          `  Chromium cores added / the ${navigator.hardwareConcurrency} cores`,
          `${percent(median(extra))} [${percent(lo)} … ${percent(hi)}] (${range(extra, percent)})`,
        );
        const roles = new Set(withPages.flatMap((s) => [...s.cpu.keys()]));
        for (const role of [...roles].filter((r) => r.startsWith("chromium ")).sort()) {
          const c = (s: Sample) => (s.cpu.get(role) ?? 0) / s.seconds;
          report(`    of it ${role.slice(9)} (cores, with)`, median(withPages.map(c)).toFixed(3));
        }
      }
      const ticks = withPages.map((s) => s.dashboard / s.seconds);
      report(`  scheduler's dashboard ticks / sample time (with)`, percent(median(ticks)));
    }
  }
}

for (const cluster of clusters) {
  await cluster.client.close();
  cluster.scheduler.kill("SIGTERM");
  for (const worker of cluster.workers) worker.kill("SIGTERM");
  await Promise.all([cluster.scheduler.status, ...cluster.workers.map((w) => w.status)]);
}
