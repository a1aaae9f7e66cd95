/**
 * The dashboard on a real cluster: a scheduler server with the dashboard mounted as the scheduler
 * CLI mounts it, two worker processes, a Client. Headless Chromium watches a computation; the
 * client's futures drive `progress()`; the scheduler's task stream becomes a performance report
 * that Chromium opens from disk. Screenshots go to artifacts/dashboard/.
 */

import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import { writePerformanceReport } from "../../client/performance_report.ts";
import { progress } from "../../collections/progress.ts";
import { startWorker, type WorkerProcess } from "../helpers/cluster.ts";
import { artifactsDir, chromiumMissing, openBrowser } from "./chromium.ts";
import { startSchedulerWithDashboard, waitUntil } from "./real_scheduler.ts";

const missing = chromiumMissing();
if (missing !== null) console.warn(missing);

/** Twice `i` (a self-contained task function). */
function twice(i: number): number {
  return 2 * i;
}

/** Fails, naming `i` (a self-contained task function). */
function refuse(i: number): number {
  throw new Error(`refused ${i}`);
}

/**
 * Busy in `crunchNumbers` for `ms` milliseconds, awaiting a timer every 20 ms (so its thread can
 * answer a call-stacks request meanwhile), then returns how often it crunched.
 */
async function crunchSlowly(ms: number): Promise<number> {
  function crunchNumbers(until: number): number {
    let x = 0;
    while (Date.now() < until) for (let i = 0; i < 1000; i++) x += Math.sqrt(i);
    return x;
  }
  const end = Date.now() + ms;
  let rounds = 0;
  while (Date.now() < end) {
    if (crunchNumbers(Date.now() + 20) > 0) rounds++;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return rounds;
}

/** Busy for `ms` milliseconds, then returns `i` (a self-contained task function). */
function spin(i: number, ms: number): number {
  const end = Date.now() + ms;
  while (Date.now() < end) { /* working */ }
  return i;
}

Deno.test({
  name: "a real cluster's dashboard, progress() and performance report",
  ignore: missing !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const shots = await artifactsDir("dashboard");
    const scheduler = await startSchedulerWithDashboard();
    const { server, dashboard } = scheduler;
    const workers: WorkerProcess[] = [];
    let client: Client | undefined;
    const browser = await openBrowser();
    try {
      workers.push(await startWorker(server.address, { name: "alice", nthreads: 2 }));
      workers.push(await startWorker(server.address, { name: "bob", nthreads: 2 }));
      await waitUntil("both workers registered", () => server.workerCount === 2);
      client = await Client.connect(server.address);
      assert.equal(client.dashboardLink, dashboard.url);

      const page = browser.page;
      await page.goto(client.dashboardLink!);
      await page.waitForSelector("#memory-bars .row");
      assert.equal(await page.locator("#memory-bars .row").count(), 2);

      const since = server.state.taskStream.total;
      const started = Date.now() / 1000;
      const items = Array.from({ length: 240 }, (_, i) => i);
      const futures = client.map(spin, items, items.map(() => 25));
      const lines: string[] = [];
      const watching = progress(futures, {
        terminal: false,
        intervalMs: 250,
        write: (line) => lines.push(line),
      });

      await page.waitForSelector('#progress .row[data-prefix="spin"]');
      const done = () =>
        page.$eval(
          '#progress .row[data-prefix="spin"]',
          (el) => Number(el.getAttribute("data-done")),
        )
          .catch(() => 0);
      const before = await done();
      await waitUntil("the Status page counts finished tasks", async () => (await done()) > before);
      await waitUntil(
        "the task stream draws runs",
        async () =>
          Number(await page.$eval("#task-stream", (el) => el.getAttribute("data-drawn"))) > 0,
      );
      await page.screenshot({ path: `${shots}cluster-status.png` });

      // Tooltips stay inside the window: hover the newest runs, at the stream's right edge.
      // (A string: this file is type-checked without the DOM's types.)
      const tooltip = await page.evaluate(`(() => {
        const canvas = document.getElementById("task-stream");
        const tip = document.getElementById("tooltip");
        const rect = canvas.getBoundingClientRect();
        for (let x = rect.right - 2; x > rect.right - 400; x -= 2) {
          for (let y = rect.top + 2; y < rect.bottom; y += 3) {
            canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: x, clientY: y }));
            if (!tip.hidden) {
              const box = tip.getBoundingClientRect();
              return {
                x,
                right: box.right,
                bottom: box.bottom,
                width: document.documentElement.clientWidth,
                height: document.documentElement.clientHeight,
              };
            }
          }
        }
        return null;
      })()`) as {
        x: number;
        right: number;
        bottom: number;
        width: number;
        height: number;
      } | null;
      assert.ok(tooltip !== null, "a run near the right edge has a tooltip");
      assert.ok(tooltip.x + 12 + 100 > tooltip.width, "the pointer is near the edge");
      assert.ok(tooltip.right <= tooltip.width, `tooltip cut: ${JSON.stringify(tooltip)}`);
      assert.ok(tooltip.bottom <= tooltip.height, `tooltip cut: ${JSON.stringify(tooltip)}`);

      // Zoom: a drag over the newest runs shows that range only, and it stays put as time moves
      // on; the wheel pans it; a double-click returns to the live window.
      const stream = page.locator("#task-stream");
      const box = (await stream.boundingBox())!;
      const y = box.y + 5;
      await page.mouse.move(box.x + box.width - 400, y);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width - 200, y, { steps: 4 });
      await page.mouse.move(box.x + box.width - 2, y, { steps: 4 });
      await page.mouse.up();
      const zoomed = async () => {
        const range = await stream.getAttribute("data-zoomed");
        return range === "" || range === null ? null : range.split(",").map(Number);
      };
      const range = await zoomed();
      assert.ok(range !== null, "the drag zoomed in");
      const span = range[1] - range[0];
      // 398 px of the plot (the canvas less its 140 px of row labels), which shows 15 s.
      const expected = 15 * 398 / (box.width - 140);
      assert.ok(Math.abs(span - expected) < 0.05 * expected, `zoomed span ${span} s`);
      await waitUntil(
        "the zoomed range draws runs",
        async () => Number(await stream.getAttribute("data-drawn")) > 0,
      );
      assert.match(await page.locator("#task-stream-caption").innerText(), /selected/);
      await page.screenshot({ path: `${shots}cluster-task-stream-zoomed.png` });
      await new Promise((resolve) => setTimeout(resolve, 400));
      assert.deepEqual(await zoomed(), range, "a zoomed range stays where it was");
      await page.mouse.move(box.x + box.width - 100, y);
      await page.mouse.wheel(0, 100);
      const panned = await zoomed();
      assert.ok(panned !== null && Math.abs(panned[0] - (range[0] + span * 0.1)) < 1e-6);
      await page.mouse.dblclick(box.x + box.width - 100, y);
      assert.equal(await zoomed(), null, "double-click returns to live");
      assert.match(await page.locator("#task-stream-caption").innerText(), /last 15 s/);

      await watching;
      assert.match(lines.at(-1)!, /\[100%\] 240\/240 tasks \| spin 240\/240/);
      assert.deepEqual((await client.gather(futures)).slice(0, 3), [0, 1, 2]);
      await waitUntil("all 240 show done", async () => (await done()) === 240);

      await page.click('nav a[data-page="workers"]');
      await page.waitForSelector("#workers-table tbody tr[data-worker]");
      const names = await page.$$eval(
        "#workers-table tbody tr",
        (rows) => rows.map((row) => row.children[0].textContent),
      );
      assert.deepEqual(names, ["alice", "bob"]);
      // Memory by kind from the workers' heartbeats: the futures' results are managed; the
      // rest of each process's resident memory (a Deno heap at least) is unmanaged.
      const kinds = await page.$$eval(
        "#workers-table tbody td.mem",
        (cells) =>
          cells.map((c) => ({
            managed: c.getAttribute("data-managed"),
            unmanaged: c.getAttribute("data-unmanaged"),
            spilled: c.getAttribute("data-spilled"),
          })),
      );
      for (const kind of kinds) {
        assert.ok(Number(kind.unmanaged) > 1_000_000, `unmanaged bytes: ${kind.unmanaged}`);
        assert.equal(Number(kind.spilled), 0);
      }
      assert.ok(kinds.some((kind) => Number(kind.managed) > 0), "the results are managed memory");
      // Over time: the scheduler samples every second while the map ran, so the charts hold
      // samples from before this page opened, with tasks processing among them.
      const chart = (id: string, what: string) =>
        page.$eval(`#${id}`, (el, what) => Number(el.getAttribute(`data-${what}`)), what);
      await waitUntil(
        "the memory chart has samples",
        async () => (await chart("memory-history", "samples")) >= 2,
      );
      assert.ok((await chart("memory-history", "max")) > 1_000_000);
      assert.ok((await chart("processing-history", "max")) >= 1, "tasks processed over time");
      assert.ok((await chart("occupancy-history", "max")) > 0, "occupancy over time");
      await page.screenshot({ path: `${shots}cluster-workers.png`, fullPage: true });

      // Above a few hundred tasks the Graph page collapses to task groups (by key prefix) with
      // their progress: 240 spin tasks and 240 twice tasks that depend on them.
      // On bob only: he fetches alice's results, which the Workers page's bandwidth shows.
      const bob = workers[1].address;
      const doubled = client.with({ workers: [bob] }).map(twice, futures);
      await page.click('nav a[data-page="graph"]');
      const groups = () =>
        page.$eval(
          "#graph",
          (el) => [el.getAttribute("data-groups"), el.getAttribute("data-done")],
        );
      await waitUntil("the graph shows 480 done tasks in two groups", async () => {
        const [count, finished] = await groups();
        return count === "2" && finished === "480";
      });
      assert.match(
        await page.locator("#graph-caption").innerText(),
        /480 tasks in 2 task groups .*1 dependency between groups/,
      );
      assert.deepEqual((await client.gather(doubled)).slice(0, 3), [0, 2, 4]);
      await page.screenshot({ path: `${shots}cluster-graph-groups.png` });

      // A worker's page: its threads' last runs, its memory by kind, its logs. A task that fails
      // on alice makes her log a line, which her next heartbeat brings to the scheduler.
      const alice = workers[0].address;
      const failing = client.with({ workers: [alice] }).submit(refuse, 7);
      await assert.rejects(failing.result(), /refused 7/);
      await page.click('nav a[data-page="workers"]');
      await page.click(`#workers-table tbody tr[data-worker="${alice}"] a`);
      await page.waitForSelector("#worker-threads tbody tr");
      assert.match(await page.locator("#worker-caption").innerText(), /^alice · tcp:\/\//);
      const threadRuns = await page.$$eval(
        "#worker-threads tbody tr",
        (rows) => rows.map((row) => Number(row.getAttribute("data-runs"))),
      );
      assert.equal(threadRuns.length, 2, "alice has 2 threads");
      assert.ok(threadRuns.every((n) => n > 0), `runs per thread: ${threadRuns}`);
      assert.match(await page.locator("#worker-threads tbody").innerText(), /(spin|refuse)-/);
      const unmanaged = await page.$eval(
        "#worker-memory td.mem",
        (el) => Number(el.getAttribute("data-unmanaged")),
      );
      assert.ok(unmanaged > 1_000_000, `alice's unmanaged memory: ${unmanaged}`);
      await waitUntil("alice's logs show the failed task", async () => {
        const text = await page.locator("#worker-logs").innerText();
        return /registered with the scheduler/.test(text) && /refuse-\S+.*refused 7/.test(text);
      });
      await page.screenshot({ path: `${shots}cluster-worker-page.png`, fullPage: true });

      // Call stacks of what runs now: alice's busy thread shows the task's named inner function,
      // from its thread's latest sample.
      const crunching = client.with({ workers: ["alice"] }).submit(crunchSlowly, 8000);
      const stacksShown = () =>
        page.$$eval("#worker-stacks .stack", (blocks) =>
          blocks.map((block) => ({
            key: block.getAttribute("data-key"),
            frames: [...block.querySelectorAll("li")].map((li) => li.getAttribute("data-name")),
          })));
      let shown: { key: string | null; frames: (string | null)[] }[] = [];
      await waitUntil("alice's call stacks show crunchNumbers", async () => {
        shown = await stacksShown();
        return shown.some((s) => s.frames.includes("crunchNumbers"));
      });
      const busy = shown.find((s) => s.frames.includes("crunchNumbers"))!;
      assert.match(String(busy.key), /^crunchSlowly-/);
      assert.equal(busy.frames[0], "crunchSlowly", `outermost first: ${busy.frames}`);
      await page.locator("#worker-stacks").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${shots}cluster-call-stacks.png`, fullPage: true });
      assert.ok((await crunching.result()) > 0);

      // Bandwidth by worker pair and by type: bob received alice's numbers, nobody sent to alice.
      await page.click('nav a[data-page="workers"]');
      const moved = (selector: string) =>
        page.$eval(selector, (el) => Number(el.getAttribute("data-total"))).catch(() => 0);
      await waitUntil(
        "bob's row shows bytes from alice",
        async () =>
          (await moved(`#bandwidth-pairs tr[data-worker="${bob}"] td[data-from="${alice}"]`)) > 0,
      );
      assert.equal(
        await page.locator(`#bandwidth-pairs tr[data-worker="${alice}"] td[data-from]`).count(),
        0,
      );
      assert.ok((await moved('#bandwidth-types tr[data-type="number"]')) > 0, "numbers moved");
      await page.screenshot({ path: `${shots}cluster-bandwidth.png`, fullPage: true });

      // Profile: the workers' sampled call stacks by prefix — spin (240 × 25 ms) and
      // crunchSlowly (8 s) take the samples; a click zooms into spin, whose stack starts at the
      // task's function, and a click on the top box zooms back out.
      await page.click('nav a[data-page="profile"]');
      await page.click('#profile-range button[data-seconds="0"]');
      await page.waitForSelector('#profile-table tr[data-prefix="spin"]');
      const shares = await page.$$eval(
        "#profile-table tbody tr",
        (rows) =>
          rows.map((
            row,
          ) => [row.getAttribute("data-prefix"), Number(row.getAttribute("data-share"))]),
      );
      assert.equal(
        await page.locator("#profile-caption").getAttribute("data-source"),
        "sampled",
        "the workers' threads sample their call stacks",
      );
      const shareOf = (prefix: string) =>
        (shares.find(([name]) => name === prefix)?.[1] ?? 0) as number;
      // twice and refuse take microseconds: spin and crunchSlowly have nearly every sample
      assert.ok(shareOf("spin") > 0.1, `shares: ${JSON.stringify(shares)}`);
      assert.ok(shareOf("crunchSlowly") > 0.1, `shares: ${JSON.stringify(shares)}`);
      assert.ok(shareOf("spin") + shareOf("crunchSlowly") > 0.9, JSON.stringify(shares));
      await page.screenshot({ path: `${shots}cluster-profile.png` });
      await page.click('#profile-graph .frame[data-name="spin"]');
      await waitUntil("the flame graph zoomed into spin", async () => {
        const top = await page.$eval(
          '#profile-graph .frame[data-depth="0"]',
          (el) => el.getAttribute("data-name"),
        );
        return top === "spin";
      });
      const called = await page.$$eval(
        '#profile-graph .frame[data-depth="1"]',
        (frames) => frames.map((f) => f.getAttribute("data-name")),
      );
      assert.ok(called.includes("spin"), `frames under the spin prefix: ${called}`);
      await page.screenshot({ path: `${shots}cluster-profile-spin.png` });
      await page.click('#profile-graph .frame[data-depth="0"]');
      assert.equal(
        await page.$eval(
          '#profile-graph .frame[data-depth="0"]',
          (el) => el.getAttribute("data-name"),
        ),
        "all tasks",
      );

      // The events table folds the two workers joining into one row, and filters by text.
      await page.click('nav a[data-page="info"]');
      const joined = page.locator('#events-table tbody tr.kind[data-kind*="joined"]');
      await joined.first().waitFor();
      assert.equal(await joined.count(), 1);
      assert.equal(await joined.getAttribute("data-count"), "2");
      await page.fill("#events-filter", "connected");
      await waitUntil("the filter keeps client events only", async () => {
        const topics = await page.$$eval(
          "#events-table tbody tr.kind",
          (rows) => rows.map((row) => row.getAttribute("data-topic")),
        );
        return topics.length > 0 && topics.every((t) => t === "client");
      });
      await page.fill("#events-filter", "");
      await joined.click();
      await page.waitForSelector("#events-table tbody tr.entry");
      await page.screenshot({ path: `${shots}cluster-info-events.png` });

      // System: the scheduler and both worker processes, each with CPU, memory and open files.
      await page.click('nav a[data-page="system"]');
      await page.waitForSelector('#system-table tbody tr[data-role="worker"]');
      const processes = await page.$$eval("#system-table tbody tr", (rows) =>
        rows.map((row) => ({
          role: row.getAttribute("data-role"),
          rss: Number(row.getAttribute("data-rss")),
          openFiles: Number(row.getAttribute("data-open-files")),
          cpu: Number(row.getAttribute("data-cpu")),
        })));
      assert.deepEqual(processes.map((p) => p.role), ["scheduler", "worker", "worker"]);
      for (const p of processes) {
        assert.ok(p.rss > 10_000_000, `resident memory: ${p.rss}`);
        assert.ok(p.openFiles >= 3, `open files: ${p.openFiles}`); // stdio at least
        assert.ok(p.cpu >= 0);
      }
      await page.screenshot({ path: `${shots}cluster-system.png` });

      const report = `${shots}performance-report.html`;
      await writePerformanceReport(report, {
        taskStream: server.state.taskStream.since(since),
        title: "240 × spin(25 ms) on 2 workers × 2 threads",
        start: started,
        stop: Date.now() / 1000,
        workers: server.state.workerSummaries(),
      });
      await page.route(
        "**/*",
        (route) => route.request().url().startsWith("file:") ? route.continue() : route.abort(),
      );
      await page.goto(`file://${report}`);
      const bars = await page.locator("svg rect title").count();
      assert.ok(bars > 0, "the report draws the task stream");
      assert.match(await page.locator("#prefixes tbody").innerText(), /spin\s+240/);
      await page.screenshot({ path: `${shots}performance-report.png`, fullPage: true });
    } finally {
      await browser.close();
      await client?.close();
      await scheduler.close();
      for (const worker of workers) await worker.process.stop();
    }
  },
});
