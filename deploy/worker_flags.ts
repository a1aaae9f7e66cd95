/**
 * The worker command line's flags for the options cluster managers take, in one place (so every
 * backend starts workers the same way, and deployment tests check them against worker/options.ts).
 *
 * @module
 */

import { taskPermissionFlags, type TaskPermissions } from "../core/task_permissions.ts";
import { AUTH_TOKEN_ENV } from "../net/security_options.ts";
import type { Security } from "../net/tls.ts";

/**
 * The Deno flags a worker process runs with besides its permissions: task threads get narrower
 * permissions than the process (core/task_permissions.ts), which Deno 2 allows only with
 * `--unstable-worker-options` (without it, Deno ends the process at the first such thread).
 */
export const WORKER_DENO_FLAGS: readonly string[] = ["--unstable-worker-options"];

/** Options of each worker a cluster manager starts. */
export interface WorkerFlagOptions {
  /** Threads per worker. Default 1. */
  nthreads?: number;
  /** `--memory-limit`: `auto`, bytes, `4GB`, `none`. Default: the worker's (`auto`). */
  memoryLimit?: number | string;
  /** `--resources`, e.g. `{ GPU: 1 }`. */
  resources?: Record<string, number>;
  /** `--local-directory`. */
  localDirectory?: string;
  /** `--preload` modules. */
  preload?: string[];
  /** `--task-permissions=all` or `--task-allow-*` (core/task_permissions.ts). */
  taskPermissions?: TaskPermissions;
  /**
   * `--profile-interval`: milliseconds between call-stack samples of the task threads, as Dask's
   * `distributed.worker.profile.interval`; 0 turns sampling off. Default: the worker's (10).
   */
  profileInterval?: number;
}

/**
 * `--nthreads N [--memory-limit …] [--resources …] [--local-directory …] [--preload …]…
 * [--task-allow-…]`.
 */
export function workerFlags(options: WorkerFlagOptions): string[] {
  const flags = ["--nthreads", String(options.nthreads ?? 1)];
  if (options.memoryLimit !== undefined) flags.push("--memory-limit", String(options.memoryLimit));
  const pairs = Object.entries(options.resources ?? {}).map(([k, v]) => `${k}=${v}`);
  if (pairs.length > 0) flags.push("--resources", pairs.join(","));
  if (options.localDirectory !== undefined) {
    flags.push("--local-directory", options.localDirectory);
  }
  for (const module of options.preload ?? []) flags.push("--preload", module);
  if (options.profileInterval !== undefined) {
    flags.push("--profile-interval", String(options.profileInterval));
  }
  flags.push(...taskPermissionFlags(options.taskPermissions));
  return flags;
}

/** The dashboard flags for `false` (none), `true` (the default port) or a port. */
export function dashboardFlags(dashboard: boolean | number, defaultPort: number): string[] {
  if (dashboard === false) return ["--no-dashboard"];
  return ["--dashboard-port", String(dashboard === true ? defaultPort : dashboard)];
}

/**
 * A cluster's processes' environment: the token travels there, never on a command line (`ps`
 * shows those); an empty value keeps a token of this process's environment from being inherited.
 */
export function tokenEnvironment(authToken: string | undefined): Record<string, string> {
  return { [AUTH_TOKEN_ENV]: authToken ?? "" };
}

/** `--tls-ca-file … --tls-cert … --tls-key …` when a cluster uses TLS (files at these paths). */
export function tlsFlags(security: Security | undefined): string[] {
  const { caFile, cert, key } = security ?? {};
  if (caFile === undefined) return [];
  const flags = ["--tls-ca-file", caFile];
  if (cert !== undefined) flags.push("--tls-cert", cert);
  if (key !== undefined) flags.push("--tls-key", key);
  return flags;
}
