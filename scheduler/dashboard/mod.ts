/**
 * The scheduler's web dashboard: live pages (Status, Workers, Graph, Info), `/health`,
 * `/metrics` (Prometheus) and `/api/v1` JSON, served with hono on `Deno.serve`.
 *
 * The scheduler server starts it next to its state machine; the dashboard only reads the state.
 * A timer polls it every push interval and sends open pages what changed (server-sent events);
 * the scheduler's event handling does nothing for the dashboard.
 *
 * @example
 * ```ts ignore
 * const dashboard = await startDashboard({
 *   state,                                  // the server's SchedulerState
 *   hostname: "0.0.0.0",
 *   port: 8787,
 *   schedulerAddress: "tcp://10.0.0.5:8786",
 *   onChange: (listener) => server.onChange(listener),
 * });
 * console.log(`dashboard at ${dashboard.url}`);
 * // ... on shutdown:
 * await dashboard.close();
 * ```
 *
 * @module
 */

import type { WorkerSamplers } from "./profile_view.ts";
import type { SchedulerState } from "../state.ts";
import { dashboardApp } from "./app.ts";
import { dashboardToken } from "./access.ts";
import { loadAssets } from "./assets.ts";
import { LiveFeed } from "./live_feed.ts";
import { DashboardModel } from "./model.ts";
import { wallClock } from "./views.ts";
import type { TlsConfig } from "../../net/tls.ts";

export { DashboardModel } from "./model.ts";
export type { LiveView } from "./live_feed.ts";

/** Dask's dashboard port. */
export const DEFAULT_DASHBOARD_PORT = 8787;

export interface DashboardOptions {
  /** The scheduler's state machine; read, never changed. */
  state: SchedulerState;
  /**
   * How to ask the workers for their sampled call stacks (the scheduler server); without it the
   * Profile page shows task time from the task stream and there are no call stacks.
   */
  samplers?: WorkerSamplers;
  /** Interface to listen on (default `127.0.0.1`: where the scheduler listens by default). */
  hostname?: string;
  /**
   * The cluster's auth token: when set, every page and JSON route but `/health` needs the
   * dashboard token derived from it, which {@link Dashboard.link} carries.
   */
  authToken?: string;
  /** Port (default 8787); 0 picks a free one. */
  port?: number;
  /** TLS (net/tls.ts): with a certificate and key, the dashboard is served over HTTPS. */
  tls?: TlsConfig;
  /** The scheduler's own address (`tcp://host:port`), shown on the Info page. */
  schedulerAddress: string;
  /**
   * When `port` is taken: `"any"` (default) listens on a free port instead and warns, as Dask
   * does; `"fail"` throws.
   */
  onPortInUse?: "any" | "fail";
  /**
   * How often open pages get changes, ms (default 500: a change shows within 0.5 s, and a page
   * receives two messages a second whatever the task rate).
   */
  pushIntervalMs?: number;
  /** Most tasks the Graph page draws (default 5000). */
  maxGraphNodes?: number;
  /** Above this many tasks the Graph page draws task groups, not tasks (default 300). */
  graphGroupsAbove?: number;
  /**
   * Subscribes to "the state changed" (the scheduler server's `onChange`); returns the
   * unsubscribe function. With it, push intervals in which nothing happened cost nothing.
   */
  onChange?: (listener: () => void) => () => void;
}

export interface Dashboard {
  /** The Status page, e.g. `http://10.0.0.5:8787/status`. */
  readonly url: string;
  /** The Status page with the dashboard token when auth is on: what `client.dashboardLink` gives. */
  readonly link: string;
  readonly hostname: string;
  readonly port: number;
  /** Ends open pages' streams and stops listening. */
  close(): Promise<void>;
}

/** Where people should point their browser: a wildcard address is no address to visit. */
function publicHost(hostname: string, schedulerAddress: string): string {
  if (hostname !== "0.0.0.0" && hostname !== "::" && hostname !== "") return hostname;
  const match = /^[a-z]+:\/\/(\[[^\]]+\]|[^:/]+)/.exec(schedulerAddress);
  const host = match?.[1];
  if (host !== undefined && host !== "0.0.0.0" && host !== "[::]") return host;
  return "127.0.0.1";
}

function listen(
  handler: Deno.ServeHandler,
  hostname: string,
  port: number,
  onPortInUse: "any" | "fail",
  tls: TlsConfig | undefined,
): Deno.HttpServer<Deno.NetAddr> {
  const certified = tls?.cert !== undefined && tls.key !== undefined
    ? { cert: tls.cert, key: tls.key }
    : {};
  const options = { hostname, onListen: () => {}, ...certified };
  try {
    return Deno.serve({ ...options, port }, handler);
  } catch (error) {
    if (!(error instanceof Deno.errors.AddrInUse)) throw error;
    if (onPortInUse === "fail") {
      throw new Deno.errors.AddrInUse(
        `Dashboard port ${port} on ${hostname} is already in use (another scheduler?). Pass a ` +
          `free --dashboard-port, 0 for any, or --no-dashboard.`,
      );
    }
    const server = Deno.serve({ ...options, port: 0 }, handler);
    console.warn(
      `Dashboard port ${port} is already in use (another scheduler?); ` +
        `serving the dashboard on port ${server.addr.port} instead.`,
    );
    return server;
  }
}

/** Serves the dashboard for `state`; resolves once it listens. */
export async function startDashboard(options: DashboardOptions): Promise<Dashboard> {
  const hostname = options.hostname ?? "127.0.0.1";
  const accessToken = options.authToken === undefined
    ? undefined
    : await dashboardToken(options.authToken);
  const interval = options.pushIntervalMs ?? 500;
  const assets = await loadAssets();
  const identity = { schedulerAddress: options.schedulerAddress, dashboardUrl: "", startedAt: 0 };
  identity.startedAt = wallClock();
  const model = new DashboardModel(options.state, identity, {
    maxGraphNodes: options.maxGraphNodes,
    graphGroupsAbove: options.graphGroupsAbove,
    samplers: options.samplers,
  });
  const feed = new LiveFeed(model);
  const streams = new Set<ReadableStreamDefaultController<Uint8Array>>();
  const app = dashboardApp({ model, feed, assets, streams, accessToken });
  const server = listen(
    app.fetch,
    hostname,
    options.port ?? DEFAULT_DASHBOARD_PORT,
    options.onPortInUse ?? "any",
    options.tls,
  );
  const port = server.addr.port;
  const host = publicHost(hostname, options.schedulerAddress);
  const scheme = options.tls?.cert !== undefined ? "https" : "http";
  const url = `${scheme}://${
    host.includes(":") && !host.startsWith("[") ? `[${host}]` : host
  }:${port}`;
  identity.dashboardUrl = `${url}/status`;

  let changed = true;
  const unsubscribe = options.onChange?.(() => changed = true) ?? (() => {});
  const polling = options.onChange === undefined;
  let last = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    model.lag.record(interval, now - last);
    last = now;
    if (!polling && !changed) return;
    changed = false;
    feed.tick();
  }, interval);
  Deno.unrefTimer(timer);

  let closed: Promise<void> | null = null;
  return {
    url: identity.dashboardUrl,
    link: accessToken === undefined
      ? identity.dashboardUrl
      : `${identity.dashboardUrl}?token=${accessToken}`,
    hostname,
    port,
    close() {
      closed ??= (async () => {
        clearInterval(timer);
        unsubscribe();
        feed.clear();
        for (const stream of streams) {
          try {
            stream.close();
          } catch {
            // already closed by its page
          }
        }
        streams.clear();
        await server.shutdown();
      })();
      return closed;
    },
  };
}
