/**
 * Connecting a client to a scheduler's dashboard port (HTTP) is an error that says so, given at
 * the first answer rather than after the connect timeout's retries.
 */

import assert from "node:assert/strict";
import { Client, SchedulerUnreachableError } from "../../mod.ts";
import { startScheduler } from "../helpers/cluster.ts";

Deno.test("Client.connect to the dashboard's port says it is an HTTP server", async () => {
  const { process: scheduler, dashboardUrl } = await startScheduler([], { dashboard: true });
  try {
    const { host } = new URL(dashboardUrl!);
    // a long timeout: the error must come from the first answer, not from giving up
    await assert.rejects(
      Client.connect(`tcp://${host}`, { timeout: 600, setAsDefault: false }),
      (error: Error) => {
        assert.ok(error instanceof SchedulerUnreachableError, String(error));
        assert.match(error.message, /is an HTTP server \(a dashboard's port\?\), not a scheduler/);
        assert.doesNotMatch(error.message, /within \d+ s/);
        return true;
      },
    );
  } finally {
    await scheduler.stop();
  }
});
