/**
 * The worker command line's options, described once: `worker/main.ts` parses with them and prints
 * them for `--help`; deployment files (Kubernetes manifests, job scripts) are checked against
 * them.
 *
 * @module
 */

import { type CliOption, type CliSpec, COMMON_OPTIONS } from "../core/cli.ts";
import { SECURITY_OPTIONS } from "../net/security_options.ts";
import { TASK_PERMISSION_NAMES, type TaskPermissionName } from "../core/task_permissions.ts";

/** What each `--task-allow-NAME` lets a task do, and what its value lists. */
const TASK_GRANTS: Record<TaskPermissionName, { value: string; help: string }> = {
  read: { value: "PATHS", help: "read files under these paths (besides this package's code)" },
  write: { value: "PATHS", help: "write files under these paths" },
  net: { value: "HOSTS", help: "connect to (and listen on) these host[:port]s" },
  env: { value: "NAMES", help: "read and set these environment variables" },
  run: {
    value: "PROGRAMS",
    help: "start these programs (a task that may run one may do anything)",
  },
  ffi: {
    value: "PATHS",
    help: "load native libraries (dataframe tasks need it: Polars is native code, which Deno " +
      "does not confine, so grant it only for trusted tasks)",
  },
  sys: { value: "APIS", help: "read system information (hostname, osRelease, …)" },
  import: {
    value: "HOSTS",
    help: "import task modules from these hosts (besides the hosts Deno allows by default and " +
      "this package's own host)",
  },
};

/** `--task-permissions=all` and `--task-allow-NAME[=LIST]` (core/task_permissions.ts). */
const TASK_PERMISSION_OPTIONS = [
  {
    name: "task-permissions",
    type: "string",
    value: "all",
    defaultText: "read of this package's code only",
    help: "all: tasks (and `run` functions) get this process's own permissions, no sandbox. " +
      "Without it they run in threads that may only read this package's code and import from " +
      "Deno's default hosts, plus what --task-allow-* grants (docs/security.md).",
  },
  ...TASK_PERMISSION_NAMES.map((name): CliOption => ({
    name: `task-allow-${name}`,
    type: "string",
    value: TASK_GRANTS[name].value,
    optionalValue: true,
    help: `Let tasks ${TASK_GRANTS[name].help}; bare: without restriction.`,
  })),
] satisfies CliOption[];

/** `worker/main.ts`: every option with its default and an example. */
export const WORKER_CLI: CliSpec = {
  command: "deno run -A worker/main.ts",
  positionals: "[SCHEDULER_ADDRESS]",
  maxPositionals: 1,
  summary: "Starts a worker that connects to the scheduler at SCHEDULER_ADDRESS " +
    "(tcp://host:port or tls://host:port), or the address in --scheduler-file, runs tasks on " +
    "--nthreads threads and trades data with other workers. As Dask's `dask worker`, this " +
    "process is a supervisor (the nanny) that runs the worker in a child process (--nworkers of " +
    "them) and starts a fresh one when it dies, passes 95 % of --memory-limit or cannot stop a " +
    "cancelled task; the workers stop when the nanny does. --no-nanny runs the worker in this " +
    "process instead.",
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
      help: "Worker processes the nanny runs and starts again when they die; auto: one per " +
        "core (then --nthreads defaults to 1).",
    },
    {
      name: "no-nanny",
      type: "boolean",
      default: "false",
      help: "Run the worker in this process, without a nanny (Dask's --no-nanny): nothing starts " +
        "it again when it dies, nothing terminates it past 95 % of --memory-limit (it only " +
        "pauses at 80 %), and a cancelled task that its thread cannot stop (a synchronous loop, " +
        "in a worker with a token or TLS) keeps a core busy until the process is restarted. " +
        "For a supervisor of its own (systemd, LocalCluster); not with --nworkers or --lifetime.",
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
      name: "spill-limit",
      type: "string",
      value: "BYTES|10GB|none",
      default: "none",
      help: "Disk each worker process may fill with spill files. Past it (or when the disk is " +
        "full) the worker stops spilling and says so; a task that then cannot fit fails with " +
        "MemoryLimitError instead of waiting.",
    },
    {
      name: "profile-interval",
      type: "string",
      value: "MS",
      default: "10",
      help: "Milliseconds between samples of the task threads' call stacks (client.profile, the " +
        "dashboard's Profile page and call stacks), as Dask's distributed.worker.profile.interval; " +
        "0 turns sampling off. A thread samples only while it runs tasks.",
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
    ...TASK_PERMISSION_OPTIONS,
    ...COMMON_OPTIONS,
    ...SECURITY_OPTIONS,
  ],
  examples: [
    "deno run -A worker/main.ts tcp://10.0.0.5:8786",
    "deno run -A worker/main.ts tcp://10.0.0.5:8786 --nthreads 4 --memory-limit 8GB --resources GPU=1",
    "deno run -A worker/main.ts --scheduler-file /shared/scheduler.json --nworkers 4 --nthreads 1",
    "deno run -A worker/main.ts tcp://10.0.0.5:8786 --lifetime 55m --lifetime-stagger 2m --lifetime-restart",
    "deno run -A worker/main.ts tcp://10.0.0.5:8786 --no-nanny --nthreads 2",
    "deno run -A --unstable-worker-options worker/main.ts tcp://10.0.0.5:8786 --task-allow-read=/data --task-allow-net=db.internal:5432",
  ],
};
