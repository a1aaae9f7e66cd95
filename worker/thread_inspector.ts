/**
 * The stack of a task thread busy in synchronous code, read from outside it. A thread's own
 * sampler (threads/sampler.ts) answers between two turns of its event loop, so a task in a long
 * synchronous loop leaves the call-stacks view blank — the very task one wants to see. V8's
 * inspector can reach such a thread: Deno delivers inspector messages to a busy isolate through
 * V8 interrupts, and the Node-style `NodeWorker` domain of a process's inspector forwards messages
 * to each Web Worker. So the worker's main thread opens its process's inspector on loopback,
 * connects one WebSocket to it (a local `node:inspector` Session has no `NodeWorker` domain in
 * Deno 2.9), finds the task threads by name, and for each busy one sends `Debugger.enable` and
 * `Debugger.pause`: the thread stops at its next statement, its call frames come back with the
 * `Debugger.paused` event, and `Debugger.resume` lets it go on — milliseconds, once per request.
 * Only a property read (`globalThis.name`) is ever evaluated inside a busy thread: evaluating
 * code that builds an `Error` there panics Deno 2.9 ("RefCell already mutably borrowed").
 *
 * The inspector listens on 127.0.0.1 only while someone reads busy threads' stacks (closed after
 * {@link IDLE_CLOSE_MS} without a request, or kept when the process was started with `--inspect`),
 * and Deno prints "Debugger listening on ws://…" to the worker's stderr each time it opens. While
 * it listens, a local user who finds its port could debug the worker process: so a worker with an
 * auth token or TLS never opens it, and `--profile-interval 0` turns it off on any worker.
 *
 * @module
 */

import inspector from "node:inspector";
import type { ProfileFrame } from "../core/profile_tree.ts";

/** How long one step (connecting, naming a thread, pausing it) may take. */
const STEP_MS = 2000;
/** The inspector closes after this long without a request. */
const IDLE_CLOSE_MS = 15_000;

/** A thread's stack read by pausing it, and when (ms since the epoch). */
export interface PausedStack {
  at: number;
  /** Outermost first, the runtime's own frames left out. */
  frames: ProfileFrame[];
}

interface CallFrame {
  functionName: string;
  /** Empty in Deno 2.9: the script's URL comes with its `Debugger.scriptParsed` event. */
  url: string;
  location: { scriptId: string; lineNumber: number };
}

interface Message {
  id?: number;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { message: string };
}

/** A Web Worker the inspector forwards to: its name once asked, its scripts' URLs by id. */
interface ThreadSession {
  name: Promise<string | null>;
  scripts: Map<string, string>;
}

export class ThreadInspector {
  readonly #skip: (url: string) => boolean;
  #socket: WebSocket | null = null;
  #connecting: Promise<WebSocket> | null = null;
  /** Whether this object opened the process's inspector (and closes it again). */
  #opened = false;
  #nextId = 1;
  readonly #replies = new Map<number, (message: Message) => void>();
  /** Answers from inside threads, by session and id. */
  readonly #threadReplies = new Map<string, (message: Message) => void>();
  readonly #paused = new Map<string, (frames: CallFrame[]) => void>();
  readonly #sessions = new Map<string, ThreadSession>();
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** @param skip frames of these script URLs are the runtime's own and are left out */
  constructor(skip: (url: string) => boolean) {
    this.#skip = skip;
  }

  /**
   * The stacks of the threads named `names` (their `globalThis.name`), each paused for a moment;
   * a thread not found, or not pausing in time, is missing from the answer.
   *
   * @throws {Error} when the process's inspector cannot be opened (no permission: the worker
   *   needs sys access to "inspector" — `--allow-sys` — and net access to 127.0.0.1).
   */
  async stacks(names: readonly string[]): Promise<Map<string, PausedStack>> {
    clearTimeout(this.#idleTimer);
    try {
      const socket = await this.#connect();
      const found = await this.#find(names);
      const out = new Map<string, PausedStack>();
      await Promise.all([...found].map(async ([name, session]) => {
        const frames = await this.#pause(socket, session);
        const scripts = this.#sessions.get(session)?.scripts;
        if (frames !== null && scripts !== undefined) {
          out.set(name, { at: Date.now(), frames: this.#frames(frames, scripts) });
        }
      }));
      return out;
    } finally {
      this.#idleTimer = setTimeout(() => this.close(), IDLE_CLOSE_MS);
      Deno.unrefTimer(this.#idleTimer);
    }
  }

  /**
   * Stops the thread named `name` even inside a synchronous loop, which `Worker.terminate()`
   * alone does not do in Deno 2.9 (denoland/deno#35657): finds its session, calls `terminate`,
   * then sends `Runtime.terminateExecution`. The order matters: the same message to a thread not
   * yet terminated panics Deno 2.9 ("either js is polling or the worker is terminated"), and after
   * `terminate()` it ends the loop (measured: the process's CPU share over 2 s went from
   * 35-97 % of a core to 0 %). `terminate` is called also when the thread cannot be found.
   */
  async halt(name: string, terminate: () => void): Promise<void> {
    clearTimeout(this.#idleTimer);
    let session: string | undefined;
    let socket: WebSocket | undefined;
    try {
      socket = await this.#connect();
      session = (await this.#find([name])).get(name);
    } catch { /* no inspector: terminated only, the stray watch reports the rest */ }
    terminate();
    try {
      if (socket !== undefined && session !== undefined) {
        await this.#inThread(socket, session, "Runtime.terminateExecution", {}).catch(() => {});
      }
    } finally {
      this.#idleTimer = setTimeout(() => this.close(), IDLE_CLOSE_MS);
      Deno.unrefTimer(this.#idleTimer);
    }
  }

  /**
   * The sessions of the threads named `names`, by name. Threads are announced one by one after
   * the inspector connects (and when they start): a name not seen yet is waited for a moment.
   */
  async #find(names: readonly string[]): Promise<Map<string, string>> {
    const found = new Map<string, string>();
    const deadline = Date.now() + STEP_MS;
    const asked = new Set<string>();
    while (true) {
      const pending: Promise<void>[] = [];
      for (const [session, thread] of this.#sessions) {
        if (asked.has(session)) continue;
        asked.add(session);
        pending.push(thread.name.then((name) => {
          if (name !== null && names.includes(name)) found.set(name, session);
        }));
      }
      await Promise.all(pending);
      if (found.size === names.length || Date.now() > deadline) return found;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Closes the connection, and the inspector when this object opened it. */
  close(): void {
    clearTimeout(this.#idleTimer);
    const socket = this.#socket;
    this.#socket = null;
    this.#connecting = null;
    this.#sessions.clear();
    for (const reply of this.#replies.values()) reply({ error: { message: "closed" } });
    for (const reply of this.#threadReplies.values()) reply({ error: { message: "closed" } });
    for (const paused of this.#paused.values()) paused([]);
    if (socket !== null && socket.readyState <= WebSocket.OPEN) socket.close();
    if (this.#opened) {
      this.#opened = false;
      inspector.close();
    }
  }

  /** Outermost first, without V8's and the runtime's own frames. */
  #frames(callFrames: readonly CallFrame[], scripts: ReadonlyMap<string, string>): ProfileFrame[] {
    const out: ProfileFrame[] = [];
    for (let i = callFrames.length - 1; i >= 0; i--) {
      const { functionName, location } = callFrames[i];
      const url = callFrames[i].url || (scripts.get(location.scriptId) ?? "");
      if (url === "" || url.startsWith("ext:") || this.#skip(url)) continue;
      out.push({
        name: functionName || "(anonymous)",
        filename: url,
        line_number: location.lineNumber + 1,
      });
    }
    return out;
  }

  #connect(): Promise<WebSocket> {
    if (this.#socket !== null && this.#socket.readyState === WebSocket.OPEN) {
      return Promise.resolve(this.#socket);
    }
    return this.#connecting ??= this.#open().catch((error) => {
      this.close();
      throw error;
    });
  }

  async #open(): Promise<WebSocket> {
    let url = inspector.url();
    if (url === undefined) {
      // asked first: a missing permission would otherwise prompt on a terminal and block
      const needed: Deno.PermissionDescriptor[] = [
        { name: "sys", kind: "inspector" as "hostname" },
        { name: "net", host: "127.0.0.1" },
      ];
      for (const permission of needed) {
        if (Deno.permissions.querySync(permission).state !== "granted") {
          throw new Error(
            'the worker lacks sys access to "inspector" (--allow-sys) or net access to ' +
              "127.0.0.1, which reading a busy thread's stack needs",
          );
        }
      }
      inspector.open(0, "127.0.0.1", false);
      this.#opened = true;
      url = inspector.url();
      if (url === undefined) throw new Error("the inspector did not open");
    }
    const socket = new WebSocket(url);
    await within(
      new Promise<void>((resolve, reject) => {
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error(`could not connect to the inspector at ${url}`));
      }),
      "connecting to the inspector",
    );
    socket.onmessage = (event) => this.#receive(JSON.parse(String(event.data)) as Message);
    socket.onclose = () => {
      if (this.#socket === socket) this.close();
    };
    this.#socket = socket;
    // Existing threads are announced (NodeWorker.attachedToWorker) before this answer.
    await this.#call(socket, "NodeWorker.enable", { waitForDebuggerOnStart: false });
    return socket;
  }

  #receive(message: Message): void {
    if (message.id !== undefined) {
      const reply = this.#replies.get(message.id);
      this.#replies.delete(message.id);
      reply?.(message);
      return;
    }
    const params = message.params ?? {};
    switch (message.method) {
      case "NodeWorker.attachedToWorker": {
        const session = String(params.sessionId);
        const socket = this.#socket;
        if (socket === null) return;
        // a property read: safe inside a thread interrupted in synchronous code
        const name = this.#inThread(socket, session, "Runtime.evaluate", {
          expression: "globalThis.name",
          returnByValue: true,
        }).then(
          (reply) => {
            const value = (reply.result?.result as { value?: unknown } | undefined)?.value;
            return typeof value === "string" ? value : null;
          },
          () => null,
        );
        this.#sessions.set(session, { name, scripts: new Map() });
        return;
      }
      case "NodeWorker.detachedFromWorker":
        this.#sessions.delete(String(params.sessionId));
        return;
      case "NodeWorker.receivedMessageFromWorker": {
        const session = String(params.sessionId);
        const inner = JSON.parse(String(params.message)) as Message;
        if (inner.id !== undefined) {
          const key = `${session}#${inner.id}`;
          const reply = this.#threadReplies.get(key);
          this.#threadReplies.delete(key);
          reply?.(inner);
        } else if (inner.method === "Debugger.scriptParsed") {
          // sent for every script when the debugger is enabled, and for each new one after
          const { scriptId, url } = inner.params as { scriptId: string; url: string };
          this.#sessions.get(session)?.scripts.set(scriptId, url);
        } else if (inner.method === "Debugger.paused") {
          const paused = this.#paused.get(session);
          this.#paused.delete(session);
          const frames = (inner.params?.callFrames ?? []) as CallFrame[];
          // let it go on at once; the frames are all we wanted
          this.#inThread(this.#socket!, session, "Debugger.resume", {}).catch(() => {});
          paused?.(frames);
        }
        return;
      }
    }
  }

  /** Pauses the thread of `session` for a moment: its call frames, innermost first. */
  async #pause(socket: WebSocket, session: string): Promise<CallFrame[] | null> {
    const paused = new Promise<CallFrame[]>((resolve) => this.#paused.set(session, resolve));
    try {
      await this.#inThread(socket, session, "Debugger.enable", {});
      await this.#inThread(socket, session, "Debugger.pause", {});
      return await within(paused, "pausing a thread");
    } catch {
      return null;
    } finally {
      this.#paused.delete(session);
      // a pause still pending is cancelled with the debugger: an idle thread never stops later
      await this.#inThread(socket, session, "Debugger.disable", {}).catch(() => {});
    }
  }

  #call(socket: WebSocket, method: string, params: object): Promise<Message> {
    const id = this.#nextId++;
    const answer = new Promise<Message>((resolve) => this.#replies.set(id, resolve));
    socket.send(JSON.stringify({ id, method, params }));
    return within(answer, method).then((reply) => {
      if (reply.error !== undefined) throw new Error(`${method}: ${reply.error.message}`);
      return reply;
    }).finally(() => this.#replies.delete(id));
  }

  /** Sends `method` to the thread of `session`; its answer. */
  async #inThread(
    socket: WebSocket,
    session: string,
    method: string,
    params: object,
  ): Promise<Message> {
    const id = this.#nextId++;
    const key = `${session}#${id}`;
    const answer = new Promise<Message>((resolve) => this.#threadReplies.set(key, resolve));
    try {
      await this.#call(socket, "NodeWorker.sendMessageToWorker", {
        sessionId: session,
        message: JSON.stringify({ id, method, params }),
      });
      const reply = await within(answer, method);
      if (reply.error !== undefined) throw new Error(`${method}: ${reply.error.message}`);
      return reply;
    } finally {
      this.#threadReplies.delete(key);
    }
  }
}

/** `promise`, or a rejection naming `what` after {@link STEP_MS}. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} took over ${STEP_MS} ms`)), STEP_MS);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
