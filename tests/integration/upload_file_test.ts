/**
 * `client.uploadFile` on real processes: a module written to a temporary file is imported by
 * tasks on the workers connected at the upload and on a worker started after it; a second
 * upload under the same name replaces it; a task importing a name never uploaded is told so.
 */

import assert from "node:assert/strict";
import { Client } from "../../mod.ts";
import { startCluster, startWorker } from "../helpers/cluster.ts";

/** A self-contained task reaching uploaded modules through the thread's global. */
const useHelper = async (name: string, x: number) => {
  const load = globalThis as unknown as {
    importUploaded(name: string): Promise<{ scale(x: number): number; label: string }>;
  };
  const helpers = await load.importUploaded(name);
  return `${helpers.label}:${helpers.scale(x)}`;
};

Deno.test("an uploaded module is imported by tasks, also on a worker that joins later", async () => {
  const dir = await Deno.makeTempDir();
  await using cluster = await startCluster({ nWorkers: 1, nthreads: 1 });
  await using client = await Client.connect(cluster.schedulerAddress, { setAsDefault: false });
  try {
    const path = `${dir}/scaling.ts`;
    await Deno.writeTextFile(
      path,
      `export const label: string = "v1";\nexport function scale(x: number): number { return 3 * x; }\n`,
    );
    assert.equal(await client.uploadFile(path), "scaling.ts");
    const on = (worker: string) => client.with({ workers: worker, pure: false });
    assert.equal(await on("w0").submit(useHelper, "scaling.ts", 2), "v1:6");

    // a worker that starts after the upload gets the module before its first task
    const late = await startWorker(cluster.schedulerAddress, { name: "late" });
    cluster.workers.push(late);
    assert.equal(await on("late").submit(useHelper, "scaling.ts", 5), "v1:15", cluster.logs());

    // uploading again under the same name replaces the module for later tasks
    await Deno.writeTextFile(
      path,
      `export const label = "v2";\nexport function scale(x: number) { return 4 * x; }\n`,
    );
    await client.uploadFile(path, { name: "scaling.ts" });
    assert.equal(await on("late").submit(useHelper, "scaling.ts", 5), "v2:20");

    await assert.rejects(
      async () => await on("w0").submit(useHelper, "missing.ts", 1),
      /No module named "missing.ts" was uploaded to this worker \(uploaded: scaling.ts\)/,
    );
    await assert.rejects(client.uploadFile(`${dir}/absent.ts`), /cannot read .*absent\.ts/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
