/**
 * How a Client shows itself: `console.log`'s one line and a notebook's table (scheduler,
 * dashboard link, workers' count, threads and memory), as Dask's repr.
 *
 * @module
 */

import { escapeHtml, htmlTable, type MimeBundle } from "../collections/display/notebook.ts";
import { formatBytes } from "../core/display/format.js";

/** What a client's display shows. */
export interface ClientFacts {
  id: string;
  schedulerAddress: string;
  status: string;
  dashboardLink: string | undefined;
}

/** `<Client: 'tcp://…' status: running, dashboard: http://…>`. */
export function clientRepr(client: ClientFacts): string {
  const link = client.dashboardLink;
  const dashboard = link === undefined ? "" : `, dashboard: ${link}`;
  return `<Client: '${client.schedulerAddress}' status: ${client.status}${dashboard}>`;
}

/**
 * A notebook's display of a client; `workers` (asked of the scheduler) is undefined for a
 * closed client, whose table then leaves them out.
 */
export function clientMimeBundle(
  client: ClientFacts,
  workers: readonly { nthreads: number; memoryLimit: number }[] | undefined,
): MimeBundle {
  const rows: string[][] = [
    ["Scheduler", client.schedulerAddress],
    ["Status", client.status],
  ];
  if (workers !== undefined) {
    const threads = workers.reduce((sum, w) => sum + w.nthreads, 0);
    const memory = workers.reduce((sum, w) => sum + w.memoryLimit, 0);
    rows.push(
      ["Workers", String(workers.length)],
      ["Total threads", String(threads)],
      ["Total memory", memory > 0 ? formatBytes(memory) : "no limit"],
    );
  }
  const link = client.dashboardLink;
  const dashboard = link === undefined
    ? ""
    : `<p><b>Dashboard:</b> <a href="${escapeHtml(link)}" target="_blank">` +
      `${escapeHtml(link)}</a></p>`;
  return {
    "text/plain": clientRepr(client),
    "text/html": `<div><h3 style="margin-bottom: 0">Client</h3>` +
      `<p style="color: var(--jp-ui-font-color2, gray)">${escapeHtml(client.id)}</p>` +
      `${dashboard}${htmlTable(["", ""], rows)}</div>`,
  };
}
