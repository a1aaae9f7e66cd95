/**
 * `TCP_NODELAY` for a dialed `Deno.TlsConn`, which has no `setNoDelay` (Deno 2.9: its
 * `op_set_nodelay` takes plain TCP resources only, and `Deno.startTls` over a no-delay
 * `Deno.TcpConn` cannot present a client certificate). Without it Nagle's algorithm holds a small
 * write behind an unacknowledged one until the peer's delayed ACK: a message that gets no answer
 * (a worker's heartbeat, a client's key release) followed within a few ms by one that does cost
 * that second message ~40 ms (measured: 43–44 ms against 2.6 ms with the option set).
 *
 * Linux only, and only when the process holds the `ffi` and `read` permissions (queried, never
 * asked for; the cluster's processes run with `-A`): the socket's descriptor is the one of those
 * listed in `/proc/self/fd` whose local and peer ports (libc's `getsockname`, `getpeername`) are the
 * connection's, and the option is set with libc's `setsockopt`. Elsewhere, or on any failure,
 * the connection stays as it was (it works, with the stalls above).
 *
 * @module
 */

/** What finds a connection's socket: its two addresses (a `Deno.Conn` has them). */
export type SocketAddresses = Pick<Deno.Conn, "localAddr" | "remoteAddr">;

const IPPROTO_TCP = 6;
const TCP_NODELAY = 1;

type Libc = Deno.DynamicLibrary<{
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"]; result: "i32" };
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"]; result: "i32" };
  getsockname: { parameters: ["i32", "buffer", "buffer"]; result: "i32" };
  getpeername: { parameters: ["i32", "buffer", "buffer"]; result: "i32" };
}>;

/** libc, opened once; null where it cannot be (not Linux, no permission, no libc.so.6). */
let libc: Libc | null | undefined;

function granted(descriptor: Deno.PermissionDescriptor): boolean {
  try {
    return Deno.permissions.querySync(descriptor).state === "granted";
  } catch {
    return false;
  }
}

function openLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  if (Deno.build.os !== "linux") return libc;
  if (!granted({ name: "ffi" }) || !granted({ name: "read", path: "/proc/self" })) return libc;
  try {
    libc = Deno.dlopen("libc.so.6", {
      setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
      getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
      getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
      getpeername: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
    });
  } catch {
    libc = null;
  }
  return libc;
}

const SOCKADDR_BYTES = 128; // sizeof(struct sockaddr_storage)
const sockaddr = new Uint8Array(SOCKADDR_BYTES);
const sockaddrLength = new Uint32Array(1);

/** The port of the socket address `which` (getsockname / getpeername) gives for `fd`, or -1. */
function portOf(lib: Libc, which: "getsockname" | "getpeername", fd: number): number {
  sockaddrLength[0] = SOCKADDR_BYTES;
  if (lib.symbols[which](fd, sockaddr, sockaddrLength) !== 0 || sockaddrLength[0] < 4) return -1;
  // sockaddr_in and sockaddr_in6 alike: the family, then the port in network byte order
  return (sockaddr[2] << 8) | sockaddr[3];
}

/**
 * This process's descriptor of the TCP socket whose local and remote ports are `conn`'s: the
 * descriptors listed in `/proc/self/fd`, asked for their addresses (two cheap syscalls each).
 */
function descriptorOfConn(lib: Libc, conn: SocketAddresses): number | undefined {
  const local = conn.localAddr as Deno.NetAddr;
  const remote = conn.remoteAddr as Deno.NetAddr;
  if (local.transport !== "tcp" || remote.transport !== "tcp") return undefined;
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    const fd = Number(entry.name);
    if (
      portOf(lib, "getsockname", fd) === local.port &&
      portOf(lib, "getpeername", fd) === remote.port
    ) return fd;
  }
  return undefined;
}

/**
 * Sets `TCP_NODELAY` on the TCP socket under `conn` (a `Deno.TlsConn`, typically). Returns
 * whether it did; false (and `conn` unchanged) where it cannot (see the module's notes).
 */
export function setTcpNoDelay(conn: Deno.Conn): boolean {
  const lib = openLibc();
  if (lib === null) return false;
  try {
    const fd = descriptorOfConn(lib, conn);
    if (fd === undefined) return false;
    return lib.symbols.setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, new Int32Array([1]), 4) === 0;
  } catch {
    return false;
  }
}

/**
 * Whether `TCP_NODELAY` is set on this process's TCP socket with `conn`'s two addresses (a
 * `Connection`'s, say); undefined where it cannot be read
 * (not Linux, no `ffi` or `read` permission). For tests and diagnostics.
 */
export function tcpNoDelayOf(conn: SocketAddresses): boolean | undefined {
  const lib = openLibc();
  if (lib === null) return undefined;
  const fd = descriptorOfConn(lib, conn);
  if (fd === undefined) return undefined;
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  if (lib.symbols.getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, value, length) !== 0) return undefined;
  return value[0] !== 0;
}
