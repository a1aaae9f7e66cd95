/**
 * The listener: accepts TCP connections (TLS ones when given `tls`: net/tls.ts), keeps at most `maxConnectionsPerHost` from one remote
 * host, runs each one's handshake, and hands those that pass to their owner. Refusals are
 * reported with the peer's address (logged at most 10 a second by default, the rest counted).
 *
 * @module
 */

import { asError } from "../core/errors.ts";
import { formatAddress } from "./address.ts";
import { checkAuthToken, TASK_IDENTITY_PREFIX } from "./auth.ts";
import { returnMemorySoon } from "../core/native_memory.ts";
import { closeQuietly, Connection, type ConnectionOptions } from "./connection.ts";
import { type ByteSocket, listenMutualTls, type SocketListener } from "./mutual_tls_listener.ts";
import { TlsError, tlsRefusal } from "./tls.ts";
import { DEFAULT_WIRE_LIMITS } from "./limits.ts";

/** Where and how {@link listen} accepts connections. */
export interface ListenOptions extends Omit<ConnectionOptions, "role"> {
  hostname: string;
  /** 0 picks a free port; the listener's `addr` tells which. */
  port: number;
  /** This side's role in the handshake. "scheduler" by default. */
  role?: string;
  /** Connections (handshaking or open) kept from one remote host; more are closed. 1,024. */
  maxConnectionsPerHost?: number;
  /** Told about every connection refused (bad handshake) or failing in `onConnection`. */
  onError?: (error: Error, remoteAddr: string) => void;
}

/** A listening socket; `close` stops accepting (connections already handed out stay open). */
export interface Listener {
  /** `tcp://host:port` (`tls://` over TLS), with the real port when 0 was asked for. */
  readonly addr: string;
  readonly port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Lines of refusals logged per second by default; a flood of bad peers cannot fill a disk. */
const REFUSALS_LOGGED_PER_SECOND = 10;

/**
 * An `onError` that logs each refusal with the peer's address, at most 10 lines a second (a
 * flood of bad peers cannot fill a disk); the default, logging to standard error.
 */
export function refusalLogger(
  log: (line: string) => void = (line) => console.warn(`[wire] ${line}`),
): (error: Error, remoteAddr: string) => void {
  let windowStart = 0;
  let logged = 0;
  let unlogged = 0;
  return (error, remoteAddr) => {
    const now = Date.now();
    if (now - windowStart >= 1000) {
      if (unlogged > 0) log(`${unlogged} more connections refused (not logged)`);
      windowStart = now;
      logged = unlogged = 0;
    }
    if (logged++ < REFUSALS_LOGGED_PER_SECOND) {
      log(`connection from ${remoteAddr} refused: ${error.message}`);
    } else {
      unlogged++;
    }
  };
}

/**
 * Listens for TCP connections, runs each one's handshake, and hands those that pass to
 * `onConnection`. Peers that fail the handshake are disconnected and reported to `onError`
 * (logged by default); the listener keeps serving everyone else.
 */
export function listen(
  options: ListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  let listener: SocketListener;
  try {
    if (options.authToken !== undefined) checkAuthToken(options.authToken);
    if (
      options.identityTokens !== undefined && options.authToken === undefined &&
      !onlyTaskCredentials(options)
    ) {
      throw new TypeError(
        "Client identities (a client tokens file) need the cluster's own auth token too: " +
          "give --auth-token-file (or DASK_DENO_AUTH_TOKEN).",
      );
    }
    if (options.tls !== undefined) return listenOverTls(options, onConnection);
    listener = Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (error) {
    return Promise.reject(error); // e.g. the port is taken: the caller's await sees it
  }
  return Promise.resolve(serve(listener, options, onConnection));
}

/**
 * Whether identity tokens given without the cluster's token are a mutual-TLS scheduler's task
 * credentials alone: its other peers are who their certificates say (net/connection.ts).
 */
function onlyTaskCredentials(options: ListenOptions): boolean {
  const names = [...options.identityTokens?.keys() ?? []];
  return options.tls !== undefined && options.certificateIdentities === true &&
    names.every((name) => name.startsWith(TASK_IDENTITY_PREFIX));
}

/** {@link listen} over TLS: peers must present a certificate signed by the cluster's CA. */
async function listenOverTls(
  options: ListenOptions,
  onConnection: (connection: Connection) => void,
): Promise<Listener> {
  const onError = options.onError ?? refusalLogger();
  const listener = await listenMutualTls(
    options.hostname,
    options.port,
    options.tls!,
    {
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? DEFAULT_WIRE_LIMITS.handshakeTimeoutMs,
      maxConnectionsPerHost: options.maxConnectionsPerHost ??
        DEFAULT_WIRE_LIMITS.maxConnectionsPerHost,
    },
    (error, remote) =>
      onError(error instanceof TlsError ? error : tlsRefusal(error), formatAddress(remote)),
    options.acceptTaskCredentialsWithoutCertificate === true,
  );
  return serve(listener, { ...options, onError }, onConnection);
}

/** Accepts from `listener`, runs each connection's handshake, hands those that pass on. */
function serve(
  listener: SocketListener,
  options: ListenOptions,
  onConnection: (connection: Connection) => void,
): Listener {
  const onError = options.onError ?? refusalLogger();
  const connectionOptions: ConnectionOptions = { ...options, role: options.role ?? "scheduler" };
  const maxPerHost = options.maxConnectionsPerHost ?? DEFAULT_WIRE_LIMITS.maxConnectionsPerHost;
  const perHost = new Map<string, number>();
  const handshaking = new Set<ByteSocket>();
  const handshakes = new Set<Promise<void>>();
  let closed = false;

  const release = (host: string) => {
    const left = perHost.get(host)! - 1;
    if (left === 0) perHost.delete(host);
    else perHost.set(host, left);
    // what the connection's buffers and messages took goes back to the system
    returnMemorySoon();
  };

  const welcome = async (conn: ByteSocket, host: string) => {
    const remote = formatAddress(conn.remoteAddr as Deno.NetAddr);
    handshaking.add(conn);
    let connection: Connection;
    try {
      connection = await Connection.open(conn, connectionOptions, "acceptor");
    } catch (error) {
      release(host);
      if (!closed) onError(asError(error), remote);
      return;
    } finally {
      handshaking.delete(conn);
    }
    connection.closed.then(() => release(host));
    if (closed) {
      await connection.abort("the listener closed");
      return;
    }
    try {
      onConnection(connection);
    } catch (error) {
      onError(asError(error), remote);
    }
  };

  const acceptLoop = (async () => {
    while (!closed) {
      let conn: ByteSocket;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed || error instanceof Deno.errors.BadResource) break;
        onError(asError(error), "(accept)");
        // e.g. out of file descriptors: pause instead of spinning
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const remote = conn.remoteAddr as Deno.NetAddr;
      const count = (perHost.get(remote.hostname) ?? 0) + 1;
      if (count > maxPerHost) {
        closeQuietly(conn);
        onError(
          new Error(
            `${remote.hostname} already has ${maxPerHost} connections open ` +
              `(maxConnectionsPerHost)`,
          ),
          formatAddress(remote),
        );
        continue;
      }
      perHost.set(remote.hostname, count);
      const handshake = welcome(conn, remote.hostname).finally(() => handshakes.delete(handshake));
      handshakes.add(handshake);
    }
  })();

  const address = listener.addr;
  const close = async () => {
    if (!closed) {
      closed = true;
      closeQuietly(listener);
      for (const conn of handshaking) closeQuietly(conn);
    }
    await acceptLoop;
    await Promise.allSettled([...handshakes]);
  };
  return {
    addr: formatAddress(address, options.tls === undefined ? "tcp" : "tls"),
    port: address.port,
    close,
    [Symbol.asyncDispose]: close,
  };
}
