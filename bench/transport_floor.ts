/**
 * The floor under bench/primitives.ts: what Deno itself takes for the hops a Queue request and
 * an actor call make, with none of our code on them. Timed the same way as bench/primitives.ts
 * (cold: the mean of the first 300 round trips in a fresh process; warm: the mean of the next
 * 1,000), so its figures sit beside that bench's in the same run:
 *
 * - a TCP round trip between two Deno processes on loopback (`setNoDelay`, 120-byte messages,
 *   about a Queue request's size): one hop of a Queue put or get, of an actor call;
 * - a `postMessage` round trip between the main thread and a Web Worker (an actor call's hop from
 *   the worker's event loop to its actor thread and back).
 *
 * A Queue put + get is two TCP round trips; an actor call is one TCP round trip plus one
 * `postMessage` round trip.
 *
 *   deno run -A bench/transport_floor.ts
 *
 * @module
 */

const COLD = 300;
const ROUNDS = 1000;
const MESSAGE_BYTES = 120;

/** In the child process: echoes every byte back on one connection, then exits. */
async function echoServer(): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log((listener.addr as Deno.NetAddr).port);
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    for (let at = 0; at < n;) at += await conn.write(buffer.subarray(at, n));
  }
  conn.close();
}

/** Mean µs of `COLD` round trips, then of `ROUNDS` more. */
async function coldAndWarm(roundTrip: () => Promise<void>): Promise<[number, number]> {
  let start = performance.now();
  for (let i = 0; i < COLD; i++) await roundTrip();
  const cold = (performance.now() - start) * 1000 / COLD;
  start = performance.now();
  for (let i = 0; i < ROUNDS; i++) await roundTrip();
  return [cold, (performance.now() - start) * 1000 / ROUNDS];
}

async function tcpRoundTrip(): Promise<[number, number]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", new URL(import.meta.url).href, "--echo"],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let conn: Deno.TcpConn | null = null;
  try {
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw new Error("the echo process ended before telling its port");
      text += new TextDecoder().decode(value);
    }
    reader.releaseLock();
    conn = await Deno.connect({ hostname: "127.0.0.1", port: Number(text.trim()) });
    conn.setNoDelay(true);
    const message = new Uint8Array(MESSAGE_BYTES);
    const buffer = new Uint8Array(65536);
    const link = conn;
    return await coldAndWarm(async () => {
      await link.write(message);
      for (let got = 0; got < MESSAGE_BYTES;) {
        const n = await link.read(buffer);
        if (n === null) throw new Error("the echo process closed the connection");
        got += n;
      }
    });
  } finally {
    conn?.close();
    try {
      child.kill();
    } catch {
      // ended already
    }
    await child.status;
    await child.stdout.cancel().catch(() => {});
  }
}

async function postMessageRoundTrip(): Promise<[number, number]> {
  const source = "self.onmessage = (e) => self.postMessage({ id: e.data.id, ok: true, value: 1 });";
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const thread = new Worker(url, { type: "module" });
  try {
    let answered: (() => void) | null = null;
    thread.onmessage = () => answered?.();
    let id = 0;
    // a call as the worker posts one to its actor thread
    return await coldAndWarm(() =>
      new Promise<void>((resolve) => {
        answered = resolve;
        thread.postMessage({ type: "call", id: id++, key: "Counter-0", method: "increment" });
      })
    );
  } finally {
    thread.terminate();
    URL.revokeObjectURL(url);
  }
}

if (Deno.args.includes("--echo")) {
  await echoServer();
} else {
  console.log(`${new Date().toISOString()}, load average ${Deno.loadavg()[0].toFixed(1)}`);
  const [tcpCold, tcpWarm] = await tcpRoundTrip();
  const [postCold, postWarm] = await postMessageRoundTrip();
  const row = (name: string, cold: number, warm: number) =>
    console.log(`${name.padEnd(48)} cold ${cold.toFixed(1)} µs   warm ${warm.toFixed(1)} µs`);
  row("TCP round trip, process ↔ process", tcpCold, tcpWarm);
  row("postMessage round trip, thread ↔ Web Worker", postCold, postWarm);
  row("floor of a Queue put + get (2 TCP)", 2 * tcpCold, 2 * tcpWarm);
  row("floor of an actor call (TCP + postMessage)", tcpCold + postCold, tcpWarm + postWarm);
}
