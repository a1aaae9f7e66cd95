/**
 * Serves a folder over HTTP on loopback (a random port), as a web host would serve the
 * repository: `.ts` files as TypeScript. For tests that import `mod.ts` from a URL.
 */

const TYPES: Record<string, string> = {
  ".ts": "application/typescript; charset=utf-8",
  ".js": "application/javascript; charset=utf-8",
  ".json": "application/json",
  ".wasm": "application/wasm",
};

/** A running file server; `close()` stops it. */
export interface StaticServer {
  url: string;
  close(): Promise<void>;
}

/**
 * Serves `root` (a directory URL) on 127.0.0.1, under a path no other run uses: Deno caches
 * remote modules by URL for good, so a port that comes round again must not hand a later run
 * the files of an earlier one.
 */
export function serveDirectory(root: URL): StaticServer {
  const prefix = `/${crypto.randomUUID()}`;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const full = decodeURIComponent(new URL(req.url).pathname);
    if (!full.startsWith(`${prefix}/`)) return new Response("not found", { status: 404 });
    const path = full.slice(prefix.length);
    if (path.includes("..")) return new Response("bad path", { status: 400 });
    const file = new URL(`.${path}`, root);
    try {
      const body = await Deno.readFile(file);
      const ext = path.slice(path.lastIndexOf("."));
      return new Response(body, {
        headers: { "content-type": TYPES[ext] ?? "application/octet-stream" },
      });
    } catch {
      return new Response("not found", { status: 404 });
    }
  });
  const { port } = server.addr as Deno.NetAddr;
  return { url: `http://127.0.0.1:${port}${prefix}/`, close: () => server.shutdown() };
}
