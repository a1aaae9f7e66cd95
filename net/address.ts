/**
 * Addresses: `tcp://host:port` (plain TCP) and `tls://host:port` (TLS) strings, parsed and
 * formatted. As in Dask, the scheme says how to connect.
 *
 * @module
 */

/** How a connection travels: plain TCP, or TLS over TCP. */
export type AddressScheme = "tcp" | "tls";

/**
 * Splits `"tcp://host:port"`, `"tls://host:port"` or `"host:port"` (plain TCP; IPv6 hosts in
 * brackets: `"tcp://[::1]:8786"`).
 *
 * @throws {TypeError} saying what a valid address looks like.
 */
export function parseAddress(
  address: string,
): { hostname: string; port: number; scheme: AddressScheme } {
  const invalid = (why: string) =>
    new TypeError(
      `Invalid address ${JSON.stringify(address)}: ${why}. Expected "tcp://host:port", ` +
        `"tls://host:port" or "host:port", e.g. "tcp://127.0.0.1:8786".`,
    );
  let rest = address.trim();
  let scheme: AddressScheme = "tcp";
  const schemeMatch = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (schemeMatch !== null) {
    const name = schemeMatch[1].toLowerCase();
    if (name !== "tcp" && name !== "tls") {
      throw invalid(`the scheme ${schemeMatch[1]}:// is not supported, only tcp:// and tls://`);
    }
    scheme = name;
    rest = rest.slice(schemeMatch[0].length);
  }
  let hostname: string;
  let portText: string;
  if (rest.startsWith("[")) {
    const end = rest.indexOf("]");
    if (end < 0 || rest[end + 1] !== ":") throw invalid("a bracketed host needs ]:port after it");
    hostname = rest.slice(1, end);
    portText = rest.slice(end + 2);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon < 0) throw invalid("the port is missing");
    hostname = rest.slice(0, colon);
    portText = rest.slice(colon + 1);
    if (hostname.includes(":")) throw invalid("an IPv6 host must be written in brackets");
  }
  if (hostname === "") throw invalid("the host is missing");
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw invalid(`the port ${JSON.stringify(portText)} is not a number from 0 to 65535`);
  }
  return { hostname, port: Number(portText), scheme };
}

/** The `tcp://host:port` (or `tls://…`) form of a socket address. */
export function formatAddress(
  address: { hostname: string; port: number },
  scheme: AddressScheme = "tcp",
): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `${scheme}://${host}:${address.port}`;
}
