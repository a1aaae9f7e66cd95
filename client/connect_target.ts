/**
 * Where `Client.connect` connects: an address, the scheduler file a scheduler wrote
 * (`--scheduler-file`), or a cluster manager (`LocalCluster`, `SSHCluster`, `SlurmCluster`, …),
 * as Dask's `Client(address | scheduler_file= | cluster)`.
 *
 * @module
 */

import { readSchedulerFile } from "../core/scheduler_file.ts";
import type { Security } from "../net/tls.ts";

/** An address, `{ schedulerFile }`, or anything with a `schedulerAddress` (a cluster). */
export type ConnectTarget = string | { schedulerFile: string } | { schedulerAddress: string };

/** The scheduler address a target names (waiting up to `timeoutSeconds` for a scheduler file). */
export async function schedulerAddressOf(
  target: ConnectTarget,
  timeoutSeconds: number,
): Promise<string> {
  if (typeof target === "string") return target;
  if ("schedulerFile" in target && typeof target.schedulerFile === "string") {
    return (await readSchedulerFile(target.schedulerFile, { timeoutSeconds })).address;
  }
  if ("schedulerAddress" in target && typeof target.schedulerAddress === "string") {
    if (target.schedulerAddress === "") {
      throw new TypeError("Client.connect(cluster): the cluster has no scheduler (is it closed?)");
    }
    return target.schedulerAddress;
  }
  throw new TypeError(
    "Client.connect() takes an address (tcp://host:8786), { schedulerFile: path } or a cluster",
  );
}

/** The token and TLS files a cluster object carries; none for an address or a scheduler file. */
export function clusterCredentials(
  target: ConnectTarget,
): { authToken?: string; security?: Security } {
  if (typeof target !== "object") return {};
  const { authToken, security } = target as { authToken?: unknown; security?: unknown };
  return {
    authToken: typeof authToken === "string" ? authToken : undefined,
    security: typeof security === "object" && security !== null ? security as Security : undefined,
  };
}
