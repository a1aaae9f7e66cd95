/**
 * The worker command line.
 *
 * ```sh
 * deno run worker/main.ts <tcp://scheduler-host:port> [--nthreads N] [--name NAME]
 *   [--host HOST] [--port PORT] [--memory-limit auto|BYTES|4GB|512MiB|none]
 *   [--resources GPU=2,FPGA=1] [--local-directory DIR]
 * ```
 *
 * With `-A` (or `--allow-net --allow-read --allow-sys=systemMemoryInfo`) it just runs. Without
 * those flags it asks for them on a terminal; without a terminal it exits with code 2 and one
 * line on standard error naming the flags to pass.
 *
 * Once listening it prints exactly one line on standard output, which tools parse:
 *
 * ```
 * Worker at tcp://<host>:<port> (<N> threads, memory limit <size>), scheduler <scheduler address>
 * ```
 *
 * `<size>` is like `4.00 GB` (decimal units), or the words `memory limit none` when there is no
 * limit. The scheduler need not be up: the worker retries with backoff (0.1 s doubling to 5 s)
 * until it is, and reconnects the same way when the connection drops, keeping its data. Log
 * lines go to standard error, prefixed `[worker <name>]`. It exits 0 when the scheduler tells it
 * to close or on SIGINT/SIGTERM, 2 on bad arguments, 3 when the scheduler refuses it (a crash
 * exits 1: supervisors such as `LocalCluster` restart a worker that crashed or was killed, not
 * one that was stopped or refused).
 *
 * With a memory limit, values beyond 60% of it spill to a fresh directory inside
 * `--local-directory` (default: the system's temporary folder; this needs `--allow-write`), which
 * is removed when the worker stops; above 80% of it in process memory the worker pauses until it
 * falls back.
 *
 * Defaults: `--nthreads` the machine's cores, `--port 0` (any free port), `--memory-limit auto`
 * (the machine's memory × min(1, nthreads / cores)), `--name` the worker's address, `--host`
 * loopback when the scheduler is on loopback, else every interface.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { parseAddress } from "../net/wire.ts";
import {
  authTokenFromFlags,
  exposureNotice,
  SECURITY_FLAGS,
  SECURITY_USAGE,
} from "../net/security_options.ts";
import { formatBytes, parseMemoryLimit } from "./memory_limit.ts";
import { ensurePermissions, workerPermissions } from "./permissions.ts";
import { WorkerServer } from "./server.ts";

const USAGE = "usage: deno run -A worker/main.ts <tcp://host:port> [--nthreads N] [--name NAME] " +
  "[--host HOST] [--port PORT] [--memory-limit auto|4GB|512MiB|BYTES|none] " +
  `[--resources NAME=AMOUNT,...] [--local-directory DIR] ${SECURITY_USAGE}`;

function fail(message: string, code: number): never {
  console.error(`worker: ${message}`);
  Deno.exit(code);
}

function parseResources(text: string | undefined): Record<string, number> | undefined {
  if (text === undefined || text.trim() === "") return undefined;
  const resources: Record<string, number> = {};
  for (const part of text.split(/[,\s]+/).filter((p) => p !== "")) {
    const match = /^([^=]+)=(\d+(?:\.\d+)?(?:e\d+)?)$/.exec(part);
    if (match === null) {
      fail(
        `--resources takes NAME=AMOUNT pairs like GPU=2,MEMORY=1e9; got ${JSON.stringify(part)}`,
        2,
      );
    }
    resources[match[1]] = Number(match[2]);
  }
  return resources;
}

let parsed;
try {
  parsed = parseArgs({
    args: Deno.args,
    options: {
      nthreads: { type: "string" },
      name: { type: "string" },
      host: { type: "string" },
      port: { type: "string", default: "0" },
      "memory-limit": { type: "string", default: "auto" },
      resources: { type: "string" },
      "local-directory": { type: "string" },
      help: { type: "boolean", short: "h", default: false },
      ...SECURITY_FLAGS,
    },
    strict: true,
    allowPositionals: true,
  });
} catch (error) {
  fail(`${(error as Error).message}. ${USAGE}`, 2);
}
const { values, positionals } = parsed;
if (values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
if (positionals.length !== 1) fail(`give the scheduler's address. ${USAGE}`, 2);
const scheduler = positionals[0];
try {
  parseAddress(scheduler);
} catch (error) {
  fail((error as Error).message, 2);
}
const cores = Math.max(1, navigator.hardwareConcurrency || 1);
const nthreads = values.nthreads === undefined ? cores : Number(values.nthreads);
if (!Number.isInteger(nthreads) || nthreads < 1) {
  fail(`--nthreads must be a whole number of threads ≥ 1, got ${values.nthreads}`, 2);
}
const port = Number(values.port);
if (!/^\d{1,5}$/.test(values.port) || port > 65535) {
  fail(`--port must be a port number from 0 to 65535, got ${JSON.stringify(values.port)}`, 2);
}
const resources = parseResources(values.resources);
const memoryText = values["memory-limit"];

const command = `${import.meta.filename ?? import.meta.url} ${Deno.args.join(" ")}`.trim();
const permissions = await ensurePermissions(
  workerPermissions({ systemMemory: memoryText.trim().toLowerCase() === "auto" }),
  { interactive: Deno.stdin.isTerminal(), command },
);
if (!permissions.granted) fail(permissions.message, 2);

let memoryLimit: number;
try {
  memoryLimit = parseMemoryLimit(memoryText, {
    nthreads,
    cores,
    totalMemory: () => Deno.systemMemoryInfo().total,
  });
} catch (error) {
  fail((error as Error).message, 2);
}

const localDirectory = values["local-directory"];
if (memoryLimit > 0) {
  // Spilling writes files: the temporary folder, or the given local directory.
  const spill = await ensurePermissions([{
    descriptor: localDirectory === undefined
      ? { name: "write" }
      : { name: "write", path: localDirectory },
    flag: localDirectory === undefined ? "--allow-write" : `--allow-write=${localDirectory}`,
    why: "spill values beyond the memory limit to disk",
  }], { interactive: Deno.stdin.isTerminal(), command });
  if (!spill.granted) fail(spill.message, 2);
}

let authToken: string | undefined;
try {
  authToken = await authTokenFromFlags(values);
} catch (error) {
  fail((error as Error).message, 2);
}

let server: WorkerServer;
try {
  server = await WorkerServer.start({
    authToken,
    scheduler,
    host: values.host,
    port,
    name: values.name,
    nthreads,
    memoryLimit,
    resources,
    localDirectory,
  });
} catch (error) {
  fail(`cannot start: ${(error as Error).message}`, 1);
}

const limit = memoryLimit > 0 ? `memory limit ${formatBytes(memoryLimit)}` : "memory limit none";
console.log(
  `Worker at ${server.address} (${nthreads} thread${nthreads === 1 ? "" : "s"}, ${limit}), ` +
    `scheduler ${scheduler}`,
);
if (authToken !== undefined) console.log("Every connection must prove the auth token");
const exposure = exposureNotice(
  "worker",
  parseAddress(server.address).hostname,
  authToken !== undefined,
);
if (exposure !== null) console.error(`worker: ${exposure}`);

const shutdown = (signal: string) => void server.close(`received ${signal}`);
Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
const stopped = await server.stopped;
Deno.exit(stopped.code);
