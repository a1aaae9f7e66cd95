/**
 * What an open dashboard costs the scheduler: throughput of 10,000 tasks (a `map` of `inc`,
 * submitted and gathered) on a scheduler process serving the dashboard, with no page open and
 * with two Status pages open, with a Status and a Workers page open (memory by kind, processing
 * and occupancy over time), and the scheduler process's CPU time per run.
 *
 *   deno run -A bench/dashboard.ts             5 runs of each, alternating
 *   deno run -A bench/dashboard.ts --runs 3
 *
 * Pages are real headless Chromium tabs when /usr/bin/chromium (or CHROMIUM_PATH) exists, else
 * two server-sent-event readers in a separate process (the scheduler's work is the same: it does
 * not know what reads its events). Target: two pages cost at most 5 % of throughput.
 */

import { parseArgs } from "node:util";
import { Client, type Future } from "../mod.ts";
import { chromiumMissing, openBrowser } from "../tests/browser/chromium.ts";
import { report } from "./measure.ts";

const { values } = parseArgs({ args: Deno.args, options: { runs: { type: "string" } } });
const runs = Number(values.runs ?? 5);
const TASKS = 10_000;

const root = new URL("../", import.meta.url);
/** The scheduler as its CLI runs it: the server with the dashboard mounted. */
const schedulerScript = `
  import { SchedulerServer } from "${new URL("scheduler/server.ts", root)}";
  import { startDashboard } from "${new URL("scheduler/dashboard/mod.ts", root)}";
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

async function spawn(args: string[], ready: RegExp): Promise<[Deno.ChildProcess, string]> {
  const child = new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .spawn();
  const out = lines(child.stdout);
  while (true) {
    const { value, done } = await out.next();
    if (done) throw new Error(`${args.join(" ")} exited before it was ready`);
    if (ready.test(value)) return [child, value];
  }
}

/** CPU seconds (user + system) a process has used so far (Linux). */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

const [scheduler, readyLine] = await spawn(["eval", schedulerScript], /^READY /);
const [, schedulerAddress, dashboardUrl] = readyLine.split(" ");
const workers: Deno.ChildProcess[] = [];
for (const name of ["w1", "w2"]) {
  const workerMain = new URL("worker/main.ts", root).pathname;
  const [worker] = await spawn(
    [
      "run",
      "-A",
      "--unstable-worker-options",
      workerMain,
      schedulerAddress,
      "--nthreads",
      "2",
      "--name",
      name,
    ],
    /^Worker at /,
  );
  workers.push(worker);
}
const client = await Client.connect(schedulerAddress);
const inc = (x: number) => x + 1;
const items = Array.from({ length: TASKS }, (_, i) => i);

/** One run: seconds for 10,000 tasks, and the scheduler's CPU seconds meanwhile. */
async function run(): Promise<{ seconds: number; cpu: number }> {
  const cpu0 = cpuSeconds(scheduler.pid);
  const start = performance.now();
  const futures = client.with({ pure: false }).map(inc, items) as Future<number>[];
  await client.gather(futures);
  const seconds = (performance.now() - start) / 1000;
  const cpu = cpuSeconds(scheduler.pid) - cpu0;
  for (const future of futures) future.release();
  await new Promise((resolve) => setTimeout(resolve, 300)); // let the releases settle
  return { seconds, cpu };
}

/** Opens a Status page and a second page (`second`); returns how to close them. */
async function openPages(second: "status" | "workers"): Promise<() => Promise<void>> {
  if (chromiumMissing() === null) {
    const browser = await openBrowser(1280, 800);
    const other = await browser.page.context().newPage();
    await browser.page.goto(dashboardUrl);
    await other.goto(dashboardUrl.replace("/status", `/${second}`));
    await browser.page.waitForSelector("#memory-bars .row");
    await other.waitForSelector(
      second === "status" ? "#memory-bars .row" : "#workers-table tr[data-worker]",
    );
    return () => browser.close();
  }
  const readers = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `const base = ${JSON.stringify(dashboardUrl.replace("/status", "/api/v1/live?views="))};
       await Promise.all(["status", ${JSON.stringify(second)}].map(async (view) => {
         for await (const _ of (await fetch(base + view)).body) { /* read as a page would */ }
       }));`,
    ],
    stdout: "null",
  }).spawn();
  await new Promise((resolve) => setTimeout(resolve, 500));
  return async () => {
    readers.kill("SIGTERM");
    await readers.status;
  };
}

const median = (xs: number[]) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];

await run(); // warm-up: functions compiled on every thread, connections open
const none: { seconds: number; cpu: number }[] = [];
const two: { seconds: number; cpu: number }[] = [];
const mixed: { seconds: number; cpu: number }[] = [];
const pages = chromiumMissing() === null ? "Chromium tabs" : "SSE readers";
for (let i = 0; i < runs; i++) {
  none.push(await run());
  const close = await openPages("status");
  two.push(await run());
  await close();
  const closeMixed = await openPages("workers");
  mixed.push(await run());
  await closeMixed();
}

const rate = (r: { seconds: number }[]) => TASKS / median(r.map((x) => x.seconds));
const cpu = (r: { cpu: number }[]) => median(r.map((x) => x.cpu));
console.log(`scheduler with dashboard at ${dashboardUrl}; 2 workers × 2 threads; ${runs} runs`);
report("10,000 tasks, no dashboard page: throughput", `${rate(none).toFixed(0)} tasks/s`);
report(`10,000 tasks, two Status pages (${pages})`, `${rate(two).toFixed(0)} tasks/s`);
const loss = 1 - rate(two) / rate(none);
report("throughput lost to two open pages", `${(loss * 100).toFixed(1)} %`, "≤ 5 %");
report(`10,000 tasks, Status + Workers pages (${pages})`, `${rate(mixed).toFixed(0)} tasks/s`);
const lossMixed = 1 - rate(mixed) / rate(none);
report("throughput lost to Status + Workers pages", `${(lossMixed * 100).toFixed(1)} %`, "≤ 5 %");
report("scheduler CPU per run, no page", `${cpu(none).toFixed(2)} s`);
report("scheduler CPU per run, two pages", `${cpu(two).toFixed(2)} s`);
report("scheduler CPU per run, Status + Workers pages", `${cpu(mixed).toFixed(2)} s`);

await client.close();
scheduler.kill("SIGTERM");
for (const worker of workers) worker.kill("SIGTERM");
await Promise.all([scheduler.status, ...workers.map((w) => w.status)]);
