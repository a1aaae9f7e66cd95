/**
 * A worker's page (`/worker?address=…`, linked from the Workers table): its facts and memory by
 * kind, what each of its threads ran last, the tasks it is processing (each linked to its story)
 * and its newest log lines. Read from `/api/v1/worker` once a second while shown: log lines come
 * with the worker's heartbeats and make no live event. Its call stacks (Dask's "call stacks" of
 * what runs now) come from `/api/v1/call-stacks`: the latest sampled stack of each task a thread
 * runs, outermost frame first; a thread busy in synchronous code is paused for a moment to read
 * its stack (call_stack.js).
 *
 * @module
 */

import {
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
} from "../../../core/display/format.js";
import { prefixColor } from "../../../core/display/palette.js";
import { stackBlock } from "./call_stack.js";
import { cell, linkCell, Poller, setFacts } from "./dom.js";
import { memoryCell } from "./workers_page.js";

/** Least time between two readings, ms. */
const POLL_MS = 1000;

export class WorkerPage {
  // The live connection keeps the connection badge honest; the page reads /api/v1/worker.
  views = ["workers"];

  constructor() {
    this.address = new URLSearchParams(location.search).get("address") ?? "";
    this.caption = /** @type {HTMLElement} */ (document.getElementById("worker-caption"));
    this.facts = /** @type {HTMLElement} */ (document.getElementById("worker-facts"));
    this.memory = /** @type {HTMLElement} */ (document.querySelector("#worker-memory tr"));
    this.threads = /** @type {HTMLElement} */ (document.querySelector("#worker-threads tbody"));
    this.tasks = /** @type {HTMLElement} */ (document.querySelector("#worker-tasks tbody"));
    this.logs = /** @type {HTMLElement} */ (document.getElementById("worker-logs"));
    this.poller = new Poller(POLL_MS, (data, ok) => {
      if (ok) this.#show(data);
      else this.caption.textContent = data.error;
    });
    this.stacks = /** @type {HTMLElement} */ (document.getElementById("worker-stacks"));
    this.stacksCaption = /** @type {HTMLElement} */ (
      document.getElementById("worker-stacks-caption")
    );
    this.stacksPoller = new Poller(POLL_MS, (data, ok) => {
      if (ok) this.#showStacks(data);
      else this.stacksCaption.textContent = data.error;
    });
  }

  /** Events are not needed: the page reads /api/v1/worker. */
  handle() {}

  render() {
    if (this.address === "") {
      this.caption.textContent = "open a worker from the Workers page";
      return;
    }
    this.poller.poll(`/api/v1/worker?address=${encodeURIComponent(this.address)}`);
    this.stacksPoller.poll(`/api/v1/call-stacks?address=${encodeURIComponent(this.address)}`);
  }

  /** @param {any} data */
  #showStacks(data) {
    this.stacksCaption.textContent = data.sampling
      ? "what each busy thread runs now, outermost frame first"
      : "this worker's threads do not sample (no sys: inspector, or --profile-interval 0)";
    const now = Date.now();
    const blocks = [];
    for (const thread of data.threads) {
      if (!thread.answered && thread.tasks.length === 0) {
        // busy, but between two tasks as far as its status tells
        const div = document.createElement("div");
        div.className = "stack muted";
        div.dataset.thread = String(thread.thread);
        div.textContent = `#${thread.thread}: busy in synchronous code between tasks`;
        blocks.push(div);
        continue;
      }
      for (const task of thread.tasks) blocks.push(stackBlock(thread, task, now));
    }
    if (blocks.length === 0) {
      const idle = document.createElement("div");
      idle.className = "muted";
      idle.textContent = "no thread runs a task now";
      blocks.push(idle);
    }
    this.stacks.replaceChildren(...blocks);
  }

  /** @param {any} data */
  #show(data) {
    const w = data.worker;
    this.caption.textContent = `${w.name} · ${w.address}`;
    this.caption.dataset.worker = w.address;
    setFacts(this.facts, [
      ["Threads", String(w.nthreads)],
      ["Processing", formatCount(w.processing)],
      ["In memory", `${formatCount(w.inMemory)} keys`],
      ["Finished", formatCount(w.finished)],
      ["CPU", w.cpu === null ? "–" : `${Math.round(w.cpu)} %`],
      [
        "Memory",
        `managed ${formatBytes(w.managed)} · unmanaged ${formatBytes(w.unmanaged)} · ` +
        `spilled ${formatBytes(w.spilled)}`,
      ],
      ["Memory limit", w.memoryLimit > 0 ? formatBytes(w.memoryLimit) : "none"],
    ]);
    this.memory.replaceChildren(memoryCell(w));

    this.threads.replaceChildren(...data.threads.map((/** @type {any} */ t) => {
      const tr = document.createElement("tr");
      tr.dataset.thread = String(t.thread);
      tr.dataset.runs = String(t.runs);
      const last = t.last;
      const task = last === null ? cell("–", "muted") : taskLink(last.key, last.prefix);
      tr.append(
        cell(`#${t.thread}`),
        task,
        cell(last === null ? "" : formatDuration(last.stop - last.start), "num"),
        cell(last === null ? "" : formatClock(last.stop), "muted"),
        cell(formatCount(t.runs), "num"),
      );
      return tr;
    }));

    this.tasks.replaceChildren(...data.processing.map((/** @type {any} */ t) => {
      const tr = document.createElement("tr");
      tr.append(taskLink(t.key, t.prefix));
      return tr;
    }));

    // Follow the newest lines unless the reader scrolled up.
    const atEnd = this.logs.scrollTop + this.logs.clientHeight >= this.logs.scrollHeight - 4;
    this.logs.replaceChildren(...data.logs.map((/** @type {[number, string]} */ [time, text]) => {
      const line = document.createElement("div");
      line.className = "log-line";
      const when = document.createElement("span");
      when.className = "muted";
      when.textContent = `${formatClock(time)} `;
      line.append(when, text);
      return line;
    }));
    this.logs.dataset.lines = String(data.logs.length);
    if (atEnd) this.logs.scrollTop = this.logs.scrollHeight;
  }
}

/**
 * A cell linking a task key to its story, with its prefix's colour.
 * @param {string} key
 * @param {string} prefix
 */
function taskLink(key, prefix) {
  const td = linkCell(key, `/task?key=${encodeURIComponent(key)}`);
  td.style.borderLeft = `4px solid ${prefixColor(prefix)}`;
  return td;
}
