/**
 * The Info page: the scheduler's vital numbers, the errors tasks raised (with their remote
 * stacks) and the scheduler's event log folded by kind (the same message about other tasks or
 * workers — e.g. hundreds of "already executing" steal answers — is one row with a count; a click
 * shows its entries), newest kind first, filtered by topic and text.
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
import { setFacts } from "./dom.js";

const MAX_EVENTS = 1000;
/** Entries a row shows when opened. */
const MAX_SHOWN_ENTRIES = 50;
const ADDRESS = /\b[a-z]+:\/\/[^\s,;)]+/g;

/**
 * What entries of one kind share: their topic and message with the task key and worker
 * addresses taken out.
 * @param {any} e
 */
export function eventKind(e) {
  let message = String(e.message).replace(ADDRESS, "‹worker›");
  if (e.key) message = message.split(e.key).join("‹key›");
  return `${e.topic}: ${message}`;
}

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
    /** Kinds whose entries are shown. */
    this.open = new Set();
    this.topicFilter = /** @type {HTMLSelectElement} */ (document.getElementById("events-topic"));
    this.textFilter = /** @type {HTMLInputElement} */ (document.getElementById("events-filter"));
    const refilter = () => {
      this.dirty = true;
      this.render();
    };
    this.topicFilter.addEventListener("change", refilter);
    this.textFilter.addEventListener("input", refilter);
    this.eventsBody.addEventListener("click", (e) => {
      const row = /** @type {HTMLElement} */ (e.target).closest("tr.kind");
      const kind = row?.getAttribute("data-kind");
      if (kind == null) return;
      if (this.open.has(kind)) this.open.delete(kind);
      else this.open.add(kind);
      refilter();
    });
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
    setFacts(this.facts, facts);
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

    const topic = this.topicFilter.value;
    const text = this.textFilter.value.trim().toLowerCase();
    /** @type {Map<string, any[]>} */
    const kinds = new Map();
    let shown = 0;
    for (let i = this.events.length - 1; i >= 0; i--) {
      const e = this.events[i];
      if (topic !== "" && e.topic !== topic) continue;
      if (text !== "" && !`${e.topic} ${e.message}`.toLowerCase().includes(text)) continue;
      shown++;
      const kind = eventKind(e);
      const list = kinds.get(kind);
      if (list === undefined) kinds.set(kind, [e]);
      else list.push(e);
    }
    this.eventsCaption.textContent =
      `${formatCount(shown)} of ${formatCount(this.events.length)} ` +
      `in ${formatCount(kinds.size)} kinds`;
    /** @param {string[]} texts */
    const row = (texts) => {
      const tr = document.createElement("tr");
      for (const t of texts) {
        const td = document.createElement("td");
        td.textContent = t;
        tr.append(td);
      }
      return tr;
    };
    const rows = [...kinds].flatMap(([kind, entries]) => {
      const newest = entries[0];
      const open = this.open.has(kind);
      const head = row([
        formatClock(newest.time),
        newest.topic,
        `${entries.length > 1 ? `${open ? "▾" : "▸"} ×${formatCount(entries.length)}  ` : ""}` +
        (entries.length > 1 ? kind.slice(newest.topic.length + 2) : newest.message),
      ]);
      head.className = "kind";
      Object.assign(head.dataset, { topic: newest.topic, kind, count: String(entries.length) });
      if (!open || entries.length < 2) return [head];
      const inner = entries.slice(0, MAX_SHOWN_ENTRIES).map((e) => {
        const tr = row([formatClock(e.time), "", e.message]);
        tr.className = "entry";
        return tr;
      });
      return [head, ...inner];
    });
    this.eventsBody.replaceChildren(...rows);
  }
}
