/**
 * The dashboard names fused tasks by their parts (also in the Profile page), and shows the call stack of a task busy in
 * synchronous code — on the worker's page and on the task's own page — on a real cluster: a
 * scheduler server with the dashboard mounted as the CLI mounts it, one worker process, a
 * Client, headless Chromium. Screenshots go to artifacts/dashboard/.
 */

import assert from "node:assert/strict";
import { Client } from "../../client/client.ts";
import { delayed } from "../../collections/delayed.ts";
import { startWorker, type WorkerProcess } from "../helpers/cluster.ts";
import { artifactsDir, chromiumMissing, openBrowser } from "./chromium.ts";
import { startSchedulerWithDashboard, waitUntil } from "./real_scheduler.ts";

const missing = chromiumMissing();
if (missing !== null) console.warn(missing);

/** Self-contained task functions: a chain the optimizer fuses. */
function load(seed: number): number[] {
  return [seed, seed + 1, seed + 2];
}
function scale(xs: number[]): number[] {
  return xs.map((x) => 10 * x);
}
function total(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0);
}

/** How long `grind` should run for the `seed`th task: the first link of a fused chain. */
function pause(seed: number): number {
  return 400 + seed;
}

/**
 * Busy in `busyLoop` for `ms` milliseconds without ever awaiting: its thread cannot answer a
 * call-stacks request itself until it returns.
 */
function grind(ms: number): number {
  function busyLoop(until: number): number {
    let x = 0;
    while (Date.now() < until) for (let i = 0; i < 1000; i++) x += Math.sqrt(i);
    return x;
  }
  return busyLoop(Date.now() + ms) > 0 ? ms : -1;
}

Deno.test({
  name: "fused tasks by their parts' names; call stacks of threads busy in synchronous code",
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
      workers.push(await startWorker(server.address, { name: "carol", nthreads: 2 }));
      await waitUntil("the worker registered", () => server.workerCount === 1);
      client = await Client.connect(server.address);
      const page = browser.page;
      const base = dashboard.url.replace(/\/status$/, "");

      // A chain load → scale → total per seed: graph optimization fuses each into one task
      // under the chain's last key, grouped and shown as `load+scale+total`.
      await page.goto(dashboard.url);
      await page.waitForSelector("#memory-bars .row");
      const chains = Array.from(
        { length: 6 },
        (_, i) => delayed(total)(delayed(scale)(delayed(load)(i))),
      );
      const futures = client.compute(chains); // held: the story of a live task names its parts
      const sums = await client.gather(futures);
      assert.deepEqual(sums, [30, 60, 90, 120, 150, 180]);
      const story = await client.story(chains[0].key);
      assert.ok(story.length > 0, "the fused task keeps the last key");
      const parts = story[0].parts ?? [];
      assert.deepEqual(parts.map((k) => k.replace(/-.*/, "")), ["load", "scale", "total"]);
      assert.equal(parts.at(-1), chains[0].key);
      assert.ok(story.every((entry) => entry.parts !== undefined), "every entry names the parts");
      // the status page's progress and task stream group it by its parts' names
      await page.waitForSelector('#progress .row[data-prefix="load+scale+total"]');
      await waitUntil(
        "the task stream's legend names the fused prefix",
        async () =>
          /load\+scale\+total/.test(await page.locator("#task-stream-legend").innerText()),
      );
      await page.screenshot({ path: `${shots}fused-status.png` });

      await page.click('nav a[data-page="graph"]');
      const held = client.compute(delayed(total)(delayed(scale)(delayed(load)(100))));
      await waitUntil("the graph page shows the fused task's prefix", async () => {
        const prefixes = await page.$eval("#graph", (el) => el.getAttribute("data-prefixes"));
        return (prefixes ?? "").split(" ").includes("load+scale+total");
      });
      // its tooltip names the parts too (a string: this file is type-checked without the DOM)
      const tip = await page.evaluate(`(() => {
        const canvas = document.getElementById("graph");
        const tooltip = document.getElementById("tooltip");
        const rect = canvas.getBoundingClientRect();
        for (let y = rect.top + 2; y < rect.bottom; y += 3) {
          for (let x = rect.left + 2; x < rect.right; x += 3) {
            canvas.dispatchEvent(new MouseEvent("mousemove", { clientX: x, clientY: y }));
            if (!tooltip.hidden) return tooltip.textContent;
          }
        }
        return "";
      })()`) as string;
      assert.match(tip, /load\+scale\+total/);
      await page.screenshot({ path: `${shots}fused-graph.png` });

      await page.goto(`${base}/task?key=${encodeURIComponent(chains[0].key)}`);
      await waitUntil(
        "the task page names the parts",
        async () =>
          (await page.locator("#task-parts").getAttribute("data-parts")) === parts.join(" "),
      );
      assert.match(await page.locator("#task-parts").innerText(), /fused .* from 3 tasks/);
      assert.equal(await page.locator("#task-stack").getAttribute("data-state"), "memory");
      await page.screenshot({ path: `${shots}fused-task-page.png` });
      // a part's own key (the chain's first link) opens the fused task's story, marked so
      await page.goto(`${base}/task?key=${encodeURIComponent(parts[0])}`);
      await waitUntil(
        "the task page tells the part's fused task",
        async () =>
          (await page.locator("#task-parts").getAttribute("data-fused-into")) === chains[0].key,
      );
      assert.match(
        await page.locator("#task-parts").innerText(),
        new RegExp(`ran as a part of ${chains[0].key}`),
      );
      assert.ok(await page.locator("#task-story tbody tr").count() > 0, "its transitions show");
      await waitUntil(
        "the part's call stack is the fused task's (done: in memory)",
        async () => (await page.locator("#task-stack").getAttribute("data-state")) === "memory",
      );
      await page.screenshot({ path: `${shots}fused-part-task-page.png` });
      await held;

      // The Profile page files a fused task's samples under its parts' names, as the task
      // stream and progress do: `pause+grind`, not the key's own prefix `grind`.
      const ground = await client.gather(
        client.compute([0, 1].map((i) => delayed(grind)(delayed(pause)(i)))),
      );
      assert.deepEqual(ground, [400, 401]);
      await page.goto(`${base}/profile`);
      await page.click('#profile-range button[data-seconds="0"]');
      await page.waitForSelector('#profile-table tr[data-prefix="pause+grind"]');
      assert.equal(
        await page.locator("#profile-caption").getAttribute("data-source"),
        "sampled",
        "the worker's threads sample their call stacks",
      );
      assert.equal(await page.locator('#profile-table tr[data-prefix="grind"]').count(), 0);
      await page.screenshot({ path: `${shots}fused-profile.png` });

      // A thread busy in synchronous code: its stack is read by pausing it for a moment.
      const carol = workers[0].address;
      const grinding = client.submit(grind, 12_000);
      await waitUntil(
        "the task runs",
        () => server.state.tasks.get(grinding.key)?.state === "processing",
      );
      await page.goto(`${base}/worker?address=${encodeURIComponent(carol)}`);
      type Block = { key: string | null; busy: string | null; text: string; frames: string[] };
      const blocks = (selector: string) =>
        page.$$eval(`${selector} .stack`, (divs) =>
          divs.map((div) => ({
            key: div.getAttribute("data-key"),
            busy: div.getAttribute("data-busy"),
            text: div.textContent ?? "",
            frames: [...div.querySelectorAll("li")].map((li) => li.getAttribute("data-name") ?? ""),
          }))) as Promise<Block[]>;
      let shown: Block | undefined;
      await waitUntil("the worker page shows the busy thread's stack", async () => {
        shown = (await blocks("#worker-stacks")).find((b) => b.key === grinding.key);
        return shown !== undefined && shown.frames.includes("busyLoop");
      }).catch(async (error) => {
        const seen = JSON.stringify(await blocks("#worker-stacks"));
        throw new Error(`${error.message}; shown: ${seen}; worker: ${workers[0].process.lines}`);
      });
      assert.equal(shown!.busy, "paused", shown!.text);
      assert.deepEqual(shown!.frames.slice(0, 2), ["grind", "busyLoop"], "outermost first");
      assert.match(shown!.text, /grind\(\) · running .* busy in synchronous code/);
      await page.locator("#worker-stacks").scrollIntoViewIfNeeded();
      await page.screenshot({ path: `${shots}busy-thread-worker-page.png`, fullPage: true });

      await page.goto(`${base}/task?key=${encodeURIComponent(grinding.key)}`);
      await waitUntil("the task page shows its call stack", async () => {
        shown = (await blocks("#task-stack")).find((b) => b.key === grinding.key);
        return shown !== undefined && shown.frames.includes("busyLoop");
      });
      assert.match(await page.locator("#task-stack-caption").innerText(), /running on tcp:\/\//);
      await page.screenshot({ path: `${shots}busy-thread-task-page.png`, fullPage: true });
      // the pauses left it running: it finishes with its whole time
      assert.equal(await grinding.result(), 12_000);
      await waitUntil(
        "the task page says it is no longer running",
        async () =>
          /not running \(memory\)/.test(await page.locator("#task-stack-caption").innerText()),
      );

      // A worker that may not be read from outside (sampling off) names the busy task instead.
      workers.push(
        await startWorker(server.address, { name: "dave", args: ["--profile-interval", "0"] }),
      );
      await waitUntil("dave registered", () => server.workerCount === 2);
      const dave = workers[1].address;
      const stuck = client.with({ workers: ["dave"] }).submit(grind, 6_000);
      await waitUntil(
        "dave runs it",
        () => server.state.tasks.get(stuck.key)?.state === "processing",
      );
      await page.goto(`${base}/worker?address=${encodeURIComponent(dave)}`);
      await waitUntil("dave's page names the busy task", async () => {
        shown = (await blocks("#worker-stacks")).find((b) => b.key === stuck.key);
        return shown !== undefined;
      });
      assert.equal(shown!.busy, "unreadable");
      assert.deepEqual(shown!.frames, []);
      assert.match(
        shown!.text,
        /grind\(\) · running .* this thread is busy in synchronous code; its stack is not sampleable/,
      );
      await page.screenshot({ path: `${shots}busy-thread-unreadable.png`, fullPage: true });
      assert.equal(await stuck.result(), 6_000);
    } finally {
      await browser.close();
      await client?.close();
      await scheduler.close();
      for (const worker of workers) await worker.process.stop();
    }
  },
});
