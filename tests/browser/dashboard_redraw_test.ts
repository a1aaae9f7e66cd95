/**
 * What an open Status page makes the browser do: it redraws its task stream only when the
 * picture changes (runs came, or time moves runs along the live window), at most twice a second
 * (the live feed's push interval), and not at all while nothing would change. Counted in headless
 * Chromium by wrapping the canvas's `clearRect` (every redraw of the task stream starts with one),
 * which the page's code does not know about.
 */

import assert from "node:assert/strict";
import type { Page } from "npm:playwright-core@^1";
import { startDashboard } from "../../scheduler/dashboard/mod.ts";
import { chromiumMissing, openBrowser } from "./chromium.ts";
import { SimulatedCluster, treeWorkload } from "./simulated_cluster.ts";

const missing = chromiumMissing();
if (missing !== null) console.warn(missing);

/** Counts the task stream's redraws in `globalThis.__redraws`, from before the page's code runs. */
const COUNT_REDRAWS = `
  globalThis.__redraws = 0;
  const clear = CanvasRenderingContext2D.prototype.clearRect;
  CanvasRenderingContext2D.prototype.clearRect = function (...args) {
    if (this.canvas.id === "task-stream") globalThis.__redraws++;
    return clear.apply(this, args);
  };
`;

const redraws = (page: Page) =>
  page.evaluate(() => (globalThis as { __redraws?: number }).__redraws!);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

Deno.test({
  name: "the Status page redraws when its picture changes, at most twice a second",
  ignore: missing !== null,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const cluster = new SimulatedCluster({ workers: 2, threadsPerWorker: 2, taskSeconds: 0.03 });
    const dashboard = await startDashboard({
      state: cluster.state,
      hostname: "127.0.0.1",
      port: 0,
      schedulerAddress: "tcp://127.0.0.1:8786",
    });
    const browser = await openBrowser();
    try {
      const page = browser.page;
      await page.addInitScript(COUNT_REDRAWS);
      await page.goto(dashboard.url);
      await page.waitForSelector("#memory-bars .row");
      await sleep(1500);

      // No task ever ran: the stream's picture stands still (heartbeats still update the bars).
      const idleBefore = await redraws(page);
      await sleep(2000);
      assert.equal(await redraws(page), idleBefore, "no redraw while the picture stands still");
      // ...until the window's width changes the picture.
      await page.setViewportSize({ width: 1100, height: 900 });
      await sleep(1200);
      assert.ok((await redraws(page)) > idleBefore, "a new width redraws a still picture");

      // Runs arrive: the stream follows them, no more often than the pushes come.
      cluster.submit("Client-1", treeWorkload("a", 200, 0.03));
      const drawn = () => page.$eval("#task-stream", (el) => Number(el.getAttribute("data-drawn")));
      for (const deadline = performance.now() + 15_000; await drawn() === 0;) {
        assert.ok(performance.now() < deadline, "the task stream never drew the runs");
        await sleep(50);
      }
      const busyBefore = await redraws(page);
      await sleep(3000);
      const busy = (await redraws(page)) - busyBefore;
      assert.ok(busy >= 3, `the stream follows the runs (${busy} redraws in 3 s)`);
      assert.ok(busy <= 8, `at most about two redraws a second (${busy} in 3 s)`);

      // The runs are over but still in the live window: time moves them along.
      await cluster.whenIdle();
      const movingBefore = await redraws(page);
      await sleep(1500);
      assert.ok((await redraws(page)) > movingBefore, "the window moves on after the last run");
    } finally {
      await browser.close();
      cluster.close();
      await dashboard.close();
    }
  },
});
