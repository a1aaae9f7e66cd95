/**
 * Who may see the dashboard, and what a browser may do with it.
 *
 * With the cluster's auth token set, every route but `/health` needs the dashboard token — a
 * value derived from the cluster token (HMAC-SHA256 of it), so a dashboard link never carries
 * the secret that lets a peer run code. A `?token=` link sets an HttpOnly, SameSite=Strict cookie
 * and redirects to the same page without the token (it does not stay in the address bar or the
 * history); later requests carry the cookie. Every response gets headers that forbid framing and
 * content sniffing, a Content-Security-Policy allowing only the dashboard's own scripts, and no
 * referrer.
 *
 * @module
 */

import type { MiddlewareHandler } from "npm:hono@^4";

const COOKIE = "dask_deno_dashboard";
const encoder = new TextEncoder();

/** The headers every dashboard response carries. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  "x-frame-options": "DENY",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "content-security-policy": "default-src 'self'; script-src 'self'; " +
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'; object-src 'none'",
});

/** The dashboard token for a cluster token: what links and cookies carry instead of it. */
export async function dashboardToken(authToken: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    encoder.encode(authToken),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode("dask-deno dashboard v1"));
  return Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Compares without an early exit, so timing does not tell how much of a guess was right. */
function sameText(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

function cookieValue(header: string | undefined): string | undefined {
  for (const part of (header ?? "").split(";")) {
    const [name, ...rest] = part.trim().split("=");
    if (name === COOKIE) return rest.join("=");
  }
  return undefined;
}

/** Adds {@link SECURITY_HEADERS} to every response. */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) c.res.headers.set(name, value);
  };
}

/**
 * Lets a request through when it carries `token` (as the cookie, or as `?token=`, which sets the
 * cookie and redirects); `/health` is always open. Others get 401 and a line saying what to do.
 */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (url.pathname === "/health") return await next();
    const given = url.searchParams.get("token");
    if (given !== null && sameText(given, token)) {
      url.searchParams.delete("token");
      // over HTTPS the browser must never send it in the clear
      const secure = url.protocol === "https:" ? "; Secure" : "";
      const cookie = `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict${secure}`;
      return new Response(null, {
        status: 303,
        headers: { location: url.pathname + url.search, "set-cookie": cookie },
      });
    }
    const cookie = cookieValue(c.req.header("cookie"));
    if (cookie !== undefined && sameText(cookie, token)) return await next();
    return c.text(
      "This dashboard needs its token: open the link the scheduler gives clients " +
        "(client.dashboardLink), which carries it.\n",
      401,
    );
  };
}
