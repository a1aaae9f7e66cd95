/**
 * The scheduler command line.
 *
 * ```sh
 * deno run -A scheduler/main.ts [--host HOST] [--port 8786] [--dashboard-port 8787] [--no-dashboard]
 *   [--scheduler-file PATH] [--pid-file PATH] [--journal-dir DIR] [--journal-wait 5]
 * ```
 *
 * With `--journal-dir` it journals what it must not forget (clients' futures, the graph of
 * unfinished tasks, published datasets; scheduler/journal.ts) and, started again with the same
 * directory, brings it back before answering clients.
 *
 * `--help` lists every option with its default (scheduler/options.ts). With `--scheduler-file` it
 * writes its address there once listening (core/scheduler_file.ts), for workers and clients.
 *
 * Once listening it prints one line on standard output, which tools parse, then (unless
 * `--no-dashboard`) the dashboard's address:
 *
 * ```
 * Scheduler at tcp://<host>:<port>
 * Dashboard at http://<host>:<port>/status
 * ```
 *
 * `<host>` is `--host` when given (default 127.0.0.1: this machine only; `--host 0.0.0.0` listens
 * on every interface, shown as this machine's first network address); `<port>` is the real port
 * (`--port 0` picks a free one). With `--tls-ca-file`, `--tls-cert` and `--tls-key` the address is
 * `tls://<host>:<port>` and the dashboard is served over HTTPS with the same certificate.
 * Log lines go to standard error, prefixed `[scheduler]`. SIGINT or SIGTERM shuts down cleanly:
 * workers are told to close, every socket is closed, and the exit code is 0. Bad arguments exit
 * with code 2 and one line saying what is wrong; a port that cannot be listened on exits with 1.
 *
 * @module
 */

import { helpText, parseCli, usageLine } from "../core/cli.ts";
import { writeSchedulerFile } from "../core/scheduler_file.ts";
import { VERSION } from "../core/version.ts";
import { SchedulerServer } from "./server.ts";
import { type Dashboard, startDashboard } from "./dashboard/mod.ts";
import {
  authTokenFromFlags,
  exposureNotice,
  identityTokensFromFile,
  isLoopbackHost,
  tlsFromFlags,
} from "../net/security_options.ts";
import type { TlsConfig } from "../net/tls.ts";
import { SCHEDULER_CLI } from "./options.ts";
import { JournalError } from "./journal.ts";
import { stopWhenParentGone } from "../net/parent_pipe.ts";

/** How long a scheduler whose parent is gone may take to close before it exits. */
const PARENT_GONE_GRACE_MS = 5_000;

const USAGE = usageLine(SCHEDULER_CLI);

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
  parsed = parseCli(SCHEDULER_CLI, Deno.args);
} catch (error) {
  fail((error as Error).message, 2);
}
const values = parsed.values as Record<string, string | boolean | undefined> & {
  port: string;
  "dashboard-port": string;
  host?: string;
};
if (values.help) {
  console.log(helpText(SCHEDULER_CLI));
  Deno.exit(0);
}
if (values.version) {
  console.log(`scheduler (@dask-deno/dask) ${VERSION}`);
  Deno.exit(0);
}
if (parsed.positionals.length > 0) {
  fail(`unexpected argument ${JSON.stringify(parsed.positionals[0])}. ${USAGE}`, 2);
}
const pidFile = values["pid-file"] as string | undefined;
const schedulerFile = values["scheduler-file"] as string | undefined;
const port = parsePort(values.port, "--port");
const restartGrace = Number(values["restart-grace"]);
if (!(restartGrace >= 0)) {
  fail(`--restart-grace must be a number of seconds >= 0; got ${values["restart-grace"]}`, 2);
}
const journalDir = values["journal-dir"] as string | undefined;
const journalWait = Number(values["journal-wait"]);
if (!(journalWait >= 0)) {
  fail(`--journal-wait must be a number of seconds >= 0; got ${values["journal-wait"]}`, 2);
}
const dashboardPort = values["no-dashboard"]
  ? null
  : parsePort(values["dashboard-port"], "--dashboard-port");

let authToken: string | undefined;
let tls: TlsConfig | undefined;
let clientTokens: Map<string, string> | undefined;
try {
  authToken = await authTokenFromFlags(values as { "auth-token-file"?: string });
  tls = await tlsFromFlags(values as Record<string, string | undefined>);
  clientTokens = await identityTokensFromFile(values["client-tokens-file"] as string | undefined);
} catch (error) {
  fail((error as Error).message, 2);
}
if (values["tls-client-identities"] === true && tls === undefined) {
  fail("--tls-client-identities needs TLS: give --tls-ca-file, --tls-cert and --tls-key.", 2);
}
if (clientTokens !== undefined && authToken === undefined) {
  fail(
    "--client-tokens-file needs --auth-token-file (or DASK_DENO_AUTH_TOKEN) too: workers and " +
      "the cluster's own clients prove that token.",
    2,
  );
}
const host = values.host ?? "127.0.0.1";

let server: SchedulerServer;
try {
  server = await SchedulerServer.start({
    host,
    port,
    advertisedHost: host === "0.0.0.0" || host === "::" ? networkAddress() : undefined,
    authToken,
    tls,
    clientTokens,
    tlsClientIdentities: values["tls-client-identities"] === true,
    config: { restartGrace },
    journalDir,
    journalWait,
  });
} catch (error) {
  if (error instanceof JournalError) fail(error.message, 1);
  fail(
    `cannot listen on ${host}:${port}: ${(error as Error).message}` +
      (error instanceof Deno.errors.AddrInUse ? " (choose another --port, or 0 for any)" : ""),
    1,
  );
}

// The dashboard reads the state machine only; it tells clients where it is via dashboardLink.
let dashboard: Dashboard | undefined;
if (dashboardPort !== null) {
  dashboard = await startDashboard({
    state: server.state,
    hostname: host,
    port: dashboardPort,
    tls,
    schedulerAddress: server.address,
    onChange: (listener) => server.onChange(listener),
    samplers: server,
    authToken,
  });
  server.dashboardLink = dashboard.link;
}
try {
  if (schedulerFile !== undefined) {
    await writeSchedulerFile(schedulerFile, {
      address: server.address,
      dashboard: dashboard?.url,
      pid: Deno.pid,
    });
  }
  if (pidFile !== undefined) await Deno.writeTextFile(pidFile, `${Deno.pid}\n`);
} catch (error) {
  await dashboard?.close();
  await server.close("cannot write its files");
  fail(`cannot write ${(error as Error).message}`, 1);
}
// Printed once the files are written: whoever reads this line can read them.
console.log(`Scheduler at ${server.address}`);
if (dashboard !== undefined) console.log(`Dashboard at ${dashboard.url}`);
if (authToken !== undefined) console.log("Every connection must prove the auth token");
if (clientTokens !== undefined) {
  console.log(
    `Client identities (each sees only its own keys): ${[...clientTokens.keys()].join(", ")}`,
  );
}
if (tls !== undefined) console.log("Every connection is encrypted with TLS");
// with TLS every peer's certificate is checked, so the wire is authenticated without a token
const exposure = exposureNotice("scheduler", host, authToken !== undefined || tls !== undefined);
if (exposure !== null) console.error(`scheduler: ${exposure}`);
if (dashboard !== undefined && authToken === undefined && !isLoopbackHost(host)) {
  console.error(
    "scheduler: warning: the dashboard has no token (it is derived from --auth-token-file): " +
      "anyone who can reach it sees the cluster's tasks and errors.",
  );
}

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  await dashboard?.close();
  await server.close(`received ${signal}`);
  if (pidFile !== undefined) await Deno.remove(pidFile).catch(() => {});
  Deno.exit(0);
};
Deno.addSignalListener("SIGINT", () => void shutdown("SIGINT"));
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => void shutdown("SIGTERM"));
// started by a LocalCluster: stop with the script that started it, however that one ended
stopWhenParentGone(
  "scheduler",
  "the process that started it",
  () => shutdown("its parent's exit"),
  PARENT_GONE_GRACE_MS,
);
await server.closed;
