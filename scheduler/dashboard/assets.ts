/**
 * The page's files (HTML, CSS, JavaScript modules), read once from `page/` next to this module —
 * through `fetch`, so it works whether the scheduler runs from a checkout (`file:`) or from a URL
 * (`https:`). The scheduler serves them itself: the dashboard needs no internet. The formatting,
 * palette and graph layout the page shares with performance reports and `visualize` live in
 * core/display/; the page imports them as `../../../core/display/<name>`, which a browser
 * resolves to `/core/display/<name>`, so they are served there.
 *
 * @module
 */

/** Files under page/ the dashboard serves at `/assets/<name>`. */
export const PAGE_FILES = [
  "index.html",
  "style.css",
  "app.js",
  "live.js",
  "status_page.js",
  "task_stream.js",
  "task_columns.js",
  "workers_page.js",
  "time_chart.js",
  "canvas.js",
  "tooltip.js",
  "system_page.js",
  "dom.js",
  "graph_page.js",
  "info_page.js",
  "task_page.js",
  "worker_page.js",
  "profile_page.js",
  "call_stack.js",
] as const;

export type PageFile = typeof PAGE_FILES[number];

/** Files under core/display/ the dashboard serves at `/core/display/<name>`. */
export const DISPLAY_FILES = ["format.js", "palette.js", "graph_layout.js"] as const;

/** The URL path under which the shared display modules are served (and imported by the page). */
export const DISPLAY_PREFIX = "core/display/";

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

/**
 * Reads every page file (keyed by its name) and display module (keyed by `core/display/<name>`);
 * fails with the file's URL when one cannot be read.
 */
export async function loadAssets(): Promise<Map<string, Asset>> {
  const files: [string, URL][] = [
    ...PAGE_FILES.map((name): [string, URL] => [name, pageFileUrl(name)]),
    ...DISPLAY_FILES.map((name): [string, URL] => [
      DISPLAY_PREFIX + name,
      new URL(`../../${DISPLAY_PREFIX}${name}`, import.meta.url),
    ]),
  ];
  const entries = await Promise.all(files.map(async ([name, url]) => {
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
