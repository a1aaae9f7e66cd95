/**
 * The page's files (HTML, CSS, JavaScript modules), read once from `page/` next to this module —
 * through `fetch`, so it works whether the scheduler runs from a checkout (`file:`) or from a URL
 * (`https:`). The scheduler serves them itself: the dashboard needs no internet.
 *
 * @module
 */

/** Files under page/ the dashboard serves at `/assets/<name>`. */
export const PAGE_FILES = [
  "index.html",
  "style.css",
  "app.js",
  "format.js",
  "palette.js",
  "live.js",
  "status_page.js",
  "task_stream.js",
  "workers_page.js",
  "graph_page.js",
  "graph_layout.js",
  "info_page.js",
] as const;

export type PageFile = typeof PAGE_FILES[number];

export interface Asset {
  body: Uint8Array<ArrayBuffer>;
  contentType: string;
}

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  css: "text/css; charset=utf-8",
  js: "text/javascript; charset=utf-8",
};

export function pageFileUrl(name: PageFile): URL {
  return new URL(`./page/${name}`, import.meta.url);
}

/** Reads every page file; fails with the file's URL when one cannot be read. */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const entries = await Promise.all(PAGE_FILES.map(async (name) => {
    const url = pageFileUrl(name);
    let response: Response;
    try {
      response = await fetch(url);
    } catch (error) {
      throw new Error(`Dashboard asset ${url} could not be read: ${error}`);
    }
    if (!response.ok) {
      throw new Error(`Dashboard asset ${url} could not be read: HTTP ${response.status}`);
    }
    const body = new Uint8Array(await response.arrayBuffer());
    const ext = name.slice(name.lastIndexOf(".") + 1);
    return [name, { body, contentType: CONTENT_TYPES[ext] }] as const;
  }));
  return new Map(entries);
}
