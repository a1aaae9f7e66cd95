/**
 * Where the scheduler's and workers' command lines and a client find the cluster's secrets:
 * `--auth-token-file FILE`, else the `DASK_DENO_AUTH_TOKEN` environment variable, and the TLS
 * files `--tls-ca-file`, `--tls-cert`, `--tls-key` (docs/security.md).
 *
 * @module
 */

import type { CliOption } from "../core/cli.ts";
import { checkAuthToken, parseIdentityTokens } from "./auth.ts";
import { loadSecurity, type TlsConfig } from "./tls.ts";

/** The environment variable holding the cluster's auth token (its text, not a file name). */
export const AUTH_TOKEN_ENV = "DASK_DENO_AUTH_TOKEN";

/** The security options both CLIs take (their option tables include these). */
export const SECURITY_OPTIONS: readonly CliOption[] = [
  {
    name: "auth-token-file",
    type: "string",
    value: "PATH",
    defaultText: `the ${AUTH_TOKEN_ENV} environment variable, else none`,
    help: "Read the cluster's shared token from this file: every connection must prove it holds " +
      "the same token (docs/security.md). Make one with `openssl rand -hex 32`.",
  },
  {
    name: "tls-ca-file",
    type: "string",
    value: "PATH",
    help: "TLS: the CA certificate (PEM) that signed the cluster's certificates. With " +
      "--tls-cert and --tls-key this process listens on tls:// and checks every server it " +
      "connects to against this CA.",
  },
  {
    name: "tls-cert",
    type: "string",
    value: "PATH",
    help: "TLS: this process's certificate (PEM), signed by the CA; it must name the host " +
      "peers connect to (a subjectAltName).",
  },
  {
    name: "tls-key",
    type: "string",
    value: "PATH",
    help: "TLS: the private key (PEM) of --tls-cert.",
  },
];

/**
 * The TLS settings a command line asks for (files read), or undefined without `--tls-*` flags.
 *
 * @throws {Error} naming the flag and file when a file cannot be read, or a flag is missing.
 */
export async function tlsFromFlags(
  values: { "tls-ca-file"?: string; "tls-cert"?: string; "tls-key"?: string },
): Promise<TlsConfig | undefined> {
  const tls = await loadSecurity(
    { caFile: values["tls-ca-file"], cert: values["tls-cert"], key: values["tls-key"] },
    { caFile: "--tls-ca-file", cert: "--tls-cert", key: "--tls-key" },
  );
  if (tls !== undefined && (tls.cert === undefined || tls.key === undefined)) {
    throw new Error(
      "--tls-ca-file needs --tls-cert and --tls-key too: this process listens over TLS and " +
        "needs its own certificate.",
    );
  }
  return tls;
}

/** The auth token in the environment, or undefined (also when reading it is not permitted). */
export function authTokenFromEnv(): string | undefined {
  let token: string | undefined;
  try {
    const state = Deno.permissions.querySync({ name: "env", variable: AUTH_TOKEN_ENV }).state;
    if (state === "granted") token = Deno.env.get(AUTH_TOKEN_ENV);
  } catch {
    return undefined;
  }
  return token === undefined || token.trim() === "" ? undefined : token.trim();
}

/**
 * The auth token a command line asks for: the file's content (trimmed) when `--auth-token-file`
 * is given, else the environment's.
 *
 * @throws {Error} naming the file when it cannot be read or holds a token too short to be safe.
 */
export async function authTokenFromFlags(
  values: { "auth-token-file"?: string },
): Promise<string | undefined> {
  const file = values["auth-token-file"];
  if (file === undefined) {
    const token = authTokenFromEnv();
    if (token !== undefined) checkAuthToken(token);
    return token;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new Error(`--auth-token-file ${file}: cannot read it (${(error as Error).message})`);
  }
  const token = text.trim();
  try {
    checkAuthToken(token);
  } catch (error) {
    throw new Error(`--auth-token-file ${file}: ${(error as Error).message}`);
  }
  return token;
}

/**
 * The client identities of `--client-tokens-file` (lines `name:token`), or undefined without it.
 *
 * @throws {Error} naming the file (and line) when it cannot be read or a line is wrong.
 */
export async function identityTokensFromFile(
  file: string | undefined,
): Promise<Map<string, string> | undefined> {
  if (file === undefined) return undefined;
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new Error(`--client-tokens-file ${file}: cannot read it (${(error as Error).message})`);
  }
  const tokens = parseIdentityTokens(text, `--client-tokens-file ${file}`);
  if (tokens.size === 0) throw new Error(`--client-tokens-file ${file}: it names no identity`);
  return tokens;
}

/** A random token of 32 bytes in hex, for a cluster that makes its own. */
export function newAuthToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/i;

/** True for an address only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK.test(host);
}

/**
 * The line a server prints at start about who can reach it: that it listens on this machine only
 * (the default), or a warning when it listens beyond it without authentication; null when it
 * listens beyond this machine with authentication.
 */
export function exposureNotice(what: string, host: string, authenticated: boolean): string | null {
  if (isLoopbackHost(host)) {
    return `the ${what} listens on ${host} (this machine only); pass --host to accept ` +
      `connections from other machines.`;
  }
  return authenticated ? null : `warning: the ${what} listens on ${host} without authentication: ` +
    `anyone who can reach it can run code here. Give every process the same ` +
    `--auth-token-file (or ${AUTH_TOKEN_ENV}) or TLS certificates, or listen on 127.0.0.1.`;
}
