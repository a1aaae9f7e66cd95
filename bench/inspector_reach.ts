/**
 * What can stop a task thread's synchronous loop without an open inspector port (issue 20):
 * `deno run -A bench/inspector_reach.ts`. Prints which domains an in-process `node:inspector`
 * Session answers (a worker isolate is reachable only through `NodeWorker.*` or `Target.*`), then
 * opens the inspector on 127.0.0.1:0 for a moment and shows what `/json/list` tells anyone who
 * connects (the WebSocket path included). docs/architecture.md (Threads) records the answers.
 *
 * @module
 */
import inspector from "node:inspector";

const thread = new Worker(
  "data:text/javascript,self.name='probe';setInterval(()=>{},1000)",
  { type: "module", name: "probe" },
);
await new Promise((resolve) => setTimeout(resolve, 300));
const session = new inspector.Session();
session.connect();
const ask = (method: string, params: object) =>
  new Promise<string>((resolve) =>
    session.post(method, params, (error) => resolve(error ? String(error.message) : "answered"))
  );
const methods: [string, object][] = [
  ["Runtime.terminateExecution", {}],
  ["NodeWorker.enable", { waitForDebuggerOnStart: false }],
  ["Target.setAutoAttach", { autoAttach: true, waitForDebuggerOnStart: false, flatten: true }],
  ["Target.getTargets", {}],
  ["Target.setDiscoverTargets", { discover: true }],
];
for (const [method, params] of methods) {
  console.log(`in-process ${method}: ${await ask(method, params)}`);
}
session.disconnect();

inspector.open(0, "127.0.0.1", false);
const url = inspector.url()!;
const listed = await (await fetch(`http://${new URL(url).host}/json/list`)).text();
console.log(`inspector at ${url}`);
console.log(`/json/list reveals the path: ${listed.includes(new URL(url).pathname)}`);
inspector.close();
thread.terminate();
