/**
 * Headless Chromium for the browser tests: Debian's `chromium` driven by playwright-core, with a
 * fresh profile per launch. Tests skip (with a message saying how to install it) when Chromium
 * is missing; CI installs it (.ci/run).
 *
 * @module
 */

import { type BrowserContext, chromium, type Page } from "npm:playwright-core@^1";

export const CHROMIUM_PATH = Deno.env.get("CHROMIUM_PATH") ?? "/usr/bin/chromium";

/** Null when Chromium is present, else why the browser tests cannot run. */
export function chromiumMissing(): string | null {
  try {
    Deno.statSync(CHROMIUM_PATH);
    return null;
  } catch {
    return `browser tests skipped: no Chromium at ${CHROMIUM_PATH} ` +
      `(apt-get install chromium, or set CHROMIUM_PATH)`;
  }
}

export interface Browser {
  page: Page;
  close(): Promise<void>;
}

/** Launches Chromium with an empty profile and opens one page of the given size. */
export async function openBrowser(width = 1400, height = 900): Promise<Browser> {
  const profile = await Deno.makeTempDir({ prefix: "dashboard-chromium-" });
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      viewport: { width, height },
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  } catch (error) {
    await Deno.remove(profile, { recursive: true });
    throw error;
  }
  const page = context.pages()[0] ?? await context.newPage();
  return {
    page,
    async close() {
      await context.close();
      await Deno.remove(profile, { recursive: true });
    },
  };
}

/** Where screenshots go: `artifacts/<folder>/` at the repository root (gitignored). */
export async function artifactsDir(folder: string): Promise<string> {
  const dir = new URL(`../../artifacts/${folder}/`, import.meta.url).pathname;
  await Deno.mkdir(dir, { recursive: true });
  return dir;
}
