/**
 * A throwaway certificate authority and one certificate it signed, for
 * `LocalCluster({ security: true })`: made by the system's `openssl` command (no cryptography of
 * our own), in a private temporary folder removed when the cluster closes. The CA's key is deleted
 * as soon as the certificate is signed, so nothing can sign another one.
 *
 * @module
 */

import type { Security } from "../net/tls.ts";

/** Certificates in a temporary folder; `remove` (or `await using`) deletes them. */
export interface TemporaryCertificates extends AsyncDisposable {
  /** `caFile`, `cert`, `key` paths, as a cluster's processes and clients take them. */
  readonly security: Required<Pick<Security, "caFile" | "cert" | "key">>;
  /** The folder holding them. */
  readonly directory: string;
  /** Deletes the folder and everything in it. */
  remove(): Promise<void>;
  /** The same, at once (for a process that is ending). */
  removeSync(): void;
}

/** Days the certificates are valid: a local cluster lives for hours, not weeks. */
const VALID_DAYS = 2;

/** Every address this machine may be reached at, for the certificate's subjectAltName. */
function machineNames(extraHosts: readonly string[]): string[] {
  const names = new Set(["IP:127.0.0.1", "IP:::1", "DNS:localhost"]);
  const add = (host: string) => {
    if (host === "" || host === "0.0.0.0" || host === "::") return;
    const bare = host.replace(/^\[|\]$/g, "");
    const isIp = /^[\d.]+$/.test(bare) || bare.includes(":");
    names.add(isIp ? `IP:${bare}` : `DNS:${bare}`);
  };
  for (const host of extraHosts) add(host);
  try {
    for (const iface of Deno.networkInterfaces()) {
      if (!iface.address.includes("%")) add(iface.address); // no scoped link-local addresses
    }
  } catch {
    // no permission to list interfaces: the loopback names and the hosts given still work
  }
  return [...names];
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command("openssl", { args, cwd, stdin: "null" }).output();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new Error(
        "LocalCluster({ security: true }) makes its certificates with the `openssl` command, " +
          "which is not installed: install it (Debian: apt-get install openssl), or pass " +
          "security: { caFile, cert, key } with certificates of your own.",
      );
    }
    throw error;
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`openssl ${args[0]} failed (exit ${output.code}): ${stderr}`);
  }
}

/**
 * Makes a CA and a certificate for `hosts` (plus this machine's loopback and interface addresses),
 * usable both to serve and to connect.
 *
 * @throws {Error} when `openssl` is missing or fails (its message included).
 */
export async function makeTemporaryCertificates(
  hosts: readonly string[] = [],
): Promise<TemporaryCertificates> {
  const directory = await Deno.makeTempDir({ prefix: "dask-deno-tls-" });
  const remove = () => Deno.remove(directory, { recursive: true }).catch(() => {});
  try {
    const days = String(VALID_DAYS);
    const ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    await openssl([
      "req",
      "-x509",
      ...ec,
      "-keyout",
      "ca-key.pem",
      "-out",
      "ca.pem",
      "-days",
      days,
      "-subj",
      // a name of its own: verifiers look issuers up by name, so two clusters' CAs must differ
      `/CN=dask-deno temporary CA ${crypto.randomUUID()}`,
      "-addext",
      "basicConstraints=critical,CA:TRUE",
      "-addext",
      "keyUsage=critical,keyCertSign,cRLSign",
    ], directory);
    await openssl(
      ["req", ...ec, "-keyout", "key.pem", "-out", "node.csr", "-subj", "/CN=dask-deno node"],
      directory,
    );
    await Deno.writeTextFile(
      `${directory}/extensions.cnf`,
      `subjectAltName=${machineNames(hosts).join(",")}\n` +
        "basicConstraints=critical,CA:FALSE\n" +
        "keyUsage=critical,digitalSignature\n" +
        "extendedKeyUsage=serverAuth,clientAuth\n",
    );
    await openssl([
      "x509",
      "-req",
      "-in",
      "node.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca-key.pem",
      "-CAcreateserial",
      "-out",
      "cert.pem",
      "-days",
      days,
      "-extfile",
      "extensions.cnf",
    ], directory);
    // Nothing else is ever signed: the CA's key goes at once.
    for (const name of ["ca-key.pem", "node.csr", "ca.srl", "extensions.cnf"]) {
      await Deno.remove(`${directory}/${name}`).catch(() => {});
    }
  } catch (error) {
    await remove();
    throw error;
  }
  return {
    directory,
    security: {
      caFile: `${directory}/ca.pem`,
      cert: `${directory}/cert.pem`,
      key: `${directory}/key.pem`,
    },
    remove,
    [Symbol.asyncDispose]: remove,
    removeSync: () => {
      try {
        Deno.removeSync(directory, { recursive: true });
      } catch {
        // removed already
      }
    },
  };
}
