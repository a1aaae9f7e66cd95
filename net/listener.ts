/**
 * The listener: accepts TCP connections, runs each one's handshake, and hands those that pass to
 * their owner.
 *
 * @module
 */

import { asError } from "../core/errors.ts";
import { formatAddress } from "./address.ts";
import { closeQuietly, Connection, type ConnectionOptions } from "./connection.ts";

/** Where and how {@link listen} accepts connections. */
export interface ListenOptions extends Omit<ConnectionOptions, "role"> {
  hostname: string;
  /** 0 picks a free port; the listener's `addr` tells which. */
  port: number;
  /** This side's role in the handshake. "scheduler" by default. */
  role?: string;
  /** Told about every connection refused (bad handshake) or failing in `onConnection`. */
  onError?: (error: Error, remoteAddr: string) => void;
}

/** A listening socket; `close` stops accepting (connections already handed out stay open). */
export interface Listener {
  /** `tcp://host:port`, with the real port when 0 was asked for. */
  readonly addr: string;
  readonly port: number;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

function logRefused(error: Error, remoteAddr: string): void {
  console.warn(`[wire] connection from ${remoteAddr} refused: ${error.message}`);
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
  let listener: Deno.TcpListener;
  try {
    listener = Deno.listen({ hostname: options.hostname, port: options.port });
  } catch (error) {
    return Promise.reject(error); // e.g. the port is taken: the caller's await sees it
  }
  const onError = options.onError ?? logRefused;
  const connectionOptions: ConnectionOptions = { ...options, role: options.role ?? "scheduler" };
  const handshaking = new Set<Deno.TcpConn>();
  const handshakes = new Set<Promise<void>>();
  let closed = false;

  const welcome = async (conn: Deno.TcpConn) => {
    const remote = formatAddress(conn.remoteAddr);
    handshaking.add(conn);
    let connection: Connection;
    try {
      connection = await Connection.open(conn, connectionOptions);
    } catch (error) {
      if (!closed) onError(asError(error), remote);
      return;
    } finally {
      handshaking.delete(conn);
    }
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
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (closed || error instanceof Deno.errors.BadResource) break;
        onError(asError(error), "(accept)");
        // e.g. out of file descriptors: pause instead of spinning
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      const handshake = welcome(conn).finally(() => handshakes.delete(handshake));
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
  return Promise.resolve({
    addr: formatAddress(address),
    port: address.port,
    close,
    [Symbol.asyncDispose]: close,
  });
}
