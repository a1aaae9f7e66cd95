/**
 * The scheduler command line's options, described once: `scheduler/main.ts` parses with them and
 * prints them for `--help`; deployment files are checked against them.
 *
 * @module
 */

import { type CliSpec, COMMON_OPTIONS } from "../core/cli.ts";
import { SECURITY_OPTIONS } from "../net/security_options.ts";

/** `scheduler/main.ts`: every option with its default and an example. */
export const SCHEDULER_CLI: CliSpec = {
  command: "deno run -A scheduler/main.ts",
  maxPositionals: 0,
  summary: "Starts a scheduler: workers and clients connect to it; it places tasks and serves " +
    "the dashboard.",
  options: [
    {
      name: "host",
      type: "string",
      value: "HOST",
      defaultText: "127.0.0.1 (this machine only)",
      help: "The interface to listen on (the dashboard's too); 0.0.0.0 for every interface.",
    },
    { name: "port", type: "string", value: "PORT", default: "8786", help: "The port (0: any)." },
    {
      name: "dashboard-port",
      type: "string",
      value: "PORT",
      default: "8787",
      help: "The dashboard's HTTP port (0: any).",
    },
    { name: "no-dashboard", type: "boolean", default: "false", help: "Serve no dashboard." },
    {
      name: "restart-grace",
      type: "string",
      value: "SECONDS",
      default: "10",
      help: "For this long after start, results that reconnecting workers still hold are kept " +
        "for reconnecting clients, and clients asking for keys wait for them, instead of " +
        "hearing that the keys are lost (0: no grace).",
    },
    {
      name: "journal-dir",
      type: "string",
      value: "DIR",
      help: "Journal clients' futures, the graph of unfinished tasks and published datasets " +
        "to this directory, and bring them back when started again with the same directory " +
        "(finished futures stay finished, running work resumes). Off unless given.",
    },
    {
      name: "journal-wait",
      type: "string",
      value: "SECONDS",
      default: "5",
      help: "With a journal to bring back: how long to wait for its workers to register again " +
        "(with the results they hold) before replaying it and answering clients.",
    },
    {
      name: "scheduler-file",
      type: "string",
      value: "PATH",
      help: "Write the scheduler's address (and dashboard) to this JSON file once listening, " +
        "for workers and clients started with --scheduler-file / { schedulerFile }.",
    },
    ...COMMON_OPTIONS,
    ...SECURITY_OPTIONS,
    {
      name: "client-tokens-file",
      type: "string",
      value: "PATH",
      help: "Client identities (tenancy): one name:token per line. A client proving one of " +
        'these tokens (authToken "name:token") touches only its identity\'s keys and those ' +
        "published; needs --auth-token-file (docs/security.md).",
    },
    {
      name: "tls-client-identities",
      type: "boolean",
      default: "false",
      help: "Client identities by certificate (tenancy, with --tls-*): a client whose " +
        "certificate's subject is not this scheduler's own acts as the identity its common name " +
        "says; workers must share the scheduler's certificate subject (docs/security.md).",
    },
  ],
  examples: [
    "deno run -A scheduler/main.ts",
    "deno run -A scheduler/main.ts --port 8786 --dashboard-port 8787",
    "deno run -A scheduler/main.ts --scheduler-file /shared/scheduler.json --port 0",
    "deno run -A scheduler/main.ts --auth-token-file token --client-tokens-file clients",
    "deno run -A scheduler/main.ts --journal-dir /var/lib/dask-deno/journal",
  ],
};
