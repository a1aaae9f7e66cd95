/**
 * TLS for every link, shaped like Dask's `Security` object: a CA that signed the cluster's
 * certificates, this side's certificate and key, and whether plain TCP is refused. A
 * `tls://host:port` address says "connect with TLS", as in Dask.
 *
 * Both ends are checked against the CA (mutual TLS). Dialing uses `Deno.connectTls` (rustls): the
 * server's chain must lead to the CA (trusted in addition to Deno's built-in roots: Deno offers no
 * way to trust one CA only) and its certificate must name the host dialed; this side presents its
 * own certificate. Listening is net/mutual_tls_listener.ts: `Deno.listenTls` cannot ask for client
 * certificates, Deno's `node:tls` server can.
 *
 * @module
 */

import { AuthenticationError } from "./auth.ts";

/**
 * TLS settings, as Dask's `Security`: paths of PEM files.
 *
 * @example
 * ```ts
 * import type { Security } from "./mod.ts";
 *
 * const security: Security = {
 *   caFile: "/etc/dask/ca.pem",
 *   cert: "/etc/dask/node.pem",
 *   key: "/etc/dask/node-key.pem",
 *   requireEncryption: true,
 * };
 * ```
 */
export interface Security {
  /**
   * The CA certificate (PEM file) that signed the cluster's certificates: peers are checked
   * against it. Each of the three files may be given as its PEM text instead of its path.
   */
  caFile?: string;
  /**
   * This side's certificate (PEM file, may hold the chain), signed by the CA and naming the hosts
   * this side listens on. Every side needs one: servers present it, and they require one from
   * every dialer (mutual TLS).
   */
  cert?: string;
  /** The private key (PEM file) of {@link Security.cert}. */
  key?: string;
  /** Refuse to connect to plain `tcp://` addresses (as Dask's `require_encryption`). Default false. */
  requireEncryption?: boolean;
}

/** {@link Security} with its files read: what connections and listeners use. */
export interface TlsConfig {
  /** PEM text of the CA certificates trusted. */
  caCerts: string[];
  /** PEM text of this side's certificate, when it has one. */
  cert?: string;
  /** PEM text of its key. */
  key?: string;
  requireEncryption: boolean;
}

/** A TLS handshake failed: a peer without TLS, or a certificate the other side does not trust. */
export class TlsError extends AuthenticationError {
  override name = "TlsError";
}

/** What the `--tls-*` flags or `security` fields are called, for messages that name them. */
export interface SecurityNames {
  caFile: string;
  cert: string;
  key: string;
}

const OPTION_NAMES: SecurityNames = { caFile: "caFile", cert: "cert", key: "key" };

/** A PEM given inline (its text) rather than as a file's path, as Dask's `Security` allows. */
const INLINE_PEM = /^\s*-----BEGIN /;

async function readPem(path: string, name: string, marker: RegExp, what: string) {
  if (INLINE_PEM.test(path)) {
    if (!marker.test(path)) throw new Error(`${name}: the PEM given inline is not a ${what}`);
    return path;
  }
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`${name} ${path}: cannot read it (${(error as Error).message})`);
  }
  if (!marker.test(text)) {
    throw new Error(`${name} ${path}: it holds no PEM ${what} (no "-----BEGIN …" line)`);
  }
  return text;
}

/**
 * `tls` as a {@link Security} whose files are given inline (a task's client needs no file);
 * with `withCertificate: false`, the CA alone (a task's client under tenancy: it checks the
 * server and proves a credential of its own instead of a certificate).
 */
export function inlineSecurity(
  tls: TlsConfig | undefined,
  options: { withCertificate: boolean } = { withCertificate: true },
): Security | undefined {
  if (tls === undefined) return undefined;
  const security: Security = {
    caFile: tls.caCerts.join("\n"),
    requireEncryption: tls.requireEncryption,
  };
  if (options.withCertificate) {
    security.cert = tls.cert;
    security.key = tls.key;
  }
  return security;
}

/**
 * Reads the files `security` names; undefined when it names none (plain TCP).
 *
 * @throws {Error} naming the option and the file when one cannot be read or holds no PEM, or when
 *   a certificate comes without its key (or the reverse) or without a CA.
 */
export async function loadSecurity(
  security: Security | undefined,
  names: SecurityNames = OPTION_NAMES,
): Promise<TlsConfig | undefined> {
  if (security === undefined) return undefined;
  const { caFile, cert, key } = security;
  if (caFile === undefined && cert === undefined && key === undefined) {
    if (security.requireEncryption === true) {
      throw new Error(
        `requireEncryption needs TLS: give the cluster's CA certificate (${names.caFile}).`,
      );
    }
    return undefined;
  }
  if ((cert === undefined) !== (key === undefined)) {
    throw new Error(
      `${names.cert} and ${names.key} go together: give both (the certificate and its key) ` +
        `or neither.`,
    );
  }
  if (caFile === undefined) {
    throw new Error(
      `TLS needs the CA that signed the cluster's certificates (${names.caFile}), to check ` +
        `the peers' certificates against.`,
    );
  }
  return {
    caCerts: [await readPem(caFile, names.caFile, /-----BEGIN CERTIFICATE-----/, "certificate")],
    cert: cert === undefined
      ? undefined
      : await readPem(cert, names.cert, /-----BEGIN CERTIFICATE-----/, "certificate"),
    key: key === undefined
      ? undefined
      : await readPem(key, names.key, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, "private key"),
    requireEncryption: security.requireEncryption ?? false,
  };
}

/**
 * Opens a TLS connection to a server, checking its certificate against the cluster's CA and the
 * host dialed, and presenting this side's certificate (the server requires one).
 *
 * Its socket gets `TCP_NODELAY` (as our plain TCP and accepted TLS sockets have it) once the
 * server has spoken, in `Connection.open`, through net/tcp_no_delay.ts (`Deno.TlsConn` has no
 * `setNoDelay`; `Deno.startTls` over a no-delay TCP connection sends no client certificate). Without it, Nagle's algorithm held a small write
 * behind an unacknowledged one until the peer's delayed ACK: a write, another 1 ms later and its
 * reply took 43–44 ms, 2.6 ms with the option. Deno's `node:tls` client can set it too, but
 * measured in clusters it made round trips 8-15 % slower at idle and 200 MB transfers ~25 %
 * slower (docs/security.md, "Where the time goes").
 */
export async function dialTls(
  hostname: string,
  port: number,
  tls: TlsConfig,
): Promise<Deno.TlsConn> {
  const clientCertificate = tls.cert !== undefined && tls.key !== undefined
    ? { cert: tls.cert, key: tls.key }
    : {};
  return await Deno.connectTls({ hostname, port, caCerts: tls.caCerts, ...clientCertificate });
}

/**
 * Completes a dialed TLS connection's handshake (a no-op for plain TCP), turning a failure into a
 * {@link TlsError} that says what usually causes it.
 */
export async function completeTlsHandshake(conn: object): Promise<void> {
  const tlsConn = conn as Partial<Deno.TlsConn>;
  if (typeof tlsConn.handshake !== "function") return;
  try {
    await tlsConn.handshake();
  } catch (error) {
    throw tlsFailure(error as Error);
  }
}

/**
 * A dialer's TLS failure: its own handshake's, or the alert a server sends once it has checked
 * this side's certificate (with TLS 1.3 that arrives after the dialer's handshake completed).
 */
export function tlsFailure(error: Error): TlsError {
  return new TlsError(
    `TLS handshake failed: ${error.message} (the server's certificate is not signed by the ` +
      `cluster's CA or does not name the host dialed; or the server refused this side's ` +
      `certificate: none, or another CA's; or the server does not speak TLS)`,
    { cause: error },
  );
}

/** A server-side TLS handshake failure, as the refusal logged with the peer's address. */
export function tlsRefusal(error: Error): TlsError {
  return new TlsError(
    `TLS handshake failed: ${error.message} (plain TCP to this TLS port, no client ` +
      `certificate, or a certificate not signed by the cluster's CA)`,
    { cause: error },
  );
}
