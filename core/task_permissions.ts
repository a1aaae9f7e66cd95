/**
 * What a task may do on a worker: the Deno permissions of its task threads, narrower than the
 * worker process's own (docs/security.md "Least-privilege tasks").
 * The default grants read of this package's code and of Deno's npm cache (module code).
 *
 * A worker process needs the network, its spill directory and the module cache; a task needs
 * none of that. Its threads are Web Workers started with Deno's per-Worker `permissions`: by
 * default they may read only this package's own code and import modules from the hosts Deno
 * itself allows by default (and the package's own host); every other grant is the operator's,
 * given with `--task-allow-read`, `--task-allow-write`, `--task-allow-net`, … (or
 * `--task-permissions=all`). A task that reaches past its grants fails with an error naming the
 * permission, what it reached for and the flag that grants it ({@link explainPermissionError}).
 *
 * Pure: no I/O. The thread entry, the worker and the cluster managers share it.
 *
 * @module
 */

/**
 * A permission a task may be granted (Deno's name for it).
 *
 * @example
 * ```ts
 * import type { TaskPermissionName } from "./mod.ts";
 * const name: TaskPermissionName = "read";
 * ```
 */
export type TaskPermissionName =
  | "read"
  | "write"
  | "net"
  | "env"
  | "run"
  | "ffi"
  | "sys"
  | "import";

/** The permissions a task may be granted, by their Deno names. */
export const TASK_PERMISSION_NAMES: readonly TaskPermissionName[] = [
  "read",
  "write",
  "net",
  "env",
  "run",
  "ffi",
  "sys",
  "import",
];

/**
 * Grants beyond the defaults, as Deno's own permission options: `true` for everything of that
 * kind, or a list (paths for read/write/ffi, `host[:port]` for net/import, variable names for
 * env, programs for run, API names for sys).
 *
 * @example
 * ```ts
 * import { LocalCluster, type TaskGrants } from "./mod.ts";
 * const grants: TaskGrants = { read: ["/data"], net: ["db.internal:5432"], env: ["TZ"] };
 * await using cluster = await LocalCluster.start({ nWorkers: 1, taskPermissions: grants });
 * ```
 */
export type TaskGrants = { [name in TaskPermissionName]?: true | string[] };

/**
 * What tasks may do: grants beyond the defaults, or `"all"` for the worker process's own
 * permissions (no sandbox; docs/security.md).
 *
 * @example
 * ```ts
 * import { Client, type TaskPermissions } from "./mod.ts";
 * const trusted: TaskPermissions = "all";
 * await using client = await Client.local({ nWorkers: 1, taskPermissions: trusted });
 * ```
 */
export type TaskPermissions = "all" | TaskGrants;

/**
 * Hosts Deno lets any program import from without `--allow-import` (Deno 2's default): tasks may
 * import task modules from them as a plain `deno run` script may.
 */
export const DEFAULT_IMPORT_HOSTS: readonly string[] = [
  "deno.land:443",
  "jsr.io:443",
  "esm.sh:443",
  "cdn.jsdelivr.net:443",
  "raw.githubusercontent.com:443",
  "gist.githubusercontent.com:443",
];

/** The worker CLI flag that grants `name` (`--task-allow-read`). */
export function taskFlag(name: TaskPermissionName): string {
  return `--task-allow-${name}`;
}

/**
 * Parses the worker CLI's `--task-*` flags: `--task-permissions=all`, and `--task-allow-NAME`
 * bare (everything) or `=a,b` (a list).
 *
 * @throws {TypeError} naming the flag and how to write it.
 */
export function taskPermissionsFromFlags(
  values: Record<string, unknown>,
): TaskPermissions {
  const escape = values["task-permissions"];
  if (escape !== undefined) {
    if (escape !== "all") {
      throw new TypeError(
        `--task-permissions takes only \`all\` (tasks get the worker's own permissions); got ` +
          `${JSON.stringify(escape)}. Narrower grants are --task-allow-read=PATHS, ` +
          `--task-allow-net=HOSTS, …`,
      );
    }
    return "all";
  }
  const grants: TaskGrants = {};
  for (const name of TASK_PERMISSION_NAMES) {
    const value = values[`task-allow-${name}`];
    if (value === undefined) continue;
    if (typeof value !== "string") {
      throw new TypeError(`${taskFlag(name)} takes a list like ${taskFlag(name)}=a,b`);
    }
    const list = value.split(",").map((part) => part.trim()).filter((part) => part !== "");
    grants[name] = value.trim() === "" ? true : list;
  }
  return grants;
}

/** The worker CLI flags for `permissions` (the inverse of {@link taskPermissionsFromFlags}). */
export function taskPermissionFlags(permissions: TaskPermissions | undefined): string[] {
  if (permissions === undefined) return [];
  if (permissions === "all") return ["--task-permissions=all"];
  const flags: string[] = [];
  for (const name of TASK_PERMISSION_NAMES) {
    const grant = permissions[name];
    if (grant === undefined) continue;
    flags.push(grant === true ? taskFlag(name) : `${taskFlag(name)}=${grant.join(",")}`);
  }
  return flags;
}

/**
 * Checks grants given in code (LocalCluster options).
 *
 * @throws {TypeError} naming the unknown permission or the malformed grant.
 */
export function checkTaskPermissions(permissions: unknown, where: string): TaskPermissions {
  if (permissions === "all") return "all";
  if (typeof permissions !== "object" || permissions === null || Array.isArray(permissions)) {
    throw new TypeError(
      `${where} takes "all" or an object like { read: ["/data"], net: ["db:5432"] }; got ` +
        `${JSON.stringify(permissions)}`,
    );
  }
  const known = new Set<string>(TASK_PERMISSION_NAMES);
  for (const [name, grant] of Object.entries(permissions)) {
    if (!known.has(name)) {
      throw new TypeError(
        `${where}.${name} is not a permission tasks can be granted; use one of ` +
          `${TASK_PERMISSION_NAMES.join(", ")}`,
      );
    }
    const list = Array.isArray(grant) && grant.every((item) => typeof item === "string");
    if (grant !== true && grant !== undefined && !list) {
      throw new TypeError(`${where}.${name} takes true or a list of strings`);
    }
  }
  return permissions as TaskGrants;
}

/** What the defaults depend on: where this package's code lives. */
export interface TaskPermissionContext {
  /** The package's root URL (`file:` or `https:`), which task threads load their entry from. */
  packageUrl: string;
  /**
   * Deno's npm package cache (`$DENO_DIR/npm`), or null when unknown: packages' native parts
   * (Polars) are loaded from files there.
   */
  npmCache: string | null;
  /**
   * Hosts of the cluster a task may connect to (any port): the scheduler's, so that `getClient()`
   * in a task can connect and fetch results from workers there. Workers on other hosts need
   * `--task-allow-net` for a task's client to read their data.
   */
  clusterHosts?: readonly string[];
  /**
   * Task threads may sample themselves (threads/sampler.ts): sampling is on and the worker process
   * itself holds `sys: inspector` (a thread cannot be granted what its process lacks). Default true.
   */
  sampling?: boolean;
}

/**
 * The `permissions` option for task threads: the grants, plus what every task thread needs
 * (reading this package's code when it is local and Deno's npm cache, importing from the
 * package's host when it is remote, and from Deno's default import hosts).
 */
export function threadPermissions(
  permissions: TaskPermissions,
  context: TaskPermissionContext,
): Deno.PermissionOptions {
  if (permissions === "all") return "inherit";
  const pkg = new URL(context.packageUrl);
  const codeRead = pkg.protocol === "file:" ? [decodeURIComponent(pkg.pathname)] : [];
  if (context.npmCache !== null) codeRead.push(context.npmCache);
  const codeHost = pkg.protocol === "file:"
    ? []
    : [`${pkg.hostname}:${pkg.port || (pkg.protocol === "https:" ? "443" : "80")}`];
  const merge = (grant: true | string[] | undefined, base: readonly string[]) =>
    grant === true ? true : [...new Set([...base, ...(grant ?? [])])];
  // Native code is beyond Deno's sandbox anyway: with ffi, tasks also get the little that
  // loading Polars asks of Deno (system information — its loader probes the platform — and
  // capping its pool in POLARS_MAX_THREADS).
  const native = permissions.ffi !== undefined;
  const listOrNone = (grant: true | string[] | undefined, withNative: string[]) =>
    native ? merge(grant, withNative) : grant ?? false;
  const options: Deno.PermissionOptionsObject = {
    read: merge(permissions.read, codeRead),
    write: permissions.write ?? false,
    net: permissions.net === true
      ? true
      : (context.clusterHosts ?? []).length > 0 || permissions.net !== undefined
      ? [...new Set([...(context.clusterHosts ?? []), ...(permissions.net ?? [])])]
      : false,
    env: listOrNone(permissions.env, ["POLARS_MAX_THREADS"]),
    run: permissions.run ?? false,
    ffi: permissions.ffi ?? false,
    // inspector: each thread samples itself for client.profile (threads/sampler.ts)
    sys:
      (native
        ? true
        : context.sampling === false
        ? permissions.sys ?? false
        : merge(permissions.sys, ["inspector"])) as Deno.PermissionOptionsObject["sys"],
    import: merge(permissions.import, [...DEFAULT_IMPORT_HOSTS, ...codeHost]),
  };
  return options;
}

/** Deno's words for a refused permission: `Requires read access to "/etc/shadow", run …`. */
const REFUSAL = /Requires (\w+) access to ("[^"]*"|[^,]+)/;

/**
 * The error a task gets when Deno refused it a permission: what it reached for, which flag
 * grants it, and that the worker process's own flags are not the task's. Other errors are
 * returned as they are. The original stays as `cause`.
 */
export function explainPermissionError(thrown: unknown): unknown {
  let error: unknown = thrown;
  // the refusal may be the cause of an import error (core/function_cache.ts wraps those)
  for (let depth = 0; depth < 4 && error instanceof Error; depth++) {
    const refused = permissionRefused(error);
    if (refused !== null) {
      const explained = new Error(refused, { cause: thrown });
      explained.name = "TaskPermissionError";
      return explained;
    }
    error = error.cause;
  }
  return thrown;
}

function permissionRefused(error: Error): string | null {
  const deno = (globalThis as { Deno?: typeof Deno }).Deno;
  const refusedType = deno !== undefined &&
    (error instanceof deno.errors.NotCapable || error instanceof deno.errors.PermissionDenied);
  const match = REFUSAL.exec(error.message);
  if (!refusedType || match === null) return null;
  const name = match[1] as TaskPermissionName;
  const target = match[2].replace(/^"|"$/g, "");
  const known = (TASK_PERMISSION_NAMES as readonly string[]).includes(name);
  const grant = known ? `${taskFlag(name)}=${target}` : "--task-permissions=all";
  const option = known
    ? `taskPermissions: { ${name}: [${JSON.stringify(target)}] }`
    : `taskPermissions: "all"`;
  return `This task was refused ${name} access to ${JSON.stringify(target)}: tasks run with ` +
    `narrower permissions than their worker process. Start the worker with ${grant} ` +
    `(LocalCluster/Client.local: ${option}) to allow it` +
    (name === "ffi" ? "; native code is not sandboxed, so only for trusted tasks" : "") +
    ` (docs/security.md).`;
}
