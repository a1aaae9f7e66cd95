/**
 * Headless Chromium opens the dashboard of a live scheduler (a real SchedulerState driven by
 * simulated workers) while computations run, and checks that each page renders and then
 * changes as tasks finish. Screenshots go to artifacts/dashboard/.
 */

import assert from "node:assert/strict";
import type { Page } from "npm:playwright-core@^1";
import { startDashboard } from "../../scheduler/dashboard/mod.ts";
import { artifactsDir, chromiumMissing, openBrowser } from "./chromium.ts";
import { SimulatedCluster, treeWorkload } from "./simulated_cluster.ts";

const INC_ROW = '#progress .row[data-prefix="inc"]';
const missing = chromiumMissing();
if (missing !== null) console.warn(missing);

/** Reads a numeric attribute of the first element matching `selector` (NaN when absent). */
function numberAt(page: Page, selector: string, attribute: string): Promise<number> {
  return page.$eval(selector, (el, attr) => Number(el.getAttribute(attr)), attribute)
    .catch(() => NaN);
}

/** Polls `check` until it holds; fails naming `what` after `timeoutMs`. */
async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 15_000) {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

Deno.test({
  name: "the dashboard renders a running computation and follows it live",
  ignore: missing !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const shots = await artifactsDir("dashboard");
    const cluster = new SimulatedCluster({ workers: 3, threadsPerWorker: 2, taskSeconds: 0.06 });
    const dashboard = await startDashboard({
      state: cluster.state,
      hostname: "127.0.0.1",
      port: 0,
      schedulerAddress: "tcp://127.0.0.1:8786",
      // This test follows single tasks on the Graph page (task groups: dashboard_cluster_test).
      graphGroupsAbove: 5000,
    });
    const browser = await openBrowser();
    const problems: string[] = [];
    browser.page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    browser.page.on("console", (message) => {
      if (message.type() === "error") problems.push(`console error: ${message.text()}`);
    });
    try {
      const page = browser.page;
      cluster.submit("Client-1", treeWorkload("a", 96, 0.06));
      cluster.submit("Client-2", [{
        key: "parse-f00d",
        seconds: 0.02,
        fail: {
          name: "SyntaxError",
          message: "Unexpected token } in JSON at position 17",
          stack: "SyntaxError: Unexpected token } in JSON at position 17\n" +
            "    at JSON.parse (<anonymous>)\n    at parse (file:///data/tasks.ts:12:15)",
        },
      }]);
      cluster.setWorkerMetrics(1, { spilled: 48 * 2 ** 20, inFlight: 2 });
      await page.goto(dashboard.url);

      // Status: progress bars, per-worker bars and the task stream render...
      await page.waitForSelector('#progress .row[data-prefix="inc"]');
      await waitUntil(
        "the task stream draws runs",
        async () => (await numberAt(page, "#task-stream", "data-drawn")) > 0,
      );
      assert.equal(await numberAt(page, "#task-stream", "data-rows"), 6, "3 workers × 2 threads");
      assert.equal(await page.locator("#memory-bars .row").count(), 3);
      assert.equal(await page.locator("#processing-bars .row").count(), 3);
      assert.equal(await numberAt(page, INC_ROW, "data-total"), 96);
      const doneBefore = await numberAt(page, INC_ROW, "data-done");
      const runsBefore = await numberAt(page, "#task-stream", "data-received");
      await page.screenshot({ path: `${shots}status-running.png` });

      // ...and change as tasks finish.
      await waitUntil(
        "more inc tasks are done",
        async () => (await numberAt(page, INC_ROW, "data-done")) > doneBefore,
      );
      await waitUntil(
        "the task stream receives more runs",
        async () => (await numberAt(page, "#task-stream", "data-received")) > runsBefore,
      );
      await cluster.whenIdle();
      await waitUntil(
        "the final task shows done",
        async () =>
          (await numberAt(page, '#progress .row[data-prefix="total"]', "data-done")) === 1,
      );
      assert.equal(await numberAt(page, '#progress .row[data-prefix="parse"]', "data-erred"), 1);
      const spilled = await page.$eval(
        '#memory-bars .row[data-worker="tcp://127.0.0.1:40001"]',
        (el) => el.textContent,
      );
      assert.match(spilled ?? "", /48\.0 MiB spilled/);
      await page.screenshot({ path: `${shots}status-done.png` });

      // Workers: one row per worker; finished counts grow with a new computation.
      await page.click('nav a[data-page="workers"]');
      await page.waitForSelector("#workers-table tbody tr");
      assert.equal(await page.locator("#workers-table tbody tr").count(), 3);
      const finishedCells = () =>
        page.$$eval(
          "#workers-table tbody tr",
          (rows) => rows.reduce((sum, row) => sum + Number(row.children[7].textContent), 0),
        );
      const finishedBefore = await finishedCells();
      cluster.submit("Client-1", treeWorkload("b", 48, 0.05));
      await waitUntil(
        "the workers table counts more finished tasks",
        async () => (await finishedCells()) > finishedBefore,
      );
      await page.screenshot({ path: `${shots}workers.png` });

      // Graph: every task the scheduler holds, states updating.
      await page.click('nav a[data-page="graph"]');
      await waitUntil(
        "the graph draws nodes",
        async () => (await numberAt(page, "#graph", "data-nodes")) > 0,
      );
      const memoryCount = async () => {
        const n = await numberAt(page, '#graph-legend [data-state="memory"]', "data-count");
        return Number.isNaN(n) ? 0 : n;
      };
      await cluster.whenIdle();
      cluster.submit("Client-1", treeWorkload("c", 48, 0.05));
      await waitUntil(
        "the graph shows the new tasks",
        async () => (await numberAt(page, "#graph", "data-nodes")) === cluster.state.tasks.size,
      );
      const memoryBefore = await memoryCount();
      await waitUntil(
        "more graph nodes turn to memory",
        async () => (await memoryCount()) > memoryBefore,
      );
      await page.screenshot({ path: `${shots}graph.png` });

      // Info: the error with its remote stack, and the event log.
      await page.click('nav a[data-page="info"]');
      await page.waitForSelector('#errors details[data-key="parse-f00d"]');
      const stack = await page.$eval(
        '#errors details[data-key="parse-f00d"] pre',
        (el) => el.textContent,
      );
      assert.match(stack ?? "", /at parse \(file:\/\/\/data\/tasks\.ts:12:15\)/);
      // Events fold by kind: workers joining is one row counting them; the topic filter keeps
      // one topic; a click opens a kind's entries.
      const workerEvents = await page.$$eval(
        '#events-table tbody tr.kind[data-topic="worker"]',
        (rows) => rows.reduce((n, row) => n + Number(row.getAttribute("data-count")), 0),
      );
      assert.ok(workerEvents >= 3, `worker events: ${workerEvents}`);
      const joined = page.locator('#events-table tbody tr.kind[data-kind*="joined"]').first();
      assert.ok(Number(await joined.getAttribute("data-count")) >= 2, "joins fold into one row");
      await joined.click();
      await page.waitForSelector("#events-table tbody tr.entry");
      await page.selectOption("#events-topic", "worker");
      const topics = await page.$$eval(
        "#events-table tbody tr.kind",
        (rows) => rows.map((row) => row.getAttribute("data-topic")),
      );
      assert.ok(topics.length > 0 && topics.every((t) => t === "worker"), String(topics));
      await page.click('#errors details[data-key="parse-f00d"] summary');
      await page.screenshot({ path: `${shots}info.png` });

      // A hidden tab receives nothing (its stream closes) and takes a fresh picture when shown.
      const cdp = await page.context().newCDPSession(page);
      await cdp.send("Network.enable");
      let messages = 0;
      cdp.on("Network.eventSourceMessageReceived", () => messages++);
      await page.click('nav a[data-page="status"]');
      cluster.submit("Client-1", treeWorkload("d", 192, 0.06));
      await waitUntil("the Status page receives updates", () => Promise.resolve(messages > 1));
      // as the browser does when the tab goes to the background (headless tabs are never hidden)
      const setHidden = (hidden: boolean) =>
        page.evaluate(`Object.defineProperty(document, "hidden", {
          value: ${hidden}, configurable: true });
          document.dispatchEvent(new Event("visibilitychange"));`);
      await setHidden(true);
      assert.equal(await page.textContent("#connection"), "paused (tab hidden)");
      messages = 0;
      const doneWhileHidden = await numberAt(
        page,
        '#progress .row[data-prefix="inc"]',
        "data-done",
      );
      await new Promise((resolve) => setTimeout(resolve, 1500)); // three pushes while tasks run
      assert.equal(messages, 0, "a hidden tab receives nothing");
      await setHidden(false);
      await waitUntil("a tab shown again receives again", () => Promise.resolve(messages > 0));
      await waitUntil(
        "and catches up",
        async () =>
          (await numberAt(page, INC_ROW, "data-done")) >
            doneWhileHidden,
      );

      await cluster.whenIdle();
      assert.deepEqual(problems, []);
    } finally {
      await browser.close();
      cluster.close();
      await dashboard.close();
    }
  },
});
