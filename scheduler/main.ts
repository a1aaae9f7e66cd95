/**
 * The scheduler command line.
 *
 * ```sh
 * deno run -A scheduler/main.ts [--host HOST] [--port 8786] [--dashboard-port 8787] [--no-dashboard]
 * ```
 *
 * Once listening it prints one line on standard output, which tools parse, then (unless
 * `--no-dashboard`) the dashboard's address:
 *
 * ```
 * Scheduler at tcp://<host>:<port>
 * Dashboard at http://<host>:<port>/status
 * ```
 *
 * `<host>` is `--host` when given (default: every interface, shown as this machine's first
 * network address, else 127.0.0.1); `<port>` is the real port (`--port 0` picks a free one).
 * Log lines go to standard error, prefixed `[scheduler]`. SIGINT or SIGTERM shuts down cleanly:
 * workers are told to close, every socket is closed, and the exit code is 0. Bad arguments exit
 * with code 2 and one line saying what is wrong; a port that cannot be listened on exits with 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import {
  authTokenFromFlags,
  exposureNotice,
  SECURITY_FLAGS,
  SECURITY_USAGE,
} from "../net/security_options.ts";
import { SchedulerServer } from "./server.ts";
import { type Dashboard, startDashboard } from "./dashboard/mod.ts";

const USAGE = "usage: deno run -A scheduler/main.ts [--host HOST] [--port 8786] " +
  `[--dashboard-port 8787] [--no-dashboard] ${SECURITY_USAGE}`;

function fail(message: string, code: number): never {
  console.error(`scheduler: ${message}`);
  Deno.exit(code);
}

function parsePort(text: string, flag: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    fail(`${flag} must be a port number from 0 to 65535, got ${JSON.stringify(text)}. ${USAGE}`, 2);
  }
  return Number(text);
}

/** This machine's first non-loopback IPv4 address, to show when listening everywhere. */
function networkAddress(): string {
  try {
    for (const iface of Deno.networkInterfaces()) {
      if (iface.family === "IPv4" && !iface.address.startsWith("127.")) return iface.address;
    }
  } catch {
    // no permission to look: loopback is still right for this machine
  }
  return "127.0.0.1";
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    options: {
      host: { type: "string" },
      port: { type: "string", default: "8786" },
      "dashboard-port": { type: "string", default: "8787" },
      "no-dashboard": { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
      ...SECURITY_FLAGS,
    },
    strict: true,
    allowPositionals: false,
  });
} catch (error) {
  fail(`${(error as Error).message}. ${USAGE}`, 2);
}
const { values } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
const port = parsePort(values.port, "--port");
const dashboardPort = values["no-dashboard"]
  ? null
  : parsePort(values["dashboard-port"], "--dashboard-port");

// Only this machine can connect unless --host says otherwise.
const host = values.host ?? "127.0.0.1";
let authToken: string | undefined;
try {
  authToken = await authTokenFromFlags(values);
} catch (error) {
  fail((error as Error).message, 2);
}

let server: SchedulerServer;
try {
  server = await SchedulerServer.start({
    host,
    port,
    advertisedHost: host === "0.0.0.0" || host === "::" ? networkAddress() : undefined,
    authToken,
  });
} catch (error) {
  fail(
    `cannot listen on ${host}:${port}: ${(error as Error).message}` +
      (error instanceof Deno.errors.AddrInUse ? " (choose another --port, or 0 for any)" : ""),
    1,
  );
}

console.log(`Scheduler at ${server.address}`);
// Who can reach it, on lines of their own (tools read the address line above).
if (values.host === undefined) {
  console.log("Listening on 127.0.0.1 only: give --host 0.0.0.0 (or an address) to open it");
}
if (authToken !== undefined) console.log("Every connection must prove the auth token");
const exposure = exposureNotice("scheduler", host, authToken !== undefined);
if (exposure !== null) console.error(`scheduler: ${exposure}`);

// The dashboard reads the state machine only; it tells clients where it is via dashboardLink.
let dashboard: Dashboard | undefined;
if (dashboardPort !== null) {
  dashboard = await startDashboard({
    state: server.state,
    hostname: host,
    port: dashboardPort,
    schedulerAddress: server.address,
    onChange: (listener) => server.onChange(listener),
    authToken,
  });
  server.dashboardLink = dashboard.link;
  console.log(`Dashboard at ${dashboard.url}`);
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  await dashboard?.close();
  await server.close(`received ${signal}`);
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
await server.closed;
