/**
 * The Profile page: a flame graph of where the cluster's time went in a chosen range (the last
 * 10 s, minute, 5 minutes, or everything the workers remember), read from `/api/v1/profile`
 * every two seconds. Each box's width is its share of its parent; a click zooms into a box, a
 * click on the top box zooms back out. The tree has Dask's profile shape (identifier,
 * description — a frame `{ name, filename, line_number }` — count, children): the task
 * prefixes, then the call stacks the workers' task threads sampled while running them. Where no
 * worker samples, it is task time by prefix, then by worker, and the caption says so.
 *
 * @module
 */

import { formatCount, formatDuration } from "../../../core/display/format.js";
import { prefixColor } from "../../../core/display/palette.js";
import { cell, Poller } from "./dom.js";
import { serverNow } from "./live.js";

const POLL_MS = 2000;
const ROW_PX = 24;
/** Narrowest box drawn, as a fraction of the width. */
const MIN_WIDTH = 0.002;

export class ProfilePage {
  // The live connection keeps the connection badge honest; the tree comes from polling.
  views = ["info"];

  constructor() {
    this.graph = /** @type {HTMLElement} */ (document.getElementById("profile-graph"));
    this.caption = /** @type {HTMLElement} */ (document.getElementById("profile-caption"));
    this.table = /** @type {HTMLElement} */ (document.querySelector("#profile-table tbody"));
    this.amountHeader = /** @type {HTMLElement} */ (
      document.querySelector("#profile-table thead th:nth-child(2)")
    );
    /** Seconds back from now; 0: everything remembered. */
    this.seconds = 60;
    /** @type {string[]} identifiers from the root to the box zoomed into */
    this.focus = [];
    /** @type {any} */
    this.data = null;
    this.poller = new Poller(POLL_MS, (data, ok) => {
      if (!ok) return;
      this.data = data;
      this.#draw();
    });
    for (const button of document.querySelectorAll("#profile-range button")) {
      button.addEventListener("click", () => {
        this.seconds = Number(/** @type {HTMLElement} */ (button).dataset.seconds);
        for (const b of document.querySelectorAll("#profile-range button")) {
          b.classList.toggle("active", b === button);
        }
        this.poller.last = -Infinity;
      });
    }
  }

  /** Events are not needed: the page reads /api/v1/profile. */
  handle() {}

  render() {
    const now = serverNow();
    const start = this.seconds > 0 ? now - this.seconds : 0;
    this.poller.poll(`/api/v1/profile?start=${start}&stop=${now}`);
  }

  #draw() {
    const root = this.data.root;
    // The box zoomed into, as far down the path as the tree still goes.
    let focus = root;
    /** @type {string[]} */
    const path = [];
    for (const id of this.focus) {
      const next = focus.children[id];
      if (next === undefined) break;
      focus = next;
      path.push(id);
    }
    this.focus = path;
    /** @type {HTMLElement[]} */
    const boxes = [];
    let depth = 0;
    /**
     * @param {any} node
     * @param {number} level
     * @param {number} left fraction of the width
     * @param {number} width fraction of the width
     * @param {string[]} nodePath
     */
    const place = (node, level, left, width, nodePath) => {
      // Boxes thinner than a pixel or so say nothing (their share is in the table).
      if (level > 0 && width < MIN_WIDTH) return;
      depth = Math.max(depth, level + 1);
      const box = document.createElement("div");
      box.className = "frame";
      box.style.left = `${left * 100}%`;
      box.style.width = `${width * 100}%`;
      box.style.top = `${level * ROW_PX}px`;
      const name = node.description.name;
      box.style.background = level === 0 ? "#d0d7de" : prefixColor(nodePath[0] ?? name);
      if (level > 1) box.style.opacity = "0.75";
      const share = focus.count > 0 ? node.count / focus.count : 0;
      box.textContent = `${name} ${(share * 100).toFixed(1)} %`;
      const where = node.description.filename === ""
        ? ""
        : `\n${node.description.filename}:${node.description.line_number}`;
      box.title = `${name}${where}\n${this.#amount(node.count)} · ` +
        `${(share * 100).toFixed(1)} % of ${focus.description.name}`;
      Object.assign(box.dataset, {
        name,
        share: String(share),
        depth: String(level),
      });
      box.addEventListener("click", () => {
        this.focus = level === 0 ? path.slice(0, -1) : nodePath;
        this.#draw();
      });
      boxes.push(box);
      let x = left;
      const children = Object.values(node.children).sort((a, b) => b.count - a.count);
      for (const c of children) {
        const w = node.count > 0 ? (c.count / node.count) * width : 0;
        place(c, level + 1, x, w, [...nodePath, c.identifier]);
        x += w;
      }
    };
    place(focus, 0, 0, 1, path);
    this.graph.replaceChildren(...boxes);
    this.graph.style.height = `${depth * ROW_PX}px`;
    this.graph.dataset.total = String(root.count);

    const prefixes = Object.values(root.children).sort((a, b) => b.count - a.count);
    this.table.replaceChildren(...prefixes.map((p) => {
      const tr = document.createElement("tr");
      tr.dataset.prefix = p.description.name;
      tr.dataset.share = String(root.count > 0 ? p.count / root.count : 0);
      tr.append(
        cell(p.description.name),
        cell(this.#amount(p.count), "num"),
        cell(`${root.count > 0 ? ((p.count / root.count) * 100).toFixed(1) : "0"} %`, "num"),
      );
      return tr;
    }));
    const range = this.seconds > 0 ? `the last ${formatDuration(this.seconds)}` : "all remembered";
    const data = this.data;
    this.caption.dataset.source = data.source;
    this.amountHeader.textContent = data.source === "sampled" ? "Samples" : "Task time";
    const missing = data.unsampled.length > 0
      ? ` · not sampled on ${data.unsampled.join(", ")}`
      : "";
    this.caption.textContent = data.source === "sampled"
      ? `${this.#amount(root.count)} of the workers' task threads, ${range} · by task prefix, ` +
        `then call stack${missing}`
      : `${this.#amount(root.count)} in ${data.runs} runs, ${range} · task-stream fallback: ` +
        `no worker samples call stacks (task threads need sys: inspector, and ` +
        `--profile-interval above 0), so by task prefix, then worker`;
  }

  /** @param {number} count */
  #amount(count) {
    return this.data.source === "sampled"
      ? `${formatCount(count)} sample${count === 1 ? "" : "s"}`
      : `${formatDuration(count)} of task time`;
  }
}
