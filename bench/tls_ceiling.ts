/**
 * What Deno's sockets can move at all, without our code: 200 MB from a listening process to a
 * dialing one, per transport, with the same certificates and allocator setting as a cluster's
 * worker → worker transfer (issue #19's "200 MB over TLS ≥ 60 % of plain TCP").
 *
 *   deno run -A bench/tls_ceiling.ts              5 rounds, every transport
 *   deno run -A bench/tls_ceiling.ts --rounds=3 --reuse   the receiver reuses one buffer
 *   deno run -A bench/tls_ceiling.ts --ciphers=TLS_AES_128_GCM_SHA256   ask `node:tls` (both
 *       ends) for these suites; the suite each `node:tls` server negotiated is printed, so this
 *       shows whether Deno honours the choice (2.9.6 does not: AES-256-GCM every time)
 *
 * Transports: plain TCP (`Deno.listen` / `Deno.connect`); Deno's TLS at both ends
 * (`Deno.listenTls` / `Deno.connectTls`, which cannot check a client certificate); the cluster's
 * TLS path (the `node:tls` server with client certificates required, through the cluster's own
 * adapter `NodeTlsSocket` of net/mutual_tls_listener.ts, to `Deno.connectTls`); `node:tls` at both
 * ends (the same adapter). Each round starts a fresh
 * sender and receiver process per transport, in rotating order; each pair moves the 200 MB five
 * times over one connection, the first not counted. The receiver reads straight into a fresh
 * `SharedArrayBuffer` per transfer (as a worker receives a large value) unless `--reuse`. Printed:
 * MB/s (median, range, % of plain TCP), CPU ms of receiver and sender per transfer, reads per
 * transfer, and the cipher suite the `node:tls` servers negotiated.
 */

import type net from "node:net";
import tls from "node:tls";
import { withHugePageAllocator } from "../core/allocator_env.ts";
import { makeTemporaryCertificates } from "../deploy/temporary_certificates.ts";
import { type ByteSocket, NodeTlsSocket } from "../net/mutual_tls_listener.ts";

const BYTES = 200e6;
const TRANSFERS = 5;

/** What both ends use of a socket: `Deno.Conn` and the cluster's `node:tls` adapter have it. */
type Side = Pick<ByteSocket, "read" | "write" | "close">;

const TRANSPORTS = {
  "plain TCP": { server: "tcp", client: "tcp" },
  "Deno TLS both ends": { server: "deno", client: "deno" },
  "node:tls server → Deno.connectTls (the cluster's)": { server: "node", client: "deno" },
  "node:tls both ends": { server: "node", client: "node" },
} as const;
type Transport = keyof typeof TRANSPORTS;

function cpuMs(): number {
  const stat = Deno.readTextFileSync("/proc/self/stat");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

function pems(directory: string) {
  const read = (name: string) => Deno.readTextFileSync(`${directory}/${name}`);
  return { ca: read("ca.pem"), cert: read("cert.pem"), key: read("key.pem") };
}

/** `node:tls` options asking for the suites of `--ciphers=` (none: Deno's default). */
function cipherOption(ciphers: string): { ciphers?: string } {
  return ciphers === "" ? {} : { ciphers };
}

/** The sender: listens, prints its port, sends 200 MB per byte received, prints its CPU. */
async function sender(kind: string, directory: string, ciphers: string): Promise<void> {
  const { ca, cert, key } = pems(directory);
  let accepted: Promise<Side>;
  let port: number;
  if (kind === "node") {
    let resolve: (side: Side) => void;
    accepted = new Promise((r) => resolve = r);
    const server = tls.createServer(
      {
        cert,
        key,
        ca: [ca],
        requestCert: true,
        rejectUnauthorized: true,
        ...cipherOption(ciphers),
      },
      (socket) => {
        console.error(`cipher ${socket.getCipher()?.standardName} ${socket.getProtocol()}`);
        resolve(new NodeTlsSocket(socket));
      },
    );
    port = await new Promise((r) =>
      server.listen(0, "127.0.0.1", () => r((server.address() as net.AddressInfo).port))
    );
  } else {
    const listener = kind === "tcp"
      ? Deno.listen({ hostname: "127.0.0.1", port: 0 })
      : Deno.listenTls({ hostname: "127.0.0.1", port: 0, cert, key });
    port = listener.addr.port;
    accepted = listener.accept().then((conn) => {
      (conn as Partial<Deno.TcpConn>).setNoDelay?.(true);
      return conn;
    });
  }
  console.log(port);
  const side = await accepted;
  const data = new Uint8Array(BYTES).fill(1);
  const one = new Uint8Array(1);
  while ((await side.read(one).catch(() => null)) !== null) {
    const before = cpuMs();
    for (let at = 0; at < BYTES;) at += await side.write(data.subarray(at));
    console.error(`cpu ${cpuMs() - before}`);
  }
  Deno.exit(0); // a node:tls server would keep listening
}

/** The receiver: dials, asks for and reads {@link TRANSFERS} transfers, prints their figures. */
async function receiver(
  kind: string,
  directory: string,
  port: number,
  reuse: boolean,
  ciphers: string,
) {
  const { ca, cert, key } = pems(directory);
  let side: Side;
  if (kind === "tcp") {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    conn.setNoDelay(true);
    side = conn;
  } else if (kind === "deno") {
    const conn = await Deno.connectTls({ hostname: "127.0.0.1", port, caCerts: [ca], cert, key });
    await conn.handshake();
    side = conn;
  } else {
    const socket = tls.connect({
      host: "127.0.0.1",
      port,
      ca: [ca],
      cert,
      key,
      ...cipherOption(ciphers),
    });
    await new Promise<void>((resolve, reject) => {
      socket.once("secureConnect", resolve);
      socket.once("error", reject);
    });
    side = new NodeTlsSocket(socket);
  }
  const reused = reuse ? new Uint8Array(new SharedArrayBuffer(BYTES)) : undefined;
  for (let transfer = 0; transfer < TRANSFERS; transfer++) {
    const buffer = reused ?? new Uint8Array(new SharedArrayBuffer(BYTES));
    const before = cpuMs();
    const start = performance.now();
    await side.write(new Uint8Array([1]));
    let n = 0;
    let reads = 0;
    while (n < BYTES) {
      const got = await side.read(buffer.subarray(n));
      if (got === null) throw new Error("the sender closed early");
      n += got;
      reads++;
    }
    const ms = performance.now() - start;
    console.log(JSON.stringify({ rate: BYTES / 1e3 / ms, cpu: cpuMs() - before, reads }));
  }
  side.close();
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function main(): Promise<void> {
  const rounds = Number(Deno.args.find((a) => a.startsWith("--rounds="))?.slice(9) ?? 5);
  const reuse = Deno.args.includes("--reuse");
  const ciphers = Deno.args.find((a) => a.startsWith("--ciphers="))?.slice(10) ?? "";
  await using certificates = await makeTemporaryCertificates();
  const env = withHugePageAllocator({});
  const script = new URL(import.meta.url).href;
  const run = (args: string[]) =>
    new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-config", script, ...args, ciphers, certificates.directory],
      env,
      stdout: "piped",
      stderr: "piped",
    });
  const names = Object.keys(TRANSPORTS) as Transport[];
  const results = new Map<Transport, { rate: number; cpu: number; reads: number; sent: number }[]>(
    names.map((name) => [name, []]),
  );
  const suites = new Map<Transport, Set<string>>(names.map((name) => [name, new Set()]));
  const decoder = new TextDecoder();
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length];
      const { server, client } = TRANSPORTS[name];
      await using sending = run(["--sender", server]).spawn();
      const lines = sending.stdout.pipeThrough(new TextDecoderStream()).getReader();
      const port = Number((await lines.read()).value?.trim());
      const received = await run([
        "--receiver",
        client,
        String(port),
        reuse ? "reuse" : "fresh",
      ]).output();
      if (!received.success) throw new Error(decoder.decode(received.stderr));
      lines.releaseLock();
      await sending.status;
      const sentLog = decoder.decode(await new Response(sending.stderr).arrayBuffer());
      const sent = [...sentLog.matchAll(/cpu (\d+)/g)].map((m) => Number(m[1]));
      for (const m of sentLog.matchAll(/cipher (.+)/g)) suites.get(name)!.add(m[1]);
      const figures = decoder.decode(received.stdout).trim().split("\n").map((l) => JSON.parse(l));
      // the first transfer of a connection warms it: not counted
      for (let t = 1; t < figures.length; t++) {
        results.get(name)!.push({ ...figures[t], sent: sent[t] });
      }
    }
  }
  const plain = median(results.get("plain TCP")!.map((r) => r.rate));
  console.log(
    `200 MB listener → dialer, ${rounds} rounds × ${TRANSFERS - 1} counted transfers, ` +
      `${reuse ? "one receive buffer reused" : "a fresh receive buffer each"}; load ${
        Deno.loadavg().map((x) => x.toFixed(1)).join(" ")
      }`,
  );
  for (const [name, rows] of results) {
    const rates = rows.map((r) => r.rate);
    console.log(
      `${name}: ${median(rates).toFixed(0)} MB/s (${Math.min(...rates).toFixed(0)}–${
        Math.max(...rates).toFixed(0)
      }), ${(median(rates) / plain * 100).toFixed(0)} % of plain TCP; CPU per transfer ` +
        `receiver ${median(rows.map((r) => r.cpu))} ms, sender ${
          median(rows.map((r) => r.sent))
        } ms; ${median(rows.map((r) => r.reads))} reads${
          suites.get(name)!.size === 0 ? "" : `; ${[...suites.get(name)!].join(", ")}`
        }`,
    );
  }
}

const [mode, kind, ...rest] = Deno.args;
if (mode === "--sender") await sender(kind, rest[1], rest[0]);
else if (mode === "--receiver") {
  await receiver(kind, rest[3], Number(rest[0]), rest[1] === "reuse", rest[2]);
} else await main();
