/**
 * The worker command line's options, described once: `worker/main.ts` parses with them and prints
 * them for `--help`; deployment files (Kubernetes manifests, job scripts) are checked against
 * them.
 *
 * @module
 */

import { type CliSpec, COMMON_OPTIONS } from "../core/cli.ts";
import { SECURITY_OPTIONS } from "../net/security_options.ts";

/** `worker/main.ts`: every option with its default and an example. */
export const WORKER_CLI: CliSpec = {
  command: "deno run -A worker/main.ts",
  positionals: "[SCHEDULER_ADDRESS]",
  maxPositionals: 1,
  summary: "Starts a worker that connects to the scheduler at SCHEDULER_ADDRESS " +
    "(tcp://host:port or tls://host:port), or the address in --scheduler-file, runs tasks on --nthreads threads and " +
    "trades data with other workers. With --nworkers N (or --lifetime) a supervisor (the nanny) " +
    "runs N worker processes and starts again one that dies.",
  options: [
    {
      name: "scheduler-file",
      type: "string",
      value: "PATH",
      help: "Read the scheduler's address from this JSON file (written by the scheduler's " +
        "--scheduler-file), waiting for it to appear, instead of SCHEDULER_ADDRESS.",
    },
    {
      name: "nthreads",
      type: "string",
      value: "N",
      defaultText: "the machine's cores ÷ --nworkers",
      help: "Threads running tasks in each worker process.",
    },
    {
      name: "nworkers",
      type: "string",
      value: "N|auto",
      default: "1",
      help: "Worker processes to run under a supervisor that starts again one that dies; auto: " +
        "one per core (then --nthreads defaults to 1).",
    },
    {
      name: "name",
      type: "string",
      value: "NAME",
      defaultText: "the worker's address",
      help: "A stable name for `workers` restrictions; with --nworkers N the processes are " +
        "NAME-0 … NAME-(N-1).",
    },
    {
      name: "host",
      type: "string",
      value: "HOST",
      defaultText: "127.0.0.1 (this machine only; required when the scheduler is not)",
      help: "The interface to listen on for other workers and clients; 0.0.0.0 for every " +
        "interface.",
    },
    {
      name: "port",
      type: "string",
      value: "PORT",
      default: "0",
      help: "The port to listen on (0: any free one; must be 0 with --nworkers above 1).",
    },
    {
      name: "memory-limit",
      type: "string",
      value: "auto|BYTES|4GB|512MiB|none",
      default: "auto",
      help: "Bytes each worker process may hold: beyond 60 % it spills to disk, beyond 80 % it " +
        "pauses. auto: the machine's memory × min(1, nthreads / cores), shared by --nworkers.",
    },
    {
      name: "resources",
      type: "string",
      value: "NAME=AMOUNT,...",
      help: "Abstract resources this worker offers to tasks that ask for them, e.g. GPU=2,FPGA=1.",
    },
    {
      name: "local-directory",
      type: "string",
      value: "DIR",
      defaultText: "the system's temporary folder",
      help: "Where spill files go (a fresh folder inside, removed when the worker stops).",
    },
    {
      name: "death-timeout",
      type: "string",
      value: "SECONDS",
      help: "Stop (exit 0) after this long without a scheduler: not reached at start, or lost " +
        "and not back. Without it a worker retries forever.",
    },
    {
      name: "lifetime",
      type: "string",
      value: "DURATION",
      help: "Retire each worker process gracefully after this long (e.g. 1h, 30m, 5s): its " +
        "unique data moves to other workers first. For batch jobs with a wall time.",
    },
    {
      name: "lifetime-stagger",
      type: "string",
      value: "DURATION",
      default: "0s",
      help:
        "Spread lifetimes by a random amount up to ± this, so workers do not all leave at once.",
    },
    {
      name: "lifetime-restart",
      type: "boolean",
      default: "false",
      help: "Start a worker process again once its lifetime ended (a fresh process).",
    },
    {
      name: "preload",
      type: "string",
      value: "MODULE",
      multiple: true,
      help: "A module (path or URL) imported in each worker process at start; its " +
        "`daskSetup(worker)` export, if any, is awaited with {name, address, scheduler, " +
        "nthreads, memoryLimit}, and `daskTeardown(worker)` when the worker stops.",
    },
    ...COMMON_OPTIONS,
    ...SECURITY_OPTIONS,
  ],
  examples: [
    "deno run -A worker/main.ts tcp://10.0.0.5:8786",
    "deno run -A worker/main.ts tcp://10.0.0.5:8786 --nthreads 4 --memory-limit 8GB --resources GPU=1",
    "deno run -A worker/main.ts --scheduler-file /shared/scheduler.json --nworkers 4 --nthreads 1",
    "deno run -A worker/main.ts tcp://10.0.0.5:8786 --lifetime 55m --lifetime-stagger 2m --lifetime-restart",
  ],
};
