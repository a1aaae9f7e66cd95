/**
 * The Task page: a key's story — every transition the scheduler made for it, with the stimulus
 * that caused it (`task-erred-…`: a run failed; `worker-lost-…`: its worker died) and the worker
 * involved — and, while it runs, its call stack now (Dask's call-stack button; a thread busy in
 * synchronous code is paused for a moment to read it, call_stack.js). A task that graph
 * optimization fused from a chain names its parts. The key comes from `?key=` (links from other
 * pages) or the form; story and stack are asked for again every second while the page is open,
 * since transitions make no live event.
 *
 * @module
 */

import { formatClock } from "../../../core/display/format.js";
import { stackBlock } from "./call_stack.js";
import { Poller } from "./dom.js";

const REFRESH_MS = 1000;

export class TaskPage {
  // The page needs no live view of its own; the cheapest keeps the connection badge honest.
  views = ["info"];

  constructor() {
    this.form = /** @type {HTMLFormElement} */ (document.getElementById("task-form"));
    this.input = /** @type {HTMLInputElement} */ (document.getElementById("task-key"));
    this.caption = /** @type {HTMLElement} */ (document.getElementById("task-caption"));
    this.parts = /** @type {HTMLElement} */ (document.getElementById("task-parts"));
    this.body = /** @type {HTMLElement} */ (document.querySelector("#task-story tbody"));
    this.stack = /** @type {HTMLElement} */ (document.getElementById("task-stack"));
    this.stackCaption = /** @type {HTMLElement} */ (document.getElementById("task-stack-caption"));
    this.key = new URLSearchParams(location.search).get("key") ?? "";
    this.input.value = this.key;
    /** @type {any[]} */
    this.transitions = [];
    this.story = new Poller(REFRESH_MS, (story, ok) => {
      if (!ok || story.key !== this.key) return;
      this.transitions = story.transitions;
      this.#showStory();
    });
    this.stacks = new Poller(REFRESH_MS, (view, ok) => {
      if (ok && view.key === this.#stackKey()) this.#showStack(view);
      else if (!ok) this.stackCaption.textContent = view.error;
    });
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.key = this.input.value.trim();
      history.replaceState(null, "", `/task?key=${encodeURIComponent(this.key)}`);
      this.transitions = [];
      this.story.last = -Infinity;
      this.stacks.last = -Infinity;
      this.#showStory();
      this.stack.replaceChildren();
    });
    this.#showStory();
  }

  /** Live events carry nothing for this page. */
  handle() {}

  render() {
    if (this.key === "") return;
    const key = encodeURIComponent(this.key);
    this.story.poll(`/api/v1/story?key=${key}`);
    this.stacks.poll(`/api/v1/call-stack?key=${encodeURIComponent(this.#stackKey())}`);
  }

  /** The key whose call stack to show: a part of a fused task runs as the fused task. */
  #stackKey() {
    /** @type {string | undefined} */
    const fusedInto = this.transitions.find((t) => t.fusedInto !== undefined)?.fusedInto;
    return fusedInto ?? this.key;
  }

  #showStory() {
    this.caption.textContent = this.key === ""
      ? "give a key"
      : `${this.key}: ${this.transitions.length} transitions remembered`;
    /** @type {string[] | undefined} */
    const parts = this.transitions.find((t) => t.parts !== undefined)?.parts;
    this.parts.hidden = parts === undefined;
    this.parts.dataset.parts = parts === undefined ? "" : parts.join(" ");
    /** @type {string | undefined} */
    const fusedInto = this.transitions.find((t) => t.fusedInto !== undefined)?.fusedInto;
    this.parts.dataset.fusedInto = fusedInto ?? "";
    this.parts.textContent = parts === undefined
      ? ""
      : (fusedInto === undefined ? "" : `ran as a part of ${fusedInto} (its story below); `) +
        `fused by graph optimization from ${parts.length} tasks, run in this order: ` +
        parts.join(" → ");
    const rows = this.transitions.map((t) => {
      const row = document.createElement("tr");
      for (const text of [formatClock(t.time), t.start, t.finish, t.stimulus, t.worker ?? ""]) {
        const cell = document.createElement("td");
        cell.textContent = text;
        row.append(cell);
      }
      return row;
    });
    this.body.replaceChildren(...rows);
  }

  /** @param {any} view */
  #showStack(view) {
    this.stack.dataset.state = view.state ?? "";
    if (view.worker === null) {
      this.stackCaption.textContent = view.state === null
        ? "the scheduler does not know this key now"
        : `not running (${view.state})`;
      this.stack.replaceChildren();
      return;
    }
    this.stackCaption.textContent = `running on ${view.worker}` +
      (view.sampling ? "" : " (its threads do not sample)");
    const task = view.thread?.tasks[0];
    this.stack.replaceChildren(
      task === undefined ? mutedLine("its worker has not started it yet") : stackBlock(
        view.thread,
        task,
        Date.now(),
      ),
    );
  }
}

/** @param {string} text */
function mutedLine(text) {
  const div = document.createElement("div");
  div.className = "muted";
  div.textContent = text;
  return div;
}
