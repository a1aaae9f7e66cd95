/**
 * The Info page: the scheduler's vital numbers, the errors tasks raised (with their remote
 * stacks) and the scheduler's event log, newest first.
 *
 * @module
 */

import {
  formatBytes,
  formatClock,
  formatCount,
  formatDuration,
} from "../../../core/display/format.js";
import { serverNow } from "./live.js";

const MAX_EVENTS = 1000;

export class InfoPage {
  views = ["info"];

  constructor() {
    this.facts = /** @type {HTMLElement} */ (document.getElementById("scheduler-info"));
    this.errorList = /** @type {HTMLElement} */ (document.getElementById("errors"));
    this.errorsCaption = /** @type {HTMLElement} */ (document.getElementById("errors-caption"));
    this.eventsBody = /** @type {HTMLElement} */ (
      document.querySelector("#events-table tbody")
    );
    this.eventsCaption = /** @type {HTMLElement} */ (document.getElementById("events-caption"));
    /** @type {any} */
    this.scheduler = null;
    /** @type {any[]} */
    this.events = [];
    /** @type {Map<number, any>} */
    this.errors = new Map();
    this.nextEvent = 0;
    this.dirty = true;
  }

  /**
   * @param {string} event
   * @param {any} data
   */
  handle(event, data) {
    if (event !== "info") return;
    this.scheduler = data.scheduler;
    if (data.eventsTotal < this.nextEvent) {
      this.events = [];
      this.errors.clear();
      this.nextEvent = 0;
    }
    const skip = Math.max(0, this.nextEvent - data.first);
    this.events.push(...data.events.slice(skip));
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
    this.nextEvent = Math.max(this.nextEvent, data.eventsTotal);
    for (const error of data.errors) this.errors.set(error.seq, error);
    this.dirty = true;
  }

  render() {
    const s = this.scheduler;
    if (s === null) return;
    const t = s.tasks;
    const facts = [
      ["Scheduler", s.address],
      ["Dashboard", s.dashboard],
      ["Up", formatDuration(serverNow() - s.startedAt)],
      ["Workers", `${formatCount(s.workers)} (${formatCount(s.threads)} threads)`],
      ["Clients", formatCount(s.clients)],
      [
        "Tasks",
        `${formatCount(t.memory)} in memory, ${formatCount(t.processing)} processing, ` +
        `${formatCount(t.waiting + t.queued + t["no-worker"])} waiting, ` +
        `${formatCount(t.erred)} erred, ${formatCount(t.released)} released`,
      ],
      ["Bandwidth", `${formatBytes(s.bandwidth)}/s`],
      [
        "Stealing",
        `${formatCount(s.stealing.confirmed)} moved of ${formatCount(s.stealing.requested)} ` +
        `asked (${formatCount(s.stealing.rejected)} refused)`,
      ],
      ["Event-loop lag", formatDuration(s.loopLag)],
    ];
    this.facts.replaceChildren(...facts.flatMap(([term, value]) => {
      const dt = document.createElement("dt");
      dt.textContent = term;
      const dd = document.createElement("dd");
      dd.textContent = value;
      return [dt, dd];
    }));
    if (!this.dirty) return;
    this.dirty = false;

    const errors = [...this.errors.values()].reverse();
    this.errorsCaption.textContent = errors.length === 0 ? "none" : `${errors.length}`;
    this.errorList.replaceChildren(...errors.map((e) => {
      const details = document.createElement("details");
      details.dataset.key = e.key;
      const summary = document.createElement("summary");
      summary.textContent = `${formatClock(e.time)}  ${e.key}: ${e.name}: ${e.message}`;
      const pre = document.createElement("pre");
      pre.textContent = (e.stack ?? "(no stack: the task was forgotten before it was read)") +
        (e.worker ? `\n\non ${e.worker}` : "");
      details.append(summary, pre);
      return details;
    }));

    this.eventsCaption.textContent = `${formatCount(this.events.length)} shown`;
    const rows = this.events.slice().reverse().map((e) => {
      const tr = document.createElement("tr");
      tr.dataset.topic = e.topic;
      for (const text of [formatClock(e.time), e.topic, e.message]) {
        const td = document.createElement("td");
        td.textContent = text;
        tr.append(td);
      }
      return tr;
    });
    this.eventsBody.replaceChildren(...rows);
  }
}
