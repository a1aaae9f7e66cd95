/**
 * Addresses: `tcp://host:port` strings, parsed and formatted.
 *
 * @module
 */

/**
 * Splits `"tcp://host:port"` or `"host:port"` (IPv6 hosts in brackets: `"tcp://[::1]:8786"`).
 *
 * @throws {TypeError} saying what a valid address looks like.
 */
export function parseAddress(address: string): { hostname: string; port: number } {
  const invalid = (why: string) =>
    new TypeError(
      `Invalid address ${JSON.stringify(address)}: ${why}. Expected "tcp://host:port" or ` +
        `"host:port", e.g. "tcp://127.0.0.1:8786".`,
    );
  let rest = address.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(rest);
  if (scheme !== null) {
    if (scheme[1].toLowerCase() !== "tcp") {
      throw invalid(`the scheme ${scheme[1]}:// is not supported, only tcp://`);
    }
    rest = rest.slice(scheme[0].length);
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
  return { hostname, port: Number(portText) };
}

/** The `tcp://host:port` form of a socket address. */
export function formatAddress(address: { hostname: string; port: number }): string {
  const host = address.hostname.includes(":") ? `[${address.hostname}]` : address.hostname;
  return `tcp://${host}:${address.port}`;
}
