import assert from "node:assert/strict";
import { serveDirectory } from "../helpers/static_server.ts";
import { runDeno } from "../helpers/run_deno.ts";

const repoRoot = new URL("../../", import.meta.url);

Deno.test("mod.ts imported from a URL computes a delayed graph on threads and processes", async () => {
  const server = serveDirectory(repoRoot);
  const dir = await Deno.makeTempDir();
  try {
    const script = `
      import { delayed } from "${server.url}mod.ts";
      const inc = (x) => x + 1;
      const add = (x, y) => x + y;
      const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
      console.log(JSON.stringify(await total.compute({ scheduler: "threads", numWorkers: 2 })));
      // worker subprocesses load their entry from the same URL
      console.log(JSON.stringify(await total.compute({ scheduler: "processes", numWorkers: 1 })));
    `;
    await Deno.writeTextFile(`${dir}/main.js`, script);
    const out = await runDeno(
      ["run", "-A", "--no-lock", "--no-config", `--reload=${server.url}`, "main.js"],
      dir,
    );
    assert.equal(out.code, 0, out.stderr);
    assert.equal(out.stdout.trim(), "5\n5");
  } finally {
    await server.close();
    await Deno.remove(dir, { recursive: true });
  }
});
