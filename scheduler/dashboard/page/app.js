/**
 * The dashboard page: tabs (Status, Workers, Graph, Info, System, Task) over one live connection
 * that carries what the open tab shows. Redraws on every update (at most once a frame, no more
 * than every {@link FRAME_MS}) and a few times a second, because time moves even when nothing
 * else does; pages apply the updates that came since the last frame when they draw. A hidden
 * tab closes its connection and draws nothing.
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
 * Least time between redraws: updates arrive every 500 ms; between them a redraw moves the task
 * stream's time axis on. Drawing faster only costs CPU.
 */
const FRAME_MS = 250;

/** @type {Record<string, { views: string[], handle(e: string, d: any): void, render(): void }>} */
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

function render() {
  frameRequested = false;
  lastFrame = performance.now();
  pages[current].render();
}

/** Redraws on the next frame, but no sooner than FRAME_MS after the last redraw. */
function requestRender() {
  if (frameRequested) return;
  frameRequested = true;
  const wait = Math.max(0, lastFrame + FRAME_MS - performance.now());
  setTimeout(() => requestAnimationFrame(render), wait);
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
    const text = `${data.workers.length} workers · ${threads} threads · ` +
      `${formatCount(c.processing)} processing · ${formatCount(c.memory)} in memory`;
    if (summary.textContent !== text) summary.textContent = text;
  }
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
  summary.textContent = "";
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
setInterval(requestRender, FRAME_MS);
show(location.pathname.slice(1));
