/**
 * What an open dashboard costs: throughput of 10,000 tasks (a `map` of `inc`, submitted and
 * gathered) on a scheduler process serving the dashboard, with no page open and with two Status
 * pages open, with a Status and a Workers page open (memory by kind, processing and occupancy
 * over time); the scheduler's CPU time, and the CPU time of every Chromium process, per run.
 *
 *   deno run -A bench/dashboard.ts             5 rounds, each kind of run in turn
 *   deno run -A bench/dashboard.ts --runs 3
 *   deno run -A bench/dashboard.ts --readers chromium    only the Chromium tabs (or: sse, idle)
 *   deno run -A bench/dashboard.ts --against ../old      and a second tree (the code before a
 *                                                        change), its runs interleaved
 *
 * The loss is measured per pair (a run with pages against the run without just before it, same
 * tree) and reported as the median with its range over the rounds. `idle` opens two Chromium tabs on a
 * page that receives nothing (`/health`): what Chromium costs these 2 cores by merely running,
 * apart from what the dashboard's pages make it do.
 *
 * Pages are opened two ways in the same run, to tell the scheduler's share from the browser's:
 * real headless Chromium tabs (when /usr/bin/chromium or CHROMIUM_PATH exists), and
 * server-sent-event readers in a separate process that read the same streams the pages read
 * (`/api/v1/live`, the pages' only data source) without rendering anything. The scheduler cannot
 * tell them apart, so the readers' cost is the scheduler side alone; what Chromium costs beyond
 * it is the browser competing for the same cores. Target: two pages cost at most 5 % of
 * throughput.
 */

import { parseArgs } from "node:util";
import { Client, type Future } from "../mod.ts";
import { chromiumMissing, openBrowser } from "../tests/browser/chromium.ts";
import { report } from "./measure.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    runs: { type: "string" },
    readers: { type: "string" },
    against: { type: "string" },
  },
});
const runs = Number(values.runs ?? 5);
const TASKS = 10_000;

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

/** A process's `/proc/<pid>/stat` fields after the command name, and the name (Linux). */
function stat(pid: number): { name: string; fields: string[] } {
  const text = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const close = text.lastIndexOf(") ");
  return {
    name: text.slice(text.indexOf("(") + 1, close),
    fields: text.slice(close + 2).split(" "),
  };
}

/** CPU seconds (user + system) a process has used so far (Linux). */
function cpuSeconds(pid: number): number {
  const { fields } = stat(pid);
  return (Number(fields[11]) + Number(fields[12])) / 100;
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

/**
 * CPU seconds used so far by the Chromium processes this benchmark started, by role (Linux):
 * where the browser's cost goes (the pages' script and layout run in `renderer`, drawing in
 * `gpu-process` even without a GPU, the event streams in `utility`).
 */
function chromiumCpuSeconds(): Map<string, number> {
  const parents = new Map<number, number>();
  const names = new Map<number, string>();
  for (const entry of Deno.readDirSync("/proc")) {
    const pid = Number(entry.name);
    if (!Number.isInteger(pid)) continue;
    try {
      const { name, fields } = stat(pid);
      parents.set(pid, Number(fields[1]));
      names.set(pid, name);
    } catch {
      // ended meanwhile
    }
  }
  const byRole = new Map<string, number>();
  for (const [pid, name] of names) {
    if (!/chrom/i.test(name)) continue;
    let up = parents.get(pid);
    while (up !== undefined && up > 1 && up !== Deno.pid) up = parents.get(up);
    if (up !== Deno.pid) continue;
    const role = chromiumRole(pid);
    byRole.set(role, (byRole.get(role) ?? 0) + cpuSeconds(pid));
  }
  return byRole;
}

/** CPU seconds per role used between two readings (processes that ended meanwhile are lost). */
function cpuBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [role, seconds] of after) out.set(role, seconds - (before.get(role) ?? 0));
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

/**
 * One run: seconds for 10,000 tasks, the scheduler's CPU seconds meanwhile, and the seconds of it
 * its dashboard ticks took.
 */
async function run(cluster: Cluster): Promise<Run> {
  const { client, scheduler } = cluster;
  const tick0 = await dashboardMs(cluster);
  const cpu0 = cpuSeconds(scheduler.pid);
  const browser0 = chromiumCpuSeconds();
  const start = performance.now();
  const futures = client.with({ pure: false }).map(inc, items) as Future<number>[];
  await client.gather(futures);
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(scheduler.pid) - cpu0;
  const dashboard = (await dashboardMs(cluster) - tick0) / 1000;
  const browser = cpuBetween(browser0, chromiumCpuSeconds());
  for (const future of futures) future.release();
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the releases settle
  return { seconds, cpu, dashboard, browser };
}

type Readers = "chromium" | "sse" | "idle";

/** Time for opened pages to load and draw their first picture before a run starts. */
const SETTLE_MS = 3000;

/** Opens a Status page and a second page (`second`) as `readers`; returns how to close them. */
async function openPages(
  dashboardUrl: string,
  readers: Readers,
  second: "status" | "workers",
): Promise<() => Promise<void>> {
  if (readers !== "sse") {
    const browser = await openBrowser(1280, 800);
    const other = await browser.page.context().newPage();
    if (readers === "idle") {
      // pages that receive nothing: Chromium's own cost
      await browser.page.goto(dashboardUrl.replace("/status", "/health"));
      await other.goto(dashboardUrl.replace("/status", "/health"));
    } else {
      await browser.page.goto(dashboardUrl);
      await other.goto(dashboardUrl.replace("/status", `/${second}`));
      await browser.page.waitForSelector("#memory-bars .row");
      await other.waitForSelector(
        second === "status" ? "#memory-bars .row" : "#workers-table tr[data-worker]",
      );
    }
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    return () => browser.close();
  }
  // The views each tab subscribes to (page/app.js: Status shows status; Workers shows workers).
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const base = ${JSON.stringify(dashboardUrl.replace("/status", "/api/v1/live?views="))};
       await Promise.all(["status", ${JSON.stringify(second)}].map(async (view) => {
         const body = (await fetch(base + view)).body.pipeThrough(new TextDecoderStream());
         let buffer = "";
         for await (const chunk of body) {
           // Parse every event as a page does.
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
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  return async () => {
    child.kill("SIGTERM");
    await child.status;
  };
}

type Run = { seconds: number; cpu: number; dashboard: number; browser: Map<string, number> };

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const clusters = [await startCluster("this tree", new URL("../", import.meta.url))];
if (values.against !== undefined) {
  const against = new URL(`${Deno.realPathSync(values.against)}/`, "file://");
  clusters.push(await startCluster(`against ${values.against}`, against));
}
for (const cluster of clusters) await run(cluster); // warm-up: functions compiled, connections open
const kinds: Readers[] = chromiumMissing() === null ? ["sse", "chromium", "idle"] : ["sse"];
if (kinds.length === 1) console.warn(chromiumMissing());
if (values.readers !== undefined) {
  const asked = values.readers.split(",");
  for (const kind of asked) {
    if (!["sse", "chromium", "idle"].includes(kind)) {
      throw new Error(`--readers takes sse, chromium or idle, not ${JSON.stringify(kind)}`);
    }
  }
  kinds.splice(0, kinds.length, ...kinds.filter((k) => asked.includes(k)));
}
const seconds = (readers: Readers) =>
  readers === "idle" ? ["status"] as const : ["status", "workers"] as const;
/** Runs by tree, and kind of pages (`none`, or `<readers> <second page>`), one per round. */
const runsOf = new Map<string, Run[]>();
const record = (cluster: Cluster, what: string, r: Run) => {
  const id = `${cluster.name}|${what}`;
  runsOf.set(id, [...runsOf.get(id) ?? [], r]);
};
for (let i = 0; i < runs; i++) {
  for (const readers of kinds) {
    for (const second of seconds(readers)) {
      for (const cluster of clusters) {
        // each run with pages right after its own run without: the two see the same load
        const without = await run(cluster);
        record(cluster, "none", without);
        record(cluster, `none before ${readers} ${second}`, without);
        const close = await openPages(cluster.dashboardUrl, readers, second);
        record(cluster, `${readers} ${second}`, await run(cluster));
        await close();
      }
    }
  }
}

const rate = (r: Run[]) => TASKS / median(r.map((x) => x.seconds));
const cpu = (r: Run[]) => median(r.map((x) => x.cpu));
const percent = (x: number) => `${(x * 100).toFixed(1)} %`;
const label = {
  chromium: "Chromium tabs",
  sse: "SSE readers, no browser",
  idle: "Chromium tabs receiving nothing",
};
const pair = { status: "two Status pages", workers: "Status + Workers pages" };
const total = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
console.log(`2 workers × 2 threads per tree; ${runs} rounds, the trees' runs interleaved`);
console.log(`load average at the end: ${Deno.loadavg().map((x) => x.toFixed(1)).join(" ")}`);
for (const cluster of clusters) {
  const none = runsOf.get(`${cluster.name}|none`)!;
  console.log(`${cluster.name}: scheduler with dashboard at ${cluster.dashboardUrl}`);
  report("10,000 tasks, no dashboard page: throughput", `${rate(none).toFixed(0)} tasks/s`);
  report("scheduler CPU per run, no page", `${cpu(none).toFixed(2)} s`);
  for (const readers of kinds) {
    for (const second of seconds(readers)) {
      const r = runsOf.get(`${cluster.name}|${readers} ${second}`)!;
      const what = readers === "idle" ? "two tabs" : pair[second];
      report(`${what} (${label[readers]})`, `${rate(r).toFixed(0)} tasks/s`);
      // each run with pages against the run without just before it
      const before = runsOf.get(`${cluster.name}|none before ${readers} ${second}`)!;
      const losses = r.map((x, round) => 1 - before[round].seconds / x.seconds);
      report(
        `  throughput lost, median (range over rounds)`,
        `${percent(median(losses))} (${percent(Math.min(...losses))} … ${
          percent(Math.max(...losses))
        })`,
        "≤ 5 %",
      );
      report(`  scheduler CPU per run`, `${cpu(r).toFixed(2)} s`);
      const ticks = median(r.map((x) => x.dashboard));
      const share = ticks / median(r.map((x) => x.seconds));
      report(`  of it in dashboard ticks (share of the run)`, `${ticks.toFixed(3)} s`);
      report(`  dashboard ticks / run time`, percent(share));
      if (readers !== "sse") {
        report(`  Chromium CPU per run`, `${median(r.map((x) => total(x.browser))).toFixed(2)} s`);
        // per second of run: what the pages cost whatever the run's length (they draw by time)
        const cores = median(r.map((x) => total(x.browser) / x.seconds));
        report(`  Chromium CPU per second of run (cores)`, cores.toFixed(2));
        for (const role of new Set(r.flatMap((x) => [...x.browser.keys()]))) {
          const seconds = median(r.map((x) => x.browser.get(role) ?? 0));
          if (seconds >= 0.005) report(`    of it ${role}`, `${seconds.toFixed(2)} s`);
        }
      }
    }
  }
}

for (const cluster of clusters) {
  await cluster.client.close();
  cluster.scheduler.kill("SIGTERM");
  for (const worker of cluster.workers) worker.kill("SIGTERM");
  await Promise.all([cluster.scheduler.status, ...cluster.workers.map((w) => w.status)]);
}
