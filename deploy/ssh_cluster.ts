/**
 * `SSHCluster`: a scheduler on the first host and workers on the others, each started through the
 * system's `ssh` client (OpenSSH), as Dask's `SSHCluster(hosts, connect_options, worker_options,
 * scheduler_options)`. Their output streams back over the connection and is kept for `logs()`.
 *
 * Each remote process runs under a small shell wrapper that stops it (SIGTERM) when its ssh
 * connection ends, so closing the cluster, or this process dying, leaves nothing running on the
 * hosts: stopping a process closes its connection's standard input first (a clean stop), then
 * ends the ssh client after a grace period.
 *
 * The hosts need Deno and this package: by default `deno` on the remote PATH runs the modules at
 * this module's own URLs (a `file:` URL when imported from disk, so a shared file system, or an
 * `https:`/`jsr:` URL that any host can fetch); `remoteDeno` and `remoteModules` change that.
 *
 * @module
 */

import {
  ClusterManager,
  type ClusterWorker,
  keepLine,
  SCHEDULER_LINE,
  WORKER_LINE,
  type WorkerShape,
} from "./cluster.ts";
import { ManagedProcess, withDeadline } from "./process.ts";
import { shellCommand, shellEnv } from "./shell.ts";
import { parseMemoryLimit } from "../worker/memory_limit.ts";
import { checkAuthToken } from "../net/auth.ts";
import { AUTH_TOKEN_ENV, newAuthToken } from "../net/security_options.ts";
import { loadSecurity, type Security, type TlsConfig } from "../net/tls.ts";
import { makeTemporaryCertificates, type TemporaryCertificates } from "./temporary_certificates.ts";
import {
  dashboardFlags,
  WORKER_DENO_FLAGS,
  type WorkerFlagOptions,
  workerFlags,
} from "./worker_flags.ts";

/** How `ssh` reaches the hosts (each becomes `ssh` options). */
export interface SSHConnectOptions {
  /** An OpenSSH client config file (`ssh -F`): host aliases, ports, keys. */
  configFile?: string;
  /** The port, if not 22 or the config's. */
  port?: number;
  /** The remote user. */
  username?: string;
  /** A private key file (`ssh -i`). */
  identityFile?: string;
  /** A known-hosts file to check host keys against. */
  knownHostsFile?: string;
  /** More `-o Name=value` options. */
  options?: Record<string, string>;
  /** The ssh client program. Default `ssh`. */
  program?: string;
}

/** Options of each worker (its command line's flags; paths are on the remote host). */
export type SSHWorkerOptions = WorkerFlagOptions;

/** Options of the scheduler. */
export interface SSHSchedulerOptions {
  /**
   * The interface it listens on (and the address it advertises). Default `0.0.0.0`: every
   * interface, advertising the host's network address, so the workers on other hosts reach it.
   */
  host?: string;
  /** Its port. Default 8786; 0 for any free one. */
  port?: number;
  /** Serve the dashboard: false, true (8787), or a port. Default true. */
  dashboard?: boolean | number;
}

/** How {@link SSHCluster.start} sets up the cluster. */
export interface SSHClusterOptions {
  /** The scheduler's host, then the workers' hosts (names ssh resolves: aliases work). */
  hosts: string[];
  /** Workers to start, spread over the worker hosts in turn. Default: one per worker host. */
  nWorkers?: number;
  /** How `ssh` reaches the hosts. */
  connectOptions?: SSHConnectOptions;
  /** Flags of every worker. */
  workerOptions?: SSHWorkerOptions;
  /** Flags of the scheduler. */
  schedulerOptions?: SSHSchedulerOptions;
  /** The Deno on the hosts. Default `deno`. */
  remoteDeno?: string;
  /** Where the hosts load this package from. Default: this package's own URL. */
  remoteModules?: string | URL;
  /** Environment variables for the remote processes (`DENO_DIR`, say). */
  remoteEnv?: Record<string, string>;
  /** Copy the processes' output lines to this process's stderr. Default false. */
  logs?: boolean;
  /** Seconds to wait for the scheduler and workers. Default 60. */
  startTimeout?: number;
  /**
   * The cluster's shared secret (docs/security.md). Default: a fresh random token. It reaches
   * the remote processes on their ssh connection's input (never on a command line, which `ps`
   * shows) and clients of this process through the cluster (`Client.connect(cluster)`).
   * `false`: no authentication.
   */
  authToken?: string | false;
  /**
   * TLS on every link (docs/security.md). `true`: a temporary CA and one certificate naming
   * the hosts as given, the addresses they resolve to here and this machine's (made with
   * `openssl`, deleted when the cluster closes); a {@link Security}: your files, read here. Either
   * way the files travel on each ssh connection's input into a private temporary folder on the
   * host, removed when its process ends. Default false.
   */
  security?: boolean | Security;
}

/** Seconds a remote process gets to stop once its connection's input closed. */
const REMOTE_STOP_GRACE_S = 10;

/** The `ssh` options a {@link SSHConnectOptions} means. */
export function sshArgs(options: SSHConnectOptions = {}): string[] {
  const args: string[] = ["-o", "BatchMode=yes", "-T"];
  if (options.configFile !== undefined) args.push("-F", options.configFile);
  if (options.port !== undefined) args.push("-p", String(options.port));
  if (options.username !== undefined) args.push("-l", options.username);
  if (options.identityFile !== undefined) args.push("-i", options.identityFile);
  if (options.knownHostsFile !== undefined) {
    args.push("-o", `UserKnownHostsFile=${options.knownHostsFile}`);
  }
  for (const [name, value] of Object.entries(options.options ?? {})) {
    args.push("-o", `${name}=${value}`);
  }
  return args;
}

/** What a remote process reads first from its connection's input: the token and TLS files. */
export interface RemoteSecrets {
  authToken?: string;
  /** PEM text of the CA certificate, the certificate and its key. */
  tls?: { ca: string; cert: string; key: string };
}

/** The lines {@link remoteCommand} reads for `secrets` (TLS files as base64, one line each). */
export function secretLines(secrets: RemoteSecrets): string {
  const lines: string[] = [];
  if (secrets.authToken !== undefined) lines.push(secrets.authToken);
  if (secrets.tls !== undefined) {
    const { ca, cert, key } = secrets.tls;
    for (const pem of [ca, cert, key]) lines.push(btoa(pem));
  }
  return lines.map((line) => `${line}\n`).join("");
}

/**
 * The remote shell command: runs `words` in the background and stops it with SIGTERM once the
 * connection's standard input ends (a clean stop, or the ssh client gone); exits with its code.
 * With `secrets`, it first reads them from that input: the token into `DASK_DENO_AUTH_TOKEN`, the
 * TLS files into a private temporary folder (removed when the process ends) given to the
 * process as `--tls-*` flags.
 */
export function remoteCommand(
  words: string[],
  env: Record<string, string> = {},
  secrets: { authToken?: boolean; tls?: boolean } = {},
): string {
  let prelude = "";
  let flags = "";
  let cleanup = "";
  if (secrets.authToken === true) {
    prelude += `IFS= read -r ${AUTH_TOKEN_ENV} <&3 || exit 70; export ${AUTH_TOKEN_ENV}; `;
  }
  if (secrets.tls === true) {
    prelude += `tls=$(mktemp -d) || exit 70; for f in ca cert key; do IFS= read -r line <&3 && ` +
      `printf '%s' "$line" | base64 -d > "$tls/$f.pem" || exit 70; done; `;
    flags = ` --tls-ca-file "$tls/ca.pem" --tls-cert "$tls/cert.pem" --tls-key "$tls/key.pem"`;
    cleanup = ` rm -rf "$tls";`;
  }
  const command = [...shellEnv(env), shellCommand(words)].join(" ") + flags;
  // Background jobs read /dev/null, so the watcher reads the connection's input through fd 3.
  return `exec 3<&0; ${prelude}${command} & pid=$!; ` +
    `(cat <&3 >/dev/null 2>&1; kill -TERM $pid 2>/dev/null) >/dev/null 2>&1 & ` +
    `exec 3<&-; trap 'kill -TERM $pid 2>/dev/null' HUP TERM INT; wait $pid; code=$?; ` +
    `wait $pid 2>/dev/null;${cleanup} exit $code`;
}

/**
 * The hosts as given and the addresses they resolve to here, for a temporary certificate (the
 * processes advertise addresses, which the certificate must name).
 */
async function hostAddresses(hosts: readonly string[]): Promise<string[]> {
  const names = new Set(hosts.filter((host) => host !== ""));
  for (const host of [...names]) {
    if (/^[\d.]+$/.test(host) || host.includes(":")) continue; // an address already
    for (const type of ["A", "AAAA"] as const) {
      try {
        const signal = AbortSignal.timeout(2000);
        for (const address of await Deno.resolveDns(host, type, { signal })) names.add(address);
      } catch {
        // an ssh alias, or no DNS: the name as given is all there is
      }
    }
  }
  return [...names];
}

/** A process on a host, through ssh: its output streamed back and kept. */
class RemoteProcess {
  readonly process: ManagedProcess;
  readonly lines: string[] = [];

  constructor(
    label: string,
    host: string,
    words: string[],
    cluster: SSHClusterOptions,
    pattern: RegExp,
    secrets: RemoteSecrets,
    onLine?: (line: string) => void,
  ) {
    const ssh = cluster.connectOptions ?? {};
    const command = remoteCommand(words, cluster.remoteEnv, {
      authToken: secrets.authToken !== undefined,
      tls: secrets.tls !== undefined,
    });
    this.process = new ManagedProcess(label, {
      program: ssh.program ?? "ssh",
      args: [...sshArgs(ssh), host, command],
      addressPattern: pattern,
      stdin: "piped",
      onLine: (_, line) => {
        keepLine(this.lines, line);
        onLine?.(line);
        if (cluster.logs === true) console.error(`[${label} on ${host}] ${line}`);
      },
    });
    const input = secretLines(secrets);
    // (a write that fails means ssh already ended: its failure is what the caller sees)
    if (input !== "") this.process.writeStdin(input).catch(() => {});
  }

  /** Closes the connection's input (the remote process gets SIGTERM), then ends ssh if need be. */
  async stop(): Promise<void> {
    await this.process.closeStdin();
    const timer = setTimeout(() => this.process.signal("SIGTERM"), REMOTE_STOP_GRACE_S * 1000);
    try {
      await this.process.stop(REMOTE_STOP_GRACE_S + 5);
    } finally {
      clearTimeout(timer);
    }
  }
}

/** A worker on a host. */
class SSHWorker implements ClusterWorker {
  constructor(readonly name: string, readonly remote: RemoteProcess) {}

  failure(): Error | undefined {
    return this.remote.process.exited ? this.remote.process.failure("exited") : undefined;
  }

  logs(): string[] {
    return [...this.remote.lines];
  }

  close(): Promise<void> {
    return this.remote.stop();
  }
}

/**
 * A scheduler and workers on other machines, started over ssh.
 *
 * @example
 * ```ts
 * import { Client, SSHCluster } from "./mod.ts";
 *
 * await using cluster = await SSHCluster.start({
 *   hosts: ["head.example.org", "node1.example.org", "node2.example.org"],
 *   connectOptions: { username: "me", identityFile: "/home/me/.ssh/id_ed25519" },
 *   workerOptions: { nthreads: 4, memoryLimit: "8GB" },
 *   schedulerOptions: { port: 8786, dashboard: 8787 },
 * });
 * await using client = await Client.connect(cluster);
 * await cluster.scale(4); // two workers on each worker host
 * ```
 */
export class SSHCluster extends ClusterManager {
  readonly #options: SSHClusterOptions;
  readonly #modules: URL;
  #scheduler: RemoteProcess | undefined;
  /** Certificates made for this cluster (`security: true`), deleted when it closes. */
  readonly #certificates: TemporaryCertificates | undefined;
  readonly #secrets: RemoteSecrets;

  private constructor(
    options: SSHClusterOptions,
    certificates: TemporaryCertificates | undefined,
    tls: TlsConfig | undefined,
  ) {
    const authToken = options.authToken === false ? undefined : options.authToken ?? newAuthToken();
    if (authToken !== undefined) checkAuthToken(authToken);
    const security = certificates?.security ??
      (typeof options.security === "object" ? options.security : undefined);
    super({ startTimeout: options.startTimeout, authToken, security });
    this.#options = options;
    this.#certificates = certificates;
    this.#modules = new URL(options.remoteModules ?? new URL("../", import.meta.url));
    this.#secrets = {
      authToken,
      tls: tls === undefined ? undefined : {
        ca: tls.caCerts.join("\n"),
        cert: tls.cert!,
        key: tls.key!,
      },
    };
  }

  /**
   * Starts the scheduler on `hosts[0]`, then `nWorkers` workers (default: one per other host),
   * and waits until every worker is registered.
   *
   * @throws {Error} naming the host and showing the remote output when a process fails to start
   *   (ssh refused, Deno missing, …); whatever was started is stopped.
   */
  static async start(options: SSHClusterOptions): Promise<SSHCluster> {
    if (!Array.isArray(options.hosts) || options.hosts.length < 2) {
      throw new TypeError(
        "SSHCluster needs hosts: the scheduler's host first, then at least one worker host " +
          "(the same host may appear twice)",
      );
    }
    const certificates = options.security === true
      ? await makeTemporaryCertificates(
        await hostAddresses([...options.hosts, options.schedulerOptions?.host ?? ""]),
      )
      : undefined;
    let cluster: SSHCluster;
    try {
      const security = certificates?.security ??
        (typeof options.security === "object" ? options.security : undefined);
      const tls = await loadSecurity(security);
      if (tls !== undefined && (tls.cert === undefined || tls.key === undefined)) {
        throw new TypeError(
          "SSHCluster's security needs cert and key too: the remote processes listen over TLS.",
        );
      }
      cluster = new SSHCluster(options, certificates, tls);
    } catch (error) {
      await certificates?.remove();
      throw error;
    }
    await cluster.launch(
      () => cluster.#startScheduler(),
      options.nWorkers ?? options.hosts.length - 1,
    );
    return cluster;
  }

  /** Threads and memory limit of each worker. */
  get workerShape(): WorkerShape {
    const w = this.#options.workerOptions ?? {};
    const limit = w.memoryLimit;
    let memory = 0;
    if (typeof limit === "number") memory = limit;
    else if (limit !== undefined && limit !== "auto") {
      memory = parseMemoryLimit(limit, { nthreads: 1, cores: 1, totalMemory: () => 0 });
    }
    return { threads: w.nthreads ?? 1, memory };
  }

  /** `deno run -A [flags] --no-config <this package's module at path>` on a host. */
  #denoRun(path: string, flags: readonly string[] = []): string[] {
    const deno = this.#options.remoteDeno ?? "deno";
    return [deno, "run", "-A", ...flags, "--no-config", new URL(path, this.#modules).href];
  }

  async #startScheduler(): Promise<void> {
    const s = this.#options.schedulerOptions ?? {};
    const words = [...this.#denoRun("scheduler/main.ts"), "--port", String(s.port ?? 8786)];
    // Passed always: a scheduler alone listens on 127.0.0.1, which no other host can reach.
    words.push("--host", s.host ?? "0.0.0.0");
    words.push(...dashboardFlags(s.dashboard ?? true, 8787));
    const scheduler = new RemoteProcess(
      "scheduler",
      this.#options.hosts[0],
      words,
      this.#options,
      SCHEDULER_LINE,
      this.#secrets,
      (line) => this.schedulerLine(line),
    );
    this.#scheduler = scheduler;
    this.schedulerAddress = await withDeadline(
      scheduler.process.address,
      this.#options.startTimeout ?? 60,
      () => scheduler.process.failure(`on ${this.#options.hosts[0]} did not start in time`),
    );
  }

  /** Starts a worker on the next worker host in turn. */
  protected override startWorker(name: string): ClusterWorker {
    const hosts = this.#options.hosts.slice(1);
    const index = Number(name.slice(name.lastIndexOf("-") + 1));
    const host = hosts[index % hosts.length];
    const words = [
      ...this.#denoRun("worker/main.ts", WORKER_DENO_FLAGS),
      this.schedulerAddress,
      "--name",
      name,
      ...workerFlags(this.#options.workerOptions ?? {}),
      // every interface, advertising the one that reaches the scheduler (peers are elsewhere)
      "--host",
      "0.0.0.0",
    ];
    const remote = new RemoteProcess(name, host, words, this.#options, WORKER_LINE, this.#secrets);
    return new SSHWorker(name, remote);
  }

  /** Stops the remote scheduler. */
  protected override async closeScheduler(): Promise<void> {
    try {
      await this.#scheduler?.stop();
    } finally {
      await this.#certificates?.remove();
    }
  }
}
