/**
 * The dashboard page: tabs (Status, Workers, Graph, Info, System, Task) over one live connection
 * that carries what the open tab shows. Every DOM write happens in one redraw (no more often
 * than every {@link FRAME_MS}): an update marks the page dirty and asks for one; a
 * timer asks for one too, because time moves even when nothing else does, unless the page says
 * its picture stands still (`still()`: the Status page's task stream has no run in its window).
 * Pages apply the updates that came since the last frame when they draw. A hidden tab closes its
 * connection and draws nothing.
 *
 * @module
 */

import { formatCount } from "../../../core/display/format.js";
import { GraphPage } from "./graph_page.js";
import { InfoPage } from "./info_page.js";
import { ProfilePage } from "./profile_page.js";
import { LiveConnection } from "./live.js";
import { StatusPage } from "./status_page.js";
import { SystemPage } from "./system_page.js";
import { TaskPage } from "./task_page.js";
import { WorkerPage } from "./worker_page.js";
import { WorkersPage } from "./workers_page.js";

/**
 * Least time between redraws: updates arrive every 500 ms (the live feed's push interval), so a
 * faster redraw would only move the task stream's time axis on between them, and every frame
 * costs the browser style, layout, paint, raster and compositing whatever changed in it.
 */
const FRAME_MS = 500;

/**
 * @type {Record<string, { views: string[], handle(e: string, d: any): void, render(): void,
 *   still?(): boolean }>}
 */
const pages = {
  status: new StatusPage(),
  workers: new WorkersPage(),
  worker: new WorkerPage(),
  graph: new GraphPage(),
  profile: new ProfilePage(),
  info: new InfoPage(),
  system: new SystemPage(),
  task: new TaskPage(),
};

const connectionBadge = /** @type {HTMLElement} */ (document.getElementById("connection"));
const summary = /** @type {HTMLElement} */ (document.getElementById("summary"));

/** @type {LiveConnection | null} */
let connection = null;
let current = "status";
let frameRequested = false;
let lastFrame = 0;
/** The summary line's text (from the latest status), written with the next redraw. */
let summaryText = "";
/** Whether an update came since the last redraw. */
let dirty = true;

function render() {
  frameRequested = false;
  dirty = false;
  lastFrame = performance.now();
  pages[current].render();
  if (summary.textContent !== summaryText) summary.textContent = summaryText;
}

/**
 * Redraws soon, but no sooner than FRAME_MS after the last redraw; a hidden tab not at all. The
 * redraw runs in a timer task rather than an animation frame callback: the browser paints its
 * writes with the next frame all the same, and at two redraws a second an animation frame buys
 * no smoothness.
 */
function requestRender() {
  if (frameRequested || document.hidden) return;
  frameRequested = true;
  const wait = Math.max(0, lastFrame + FRAME_MS - performance.now());
  setTimeout(render, wait);
}

/**
 * @param {string} event
 * @param {any} data
 */
function onEvent(event, data) {
  pages[current].handle(event, data);
  if (event === "status") {
    const c = data.counts;
    let threads = 0;
    for (const w of data.workers) threads += w.nthreads;
    summaryText = `${data.workers.length} workers · ${threads} threads · ` +
      `${formatCount(c.processing)} processing · ${formatCount(c.memory)} in memory`;
  }
  dirty = true;
  requestRender();
}

/** @param {string} name */
function show(name) {
  current = name in pages ? name : "status";
  for (const key of Object.keys(pages)) {
    /** @type {HTMLElement} */ (document.getElementById(`page-${key}`)).hidden = key !== current;
  }
  // A worker's page belongs under Workers.
  const tab = current === "worker" ? "workers" : current;
  for (const link of document.querySelectorAll("nav a")) {
    link.classList.toggle("active", /** @type {HTMLElement} */ (link).dataset.page === tab);
  }
  document.title = `Dask: ${current}`;
  // A tooltip belongs to the page it was shown on.
  /** @type {HTMLElement} */ (document.getElementById("tooltip")).hidden = true;
  // The summary comes with Status updates; elsewhere it would go stale.
  summaryText = "";
  dirty = true;
  connection?.close();
  connection = new LiveConnection(pages[current].views, onEvent, (state) => {
    connectionBadge.dataset.state = state;
    connectionBadge.textContent = state === "live"
      ? "live"
      : state === "lost"
      ? "reconnecting…"
      : "connecting…";
  });
  requestRender();
}

for (const link of document.querySelectorAll("nav a")) {
  link.addEventListener("click", (event) => {
    const page = /** @type {HTMLElement} */ (link).dataset.page ?? "status";
    event.preventDefault();
    history.pushState(null, "", `/${page}`);
    show(page);
  });
}
addEventListener("popstate", () => show(location.pathname.slice(1)));
// A hidden tab neither draws (animation frames stop) nor listens: it costs the scheduler and the
// browser nothing, and takes a fresh picture when shown again.
document.addEventListener("visibilitychange", () => {
  if (document.hidden) {
    connection?.close();
    connection = null;
    connectionBadge.dataset.state = "paused";
    connectionBadge.textContent = "paused (tab hidden)";
  } else {
    show(current);
  }
});
// Time moves: a redraw when no update came to ask for one, unless the picture stands still.
setInterval(() => {
  if (dirty || !(pages[current].still?.() ?? false)) requestRender();
}, FRAME_MS);
show(location.pathname.slice(1));
