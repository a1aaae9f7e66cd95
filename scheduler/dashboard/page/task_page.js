/**
 * The Task page: a key's story — every transition the scheduler made for it, with the stimulus
 * that caused it (`task-erred-…`: a run failed; `worker-lost-…`: its worker died) and the worker
 * involved. The key comes from `?key=` (links from other pages) or the form; the story is asked
 * for again every second while the page is open, since transitions make no live event.
 *
 * @module
 */

import { formatClock } from "../../../core/display/format.js";

const REFRESH_MS = 1000;

export class TaskPage {
  // The page needs no live view of its own; the cheapest keeps the connection badge honest.
  views = ["info"];

  constructor() {
    this.form = /** @type {HTMLFormElement} */ (document.getElementById("task-form"));
    this.input = /** @type {HTMLInputElement} */ (document.getElementById("task-key"));
    this.caption = /** @type {HTMLElement} */ (document.getElementById("task-caption"));
    this.body = /** @type {HTMLElement} */ (document.querySelector("#task-story tbody"));
    this.key = new URLSearchParams(location.search).get("key") ?? "";
    this.input.value = this.key;
    /** @type {any[]} */
    this.transitions = [];
    this.lastFetch = 0;
    this.inFlight = false;
    this.dirty = true;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.key = this.input.value.trim();
      history.replaceState(null, "", `/task?key=${encodeURIComponent(this.key)}`);
      this.lastFetch = 0;
    });
  }

  /** Live events carry nothing for this page. */
  handle() {}

  render() {
    if (this.key !== "" && !this.inFlight && performance.now() - this.lastFetch >= REFRESH_MS) {
      this.fetchStory(this.key);
    }
    if (!this.dirty) return;
    this.dirty = false;
    this.caption.textContent = this.key === ""
      ? "give a key"
      : `${this.key}: ${this.transitions.length} transitions remembered`;
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

  /** @param {string} key */
  async fetchStory(key) {
    this.inFlight = true;
    this.lastFetch = performance.now();
    try {
      const response = await fetch(`/api/v1/story?key=${encodeURIComponent(key)}`);
      if (!response.ok) return;
      const story = await response.json();
      if (story.key !== this.key) return;
      this.transitions = story.transitions;
      this.dirty = true;
    } catch {
      // The connection badge already tells that the scheduler is unreachable.
    } finally {
      this.inFlight = false;
    }
  }
}
