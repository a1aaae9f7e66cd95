import assert from "node:assert/strict";
import { SchedulerState } from "../../scheduler/state.ts";
import { startDashboard } from "../../scheduler/dashboard/mod.ts";
import { dashboardToken } from "../../scheduler/dashboard/access.ts";

const TOKEN = "a-cluster-token-of-enough-length";

async function withDashboard(
  authToken: string | undefined,
  body: (base: string, link: string) => Promise<void>,
): Promise<void> {
  const dashboard = await startDashboard({
    state: new SchedulerState(),
    port: 0,
    schedulerAddress: "tcp://127.0.0.1:8786",
    authToken,
  });
  try {
    assert.equal(dashboard.hostname, "127.0.0.1", "listens on loopback unless told otherwise");
    await body(`http://127.0.0.1:${dashboard.port}`, dashboard.link);
  } finally {
    await dashboard.close();
  }
}

async function get(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { redirect: "manual", ...init });
  const text = await response.text();
  return { response, text };
}

Deno.test("with auth, every page and JSON route needs the token; /health stays open", async () => {
  await withDashboard(TOKEN, async (base, link) => {
    const expected = await dashboardToken(TOKEN);
    assert.ok(link.endsWith(`/status?token=${expected}`), link);
    assert.ok(!link.includes(TOKEN), "the link carries a derived token, not the cluster's");

    for (const path of ["/status", "/api/v1/info", "/api/v1/graph", "/api/v1/task-stream"]) {
      const { response, text } = await get(base + path);
      assert.equal(response.status, 401, path);
      assert.match(text, /needs its token.*dashboardLink/);
    }
    const wrong = await get(`${base}/api/v1/info?token=${expected.replace(/./, "0")}x`);
    assert.equal(wrong.response.status, 401);
    assert.equal((await get(`${base}/health`)).response.status, 200);

    // the link sets a cookie and sends the browser to the page without the token
    const { response } = await get(link);
    assert.equal(response.status, 303);
    assert.equal(response.headers.get("location"), "/status");
    const cookie = response.headers.get("set-cookie")!;
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /SameSite=Strict/);
    const info = await get(`${base}/api/v1/info`, {
      headers: { cookie: cookie.split(";")[0] },
    });
    assert.equal(info.response.status, 200);
    assert.match(info.text, /tcp:\/\/127\.0\.0\.1:8786/);
  });
});

Deno.test("every dashboard response forbids framing and sniffing and has a CSP", async () => {
  await withDashboard(undefined, async (base, link) => {
    assert.equal(link, `${base}/status`);
    for (const path of ["/status", "/api/v1/info", "/health", "/no-such-page"]) {
      const { response } = await get(base + path);
      assert.equal(response.headers.get("x-frame-options"), "DENY", path);
      assert.equal(response.headers.get("x-content-type-options"), "nosniff", path);
      assert.match(response.headers.get("content-security-policy")!, /frame-ancestors 'none'/);
      assert.match(response.headers.get("content-security-policy")!, /script-src 'self'/);
    }
  });
});
