/**
 * A real scheduler server with the dashboard mounted as the scheduler CLI mounts it, for the
 * browser tests that watch a real cluster, and the polling wait they share.
 *
 * @module
 */

import { startDashboard } from "../../scheduler/dashboard/mod.ts";
import { SchedulerServer } from "../../scheduler/server.ts";

export interface SchedulerWithDashboard {
  server: SchedulerServer;
  dashboard: Awaited<ReturnType<typeof startDashboard>>;
  /** Stops the scheduler and its dashboard. */
  close(): Promise<void>;
}

/** Starts a scheduler on 127.0.0.1 with its dashboard, both on random ports. */
export async function startSchedulerWithDashboard(): Promise<SchedulerWithDashboard> {
  const server = await SchedulerServer.start({ host: "127.0.0.1", port: 0, log: () => {} });
  const dashboard = await startDashboard({
    state: server.state,
    hostname: "127.0.0.1",
    port: 0,
    schedulerAddress: server.address,
    onChange: (listener) => server.onChange(listener),
    samplers: server,
  }).catch(async (error) => {
    await server.close("the dashboard did not start");
    throw error;
  });
  server.dashboardLink = dashboard.url;
  return {
    server,
    dashboard,
    async close() {
      await server.close("test over");
      await dashboard.close();
    },
  };
}

/** Polls `check` every 50 ms until it holds; fails naming `what` after `ms`. */
export async function waitUntil(
  what: string,
  check: () => boolean | Promise<boolean>,
  ms = 30_000,
): Promise<void> {
  const deadline = performance.now() + ms;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
