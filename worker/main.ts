/**
 * The worker command line (`--help` lists every option with its default; worker/options.ts).
 *
 * ```sh
 * deno run worker/main.ts <tcp://scheduler-host:port> [--nthreads N] [--nworkers N] [--name NAME]
 *   [--memory-limit auto|BYTES|4GB|512MiB|none] [--resources GPU=2] [--local-directory DIR]
 *   [--scheduler-file PATH] [--pid-file PATH] [--death-timeout SECONDS] [--lifetime 1h
 *   --lifetime-stagger 5m --lifetime-restart] [--preload MODULE]... [--no-nanny]
 * ```
 *
 * With `-A` (or the `--allow-...` flags it names) it just runs. Without them it asks on a
 * terminal; without a terminal it exits with code 2 and one line on standard error naming every
 * flag to pass.
 *
 * Once listening each worker process prints exactly one line on standard output, which tools
 * parse:
 *
 * ```
 * Worker at tcp://<host>:<port> (<N> threads, memory limit <size>), scheduler <scheduler address>
 * ```
 *
 * `<size>` is like `4.00 GB` (decimal units), or the words `memory limit none` when there is no
 * limit. The scheduler need not be up: the worker retries with backoff (0.1 s doubling to 5 s)
 * until it is (or `--death-timeout` passed), and reconnects the same way when the connection
 * drops, keeping its data. Log lines go to standard error, prefixed `[worker <name>]`. It exits 0
 * when the scheduler tells it to close, on SIGINT/SIGTERM or after `--death-timeout`, 2 on bad
 * arguments, 3 when the scheduler refuses it (a crash exits 1: supervisors restart a worker that
 * crashed or was killed, not one that was stopped or refused).
 *
 * As Dask's `dask worker`, this process is a nanny (deploy/nanny.ts) unless `--no-nanny` is
 * given: it runs the worker process (`--nworkers` of them), passes their output through, starts
 * again one that dies, is terminated past 95 % of its memory limit or ends itself to be replaced
 * (a task thread it could not stop), retires each after its `--lifetime`, and stops them all on
 * SIGINT/SIGTERM; it exits 0 once its workers were told to stop, else with the code of the first
 * that did not start or was refused (2, 3). Its workers stop when it ends, even by SIGKILL. With
 * `--no-nanny` the worker runs in this process (what the supervisors, `LocalCluster` and the
 * nanny itself, start).
 *
 * @module
 */

import { helpText, parseCli, parseDuration } from "../core/cli.ts";
import { readSchedulerFile } from "../core/scheduler_file.ts";
import { VERSION } from "../core/version.ts";
import { parseAddress } from "../net/wire.ts";
import {
  authTokenFromFlags,
  exposureNotice,
  isLoopbackHost,
  tlsFromFlags,
} from "../net/security_options.ts";
import type { TlsConfig } from "../net/tls.ts";
import { WORKER_DENO_FLAGS } from "../deploy/worker_flags.ts";
import { formatBytes, parseMemoryLimit } from "./memory_limit.ts";
import {
  MEMORY_TERMINATE_SIGNAL,
  STOP_WITH_STDIN_ENV,
  SUPERVISED_ENV,
} from "../protocol/exit_codes.ts";
import { stopWhenParentGone } from "../net/parent_pipe.ts";
import { WORKER_CLI } from "./options.ts";
import type { Preloads } from "./preload.ts";
import type { WorkerServer } from "./server.ts";
import { ensurePermissions, workerPermissions } from "./permissions.ts";
import { taskPermissionsFromFlags } from "../core/task_permissions.ts";

/** How long a worker whose parent is gone may take to hand off its data before it exits. */
const PARENT_GONE_GRACE_MS = 10_000;

function fail(message: string, code: number): never {
  console.error(`worker: ${message}`);
  removePidFile();
  Deno.exit(code);
}

function attempt<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    fail((error as Error).message, 2);
  }
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

function wholeNumber(text: string, option: string, min: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || n < min) {
    fail(`${option} must be a whole number ≥ ${min}, got ${JSON.stringify(text)}`, 2);
  }
  return n;
}

let pidFile: string | undefined;
function removePidFile(): void {
  if (pidFile === undefined) return;
  try {
    Deno.removeSync(pidFile);
  } catch {
    // already gone
  }
  pidFile = undefined;
}

const { values, positionals } = attempt(() => parseCli(WORKER_CLI, Deno.args));
const text = (name: string) => values[name] as string | undefined;
if (values.help) {
  console.log(helpText(WORKER_CLI));
  Deno.exit(0);
}
if (values.version) {
  console.log(`worker (@dask-deno/dask) ${VERSION}`);
  Deno.exit(0);
}

const schedulerFile = text("scheduler-file");
if (positionals.length > 1 || (positionals.length === 1) === (schedulerFile !== undefined)) {
  fail(
    "give the scheduler's address (tcp://host:port) or --scheduler-file PATH, one of them. " +
      "--help explains every option",
    2,
  );
}
if (positionals.length === 1) attempt(() => parseAddress(positionals[0]));
const cores = Math.max(1, navigator.hardwareConcurrency || 1);
const nworkers = text("nworkers") === "auto"
  ? cores
  : wholeNumber(text("nworkers")!, "--nworkers", 1);
const nthreads = text("nthreads") === undefined
  ? Math.max(1, Math.floor(cores / nworkers))
  : wholeNumber(text("nthreads")!, "--nthreads", 1);
const portText = text("port")!;
const port = Number(portText);
if (!/^\d{1,5}$/.test(portText) || port > 65535) {
  fail(`--port must be a port number from 0 to 65535, got ${JSON.stringify(portText)}`, 2);
}
if (nworkers > 1 && port !== 0) {
  fail(`--port ${port} cannot serve ${nworkers} worker processes: leave it out (or 0)`, 2);
}
const resources = parseResources(text("resources"));
const deathTimeout = text("death-timeout") === undefined
  ? undefined
  : attempt(() => parseDuration(text("death-timeout")!, "--death-timeout"));
const lifetime = text("lifetime") === undefined
  ? undefined
  : attempt(() => parseDuration(text("lifetime")!, "--lifetime"));
const lifetimeStagger = attempt(() =>
  parseDuration(text("lifetime-stagger")!, "--lifetime-stagger")
);
if (values["lifetime-restart"] && lifetime === undefined) {
  fail("--lifetime-restart needs --lifetime DURATION (how long each worker lives)", 2);
}
const profileIntervalText = text("profile-interval")!;
const profileIntervalMs = Number(profileIntervalText);
if (profileIntervalText.trim() === "" || !(profileIntervalMs >= 0)) {
  fail(
    `--profile-interval takes milliseconds between samples (10; 0 turns sampling off); got ` +
      `${JSON.stringify(profileIntervalText)}.`,
    2,
  );
}
const memoryText = text("memory-limit")!;
const memoryWord = memoryText.trim().toLowerCase();
const localDirectory = text("local-directory");
const spillLimitText = text("spill-limit")!;
const spillLimit = spillLimitText.trim().toLowerCase() === "none" ? undefined : attempt(() => {
  try {
    if (spillLimitText.trim().toLowerCase() === "auto") throw new TypeError("auto is no size");
    return parseMemoryLimit(spillLimitText, { nthreads: 1, cores: 1, totalMemory: () => 0 });
  } catch (error) {
    throw new TypeError(
      `--spill-limit takes bytes (10000000000), a size (10GB, 512MiB) or none; got ` +
        `${JSON.stringify(spillLimitText)} (${(error as Error).message})`,
    );
  }
});
const preloads = (values.preload as string[] | undefined) ?? [];
const supervising = values["no-nanny"] !== true;
if (!supervising && (nworkers > 1 || lifetime !== undefined)) {
  fail(
    `--no-nanny runs one worker in this process, and ${
      nworkers > 1 ? "--nworkers" : "--lifetime"
    } ` +
      `needs the nanny: leave out --no-nanny`,
    2,
  );
}
const taskPermissions = attempt(() => taskPermissionsFromFlags(values));
pidFile = text("pid-file");

// Every permission at once: without a terminal the message names every flag to pass.
const command = `${import.meta.filename ?? import.meta.url} ${Deno.args.join(" ")}`.trim();
const spills = memoryWord !== "none" && memoryWord !== "0";
const needs = workerPermissions({
  systemMemory: memoryWord === "auto",
  spillDirectory: spills ? (localDirectory ?? null) : undefined,
  writeFiles: pidFile === undefined ? [] : [pidFile],
  runsWorkers: supervising,
});
const permissions = await ensurePermissions(needs, {
  interactive: Deno.stdin.isTerminal(),
  command,
});
if (!permissions.granted) fail(permissions.message, 2);

const memoryLimit = attempt(() =>
  parseMemoryLimit(memoryText, {
    nthreads,
    cores,
    totalMemory: () => Deno.systemMemoryInfo().total,
  })
);

if (pidFile !== undefined) {
  Deno.writeTextFileSync(pidFile, `${Deno.pid}\n`);
  globalThis.addEventListener("unload", removePidFile);
}

let scheduler = positionals[0];
if (schedulerFile !== undefined) {
  try {
    scheduler = (await readSchedulerFile(schedulerFile, { timeoutSeconds: deathTimeout })).address;
  } catch (error) {
    fail((error as Error).message, 1);
  }
}

const schedulerAddress = attempt(() => parseAddress(scheduler));
if (text("host") === undefined && !isLoopbackHost(schedulerAddress.hostname)) {
  // Listening on loopback (the default) would leave this worker unreachable to its peers.
  fail(
    `the scheduler ${scheduler} is on another machine, and a worker listens on 127.0.0.1 ` +
      `(this machine only) unless --host says otherwise: pass --host with this machine's ` +
      `address on the scheduler's network, or --host 0.0.0.0 for every interface`,
    2,
  );
}

if (supervising) await superviseWorkers();
else await runWorker();

/** The token and TLS files the flags name, read (exits with code 2 when they cannot be used). */
async function securityFromFlags(): Promise<{ authToken?: string; tls?: TlsConfig }> {
  let authToken: string | undefined;
  let tls: TlsConfig | undefined;
  try {
    authToken = await authTokenFromFlags({ "auth-token-file": text("auth-token-file") });
    tls = await tlsFromFlags({
      "tls-ca-file": text("tls-ca-file"),
      "tls-cert": text("tls-cert"),
      "tls-key": text("tls-key"),
    });
  } catch (error) {
    fail((error as Error).message, 2);
  }
  if (schedulerAddress.scheme === "tls" && tls === undefined) {
    fail(
      `the scheduler ${scheduler} speaks TLS: give --tls-ca-file, --tls-cert and --tls-key ` +
        `(docs/security.md)`,
      2,
    );
  }
  return { authToken, tls };
}

/**
 * The nanny: `nworkers` worker processes of this same command with `--no-nanny`, each without
 * the nanny's own options. The worker's modules are not loaded here (a smaller, faster nanny).
 */
async function superviseWorkers(): Promise<never> {
  const { Nanny } = await import("../deploy/nanny.ts");
  const own = new Set(["nworkers", "pid-file", "lifetime", "lifetime-stagger", "lifetime-restart"]);
  const passed = ["scheduler-file", "name", "nthreads", "help", "version", "preload"];
  const flags: string[] = [];
  for (const option of WORKER_CLI.options) {
    const value = values[option.name];
    if (own.has(option.name) || passed.includes(option.name) || value === undefined) continue;
    if (typeof value === "string") flags.push(`--${option.name}=${value}`);
  }
  for (const preload of preloads) flags.push("--preload", preload);
  flags.push("--nthreads", String(nthreads), "--no-nanny");
  const everything = (["run", "write", "env", "ffi", "sys", "net", "read"] as const).every(
    (name) => Deno.permissions.querySync({ name }).state === "granted",
  );
  const childNeeds = needs.filter((need) => need.descriptor.name !== "run");
  // the child reads the two marks the nanny sets (supervised, stop with its nanny) whatever else
  // it was granted: without them it would not stop with a nanny started without -A
  const marks = `--allow-env=${SUPERVISED_ENV},${STOP_WITH_STDIN_ENV}`;
  const permissionFlags = everything ? ["-A"] : [...new Set(childNeeds.map((n) => n.flag)), marks];
  const name = text("name");
  const nanny = new Nanny({
    scheduler,
    ...await securityFromFlags(),
    nworkers,
    lifetime,
    lifetimeStagger,
    lifetimeRestart: values["lifetime-restart"] === true,
    memoryLimit,
    workerArgs: (index) => [
      "run",
      ...permissionFlags,
      ...WORKER_DENO_FLAGS,
      "--no-config",
      import.meta.url,
      scheduler,
      ...flags,
      ...(name === undefined ? [] : ["--name", nworkers > 1 ? `${name}-${index}` : name]),
    ],
  });
  const shutdown = () => void nanny.close();
  Deno.addSignalListener("SIGINT", shutdown);
  if (Deno.build.os !== "windows") Deno.addSignalListener("SIGTERM", shutdown);
  await nanny.stopped;
  removePidFile();
  Deno.exit(nanny.exitCode);
}

/** One worker in this process. */
async function runWorker(): Promise<never> {
  let running: WorkerServer | undefined;
  // under the nanny or a LocalCluster: stop with the process that started this one
  stopWhenParentGone(
    "worker",
    "the process that started it",
    () => running?.close("the process that started it is gone"),
    PARENT_GONE_GRACE_MS,
  );
  const [{ WorkerServer }, { Preloads }] = await Promise.all([
    import("./server.ts"),
    import("./preload.ts"),
  ]);
  let loaded: Preloads;
  try {
    loaded = await Preloads.load(preloads);
  } catch (error) {
    fail((error as Error).message, 1);
  }
  const { authToken, tls } = await securityFromFlags();
  let server: WorkerServer;
  try {
    server = running = await WorkerServer.start({
      scheduler,
      authToken,
      tls,
      host: text("host"),
      port,
      name: text("name"),
      nthreads,
      memoryLimit,
      resources,
      localDirectory,
      spillLimit,
      taskPermissions,
      profileIntervalMs,
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
  if (tls !== undefined) console.log("Every connection is encrypted with TLS");
  const exposed = parseAddress(server.address).hostname;
  const exposure = exposureNotice("worker", exposed, authToken !== undefined || tls !== undefined);
  if (exposure !== null) console.error(`worker: ${exposure}`);
  const info = { name: server.name, address: server.address, scheduler, nthreads, memoryLimit };
  try {
    await loaded.setup(info);
  } catch (error) {
    await server.close(`preload failed`);
    fail((error as Error).message, 1);
  }

  let watchdog: ReturnType<typeof setInterval> | undefined;
  if (deathTimeout !== undefined) {
    // Without a scheduler for this long (never reached, or lost and not back): stop.
    let lastConnected = Date.now();
    watchdog = setInterval(() => {
      if (server.connected) lastConnected = Date.now();
      else if (Date.now() - lastConnected >= deathTimeout * 1000) {
        clearInterval(watchdog);
        console.error(
          `[worker ${server.name}] no scheduler at ${scheduler} for ${deathTimeout} s ` +
            `(--death-timeout): stopping`,
        );
        void server.close("death timeout");
      }
    }, 200);
  }
  const shutdown = (signal: string) => void server.close(`received ${signal}`);
  Deno.addSignalListener("SIGINT", () => shutdown("SIGINT"));
  if (Deno.build.os !== "windows") {
    Deno.addSignalListener("SIGTERM", () => shutdown("SIGTERM"));
    // its supervisor's memory watch (deploy/memory_watch.ts) terminates it
    Deno.addSignalListener(MEMORY_TERMINATE_SIGNAL, () => void server.terminateForMemory());
  }
  const stopped = await server.stopped;
  clearInterval(watchdog);
  try {
    await loaded.teardown(info);
  } catch (error) {
    console.error(`worker: ${(error as Error).message}`);
  }
  removePidFile();
  Deno.exit(stopped.code);
}
