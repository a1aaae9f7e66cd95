/**
 * The floor under bench/primitives.ts: what Deno itself takes for the hops a Queue request and
 * an actor call make, with none of our code on them. Timed the same way as bench/primitives.ts
 * (cold: the mean of the first 300 round trips in a fresh process; warm: the mean of the next
 * 1,000), so its figures sit beside that bench's in the same run:
 *
 * - a TCP round trip between two Deno processes on loopback (`setNoDelay`, 120-byte messages,
 *   about a Queue request's size): one hop of a Queue put or get, of an actor call;
 * - a `postMessage` round trip between the main thread and a Web Worker (an actor call's hop from
 *   the worker's event loop to its actor thread and back);
 * - both in series, as an actor call makes them: a TCP round trip whose server asks a Web Worker
 *   of its own (a `postMessage` round trip) before it answers each message.
 *
 * A Queue put + get is two TCP round trips; an actor call is the series.
 *
 *   deno run -A bench/transport_floor.ts
 *
 * bench/primitives.ts runs the same two measurements beside its own in every round.
 *
 * @module
 */

const COLD = 300;
const ROUNDS = 1000;
const MESSAGE_BYTES = 120;

/** The message an actor call posts to its thread, and the answer's shape. */
const THREAD_SOURCE =
  "self.onmessage = (e) => self.postMessage({ id: e.data.id, ok: true, value: 1 });";
const callMessage = (id: number) => ({ type: "call", id, key: "Counter-0", method: "increment" });

/** A Web Worker answering each message, and a function asking it once. */
function echoThread(): { ask: () => Promise<void>; close: () => void } {
  const url = URL.createObjectURL(new Blob([THREAD_SOURCE], { type: "application/javascript" }));
  const thread = new Worker(url, { type: "module" });
  let answered: (() => void) | null = null;
  thread.onmessage = () => answered?.();
  let id = 0;
  return {
    // a call as the worker posts one to its actor thread
    ask: () =>
      new Promise<void>((resolve) => {
        answered = resolve;
        thread.postMessage(callMessage(id++));
      }),
    close: () => {
      thread.terminate();
      URL.revokeObjectURL(url);
    },
  };
}

/**
 * In the child process: answers every read with its bytes on one connection, then exits. With
 * `relay`, each read is first handed to a Web Worker of its own and answered once it answers.
 */
async function echoServer(relay: boolean): Promise<void> {
  const thread = relay ? echoThread() : null;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  console.log((listener.addr as Deno.NetAddr).port);
  const conn = await listener.accept();
  listener.close();
  conn.setNoDelay(true);
  const buffer = new Uint8Array(65536);
  for (;;) {
    const n = await conn.read(buffer);
    if (n === null) break;
    if (thread !== null) await thread.ask();
    for (let at = 0; at < n;) at += await conn.write(buffer.subarray(at, n));
  }
  conn.close();
  thread?.close();
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

/**
 * Cold and warm µs of a TCP round trip to a fresh echo process (each call starts one); with
 * `relay`, one whose answer waits for a `postMessage` round trip in that process.
 */
export async function tcpRoundTrip(relay = false): Promise<[number, number]> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--no-config", new URL(import.meta.url).href, relay ? "--relay" : "--echo"],
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

/** Cold and warm µs of a `postMessage` round trip to a fresh Web Worker. */
export async function postMessageRoundTrip(): Promise<[number, number]> {
  const thread = echoThread();
  try {
    return await coldAndWarm(thread.ask);
  } finally {
    thread.close();
  }
}

if (import.meta.main && (Deno.args.includes("--echo") || Deno.args.includes("--relay"))) {
  await echoServer(Deno.args.includes("--relay"));
} else if (import.meta.main) {
  console.log(`${new Date().toISOString()}, load average ${Deno.loadavg()[0].toFixed(1)}`);
  const [tcpCold, tcpWarm] = await tcpRoundTrip();
  const [postCold, postWarm] = await postMessageRoundTrip();
  const [seriesCold, seriesWarm] = await tcpRoundTrip(true);
  const row = (name: string, cold: number, warm: number) =>
    console.log(`${name.padEnd(48)} cold ${cold.toFixed(1)} µs   warm ${warm.toFixed(1)} µs`);
  row("TCP round trip, process ↔ process", tcpCold, tcpWarm);
  row("postMessage round trip, thread ↔ Web Worker", postCold, postWarm);
  row("floor of a Queue put + get (2 TCP)", 2 * tcpCold, 2 * tcpWarm);
  row("sum of an actor call's (TCP + postMessage)", tcpCold + postCold, tcpWarm + postWarm);
  row("floor of an actor call (both in series)", seriesCold, seriesWarm);
}
