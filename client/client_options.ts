/**
 * How a Client connects: its options, checked by name, and the session options they resolve to
 * (timeouts, the cluster's token and TLS files, found for a {@link LocalCluster} of this process
 * or in the environment when not given).
 *
 * @module
 */

import { LocalCluster } from "../deploy/local_cluster.ts";
import { optionNames } from "../core/option_names.ts";
import { authTokenFromEnv } from "../net/security_options.ts";
import { loadSecurity, type Security } from "../net/tls.ts";
import type { SessionOptions } from "./scheduler_connection.ts";

/** How a Client connects. */
export interface ClientOptions {
  /** Seconds to keep trying to reach the scheduler (it may still be starting). Default 10. */
  timeout?: number;
  /**
   * Seconds to keep reconnecting after the connection to the scheduler breaks, before the
   * client gives up and closes. Default 60.
   */
  reconnectTimeout?: number;
  /** Become the scheduler collections' `.compute()` uses by default. Default true. */
  setAsDefault?: boolean;
  /**
   * The cluster's shared secret (docs/security.md). Default: the token of a {@link LocalCluster}
   * of this process at that address, else the `DASK_DENO_AUTH_TOKEN` environment variable.
   */
  authToken?: string;
  /**
   * TLS, as Dask's `Security` (docs/security.md), needed for a `tls://` address: the CA to check
   * the scheduler's and workers' certificates against, and this client's certificate and key,
   * which they check in turn. Default: the files of a {@link LocalCluster} of this process at that
   * address (or of the cluster passed).
   */
  security?: Security;
}

/** The names {@link ClientOptions} accepts (misspelt options are refused, naming these). */
export const CLIENT_OPTION_NAMES = optionNames<ClientOptions>({
  timeout: true,
  reconnectTimeout: true,
  setAsDefault: true,
  authToken: true,
  security: true,
});

/** Seconds a client keeps trying to reach its scheduler at first, unless told. */
export const DEFAULT_CONNECT_TIMEOUT = 10;

/** The session options of a client of the scheduler at `address`. */
export async function sessionOptionsFor(
  address: string,
  options: ClientOptions,
): Promise<SessionOptions> {
  return {
    timeout: options.timeout ?? DEFAULT_CONNECT_TIMEOUT,
    reconnectTimeout: options.reconnectTimeout ?? 60,
    authToken: options.authToken ?? LocalCluster.authTokenFor(address) ?? authTokenFromEnv(),
    tls: await loadSecurity(options.security ?? LocalCluster.securityFor(address)),
  };
}
