/**
 * Small DOM builders the pages share: table cells and term/value lists.
 *
 * @module
 */

/**
 * A table cell with `text` and an optional class.
 * @param {string} text
 * @param {string} [cls]
 */
export function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

/**
 * Reads a JSON route now and then while a page is shown: {@link Poller.poll} fetches when the
 * last reading is `ms` old and none is under way, and hands the answer (or the error object of a
 * failed status) to `show`. A failed fetch is left to the connection badge.
 */
export class Poller {
  /**
   * @param {number} ms
   * @param {(data: any, ok: boolean) => void} show
   */
  constructor(ms, show) {
    this.ms = ms;
    this.show = show;
    this.last = -Infinity;
    this.busy = false;
  }

  /** @param {string} url */
  poll(url) {
    if (this.busy || performance.now() - this.last < this.ms) return;
    this.busy = true;
    this.last = performance.now();
    fetch(url)
      .then(async (r) => this.show(await r.json(), r.ok))
      .catch(() => {})
      .finally(() => (this.busy = false));
  }
}

/**
 * Makes `container`'s children `rows`, replacing only those that differ from the row already in
 * their place: an unchanged row costs no layout.
 * @param {HTMLElement} container
 * @param {HTMLElement[]} rows
 */
export function patchRows(container, rows) {
  rows.forEach((row, i) => {
    const old = container.children[i];
    if (old === undefined) container.append(row);
    else if (!old.isEqualNode(row)) old.replaceWith(row);
  });
  while (container.children.length > rows.length) container.lastElementChild?.remove();
}

/**
 * A table cell holding a link.
 * @param {string} text
 * @param {string} href
 */
export function linkCell(text, href) {
  const td = document.createElement("td");
  const a = document.createElement("a");
  a.href = href;
  a.textContent = text;
  td.append(a);
  return td;
}

/**
 * Fills a `<dl>` with `[term, value]` pairs.
 * @param {HTMLElement} list
 * @param {string[][]} facts
 */
export function setFacts(list, facts) {
  list.replaceChildren(...facts.flatMap(([term, value]) => {
    const dt = document.createElement("dt");
    dt.textContent = term;
    const dd = document.createElement("dd");
    dd.textContent = value;
    return [dt, dd];
  }));
}
