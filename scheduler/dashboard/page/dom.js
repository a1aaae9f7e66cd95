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
