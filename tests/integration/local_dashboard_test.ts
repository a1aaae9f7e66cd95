/**
 * `Client.local()` serves the dashboard by default, as Dask's LocalCluster, and the link it
 * reports answers with the status page.
 */

import assert from "node:assert/strict";
import { Client } from "../../mod.ts";

Deno.test("Client.local serves a dashboard by default; dashboard: false serves none", async () => {
  {
    await using client = await Client.local({ nWorkers: 1, threadsPerWorker: 1 });
    const link = client.dashboardLink;
    assert.ok(link !== undefined, "Client.local gave no dashboard link");
    // the link carries the dashboard token: opening it sets a cookie and goes to the page
    const opened = await fetch(link, { redirect: "manual" });
    await opened.body?.cancel();
    const cookie = opened.headers.get("set-cookie")?.split(";")[0];
    const location = opened.headers.get("location");
    assert.ok(cookie !== undefined && location !== null, `status ${opened.status}`);
    const page = await fetch(new URL(location, link), { headers: { cookie } });
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<html/i);
    assert.ok(Deno.inspect(client).includes(link));
  }
  await using quiet = await Client.local({ nWorkers: 1, threadsPerWorker: 1, dashboard: false });
  assert.equal(quiet.dashboardLink, undefined);
});
