/**
 * SlurmCluster against a real one-node Slurm the test configures and starts (tests/deploy/slurm.ts):
 * jobs submitted with sbatch register as workers, scale and adapt submit and cancel them, and no
 * job is left when the cluster closes.
 */
import assert from "node:assert/strict";
import { Client, SlurmCluster } from "../../mod.ts";
import { slurmAvailable, startSlurm } from "./slurm.ts";
import { makeTemporaryCertificates } from "../../deploy/temporary_certificates.ts";

const waitFor = async (what: string, done: () => Promise<boolean>, seconds = 120) => {
  const deadline = Date.now() + seconds * 1000;
  while (!await done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
};

/** A one-core worker per job on the test's Slurm, polled often. */
const onTestSlurm = (slurm: { dir: string; env: Record<string, string> }) => ({
  cores: 1,
  memory: "1GB",
  walltime: "00:10:00",
  logDirectory: `${slurm.dir}/logs`,
  env: slurm.env,
  schedulerHost: "127.0.0.1",
  dashboard: false,
  pollInterval: 0.5,
});

Deno.test({
  name:
    "SlurmCluster: scale submits jobs that become workers; adapt grows under load and shrinks when idle; close cancels every job",
  ignore: !slurmAvailable(),
  async fn() {
    await using slurm = await startSlurm();
    const cluster = await SlurmCluster.start(onTestSlurm(slurm));
    try {
      assert.match(cluster.jobScript(), /^#SBATCH --mem=954M$/m);
      await cluster.scale(2);
      assert.equal(Object.keys(cluster.jobIds).length, 2);
      assert.deepEqual((await slurm.jobs()).sort(), Object.values(cluster.jobIds).sort());
      await using client = await Client.connect(cluster, { setAsDefault: false });
      assert.deepEqual(await client.gather(client.map((x: number) => x + 1, [1, 2, 3])), [2, 3, 4]);
      const logs = cluster.logs();
      assert.ok(logs["worker-0"].some((l) => /^Worker at /.test(l)), JSON.stringify(logs));

      // Back to none: the jobs end.
      await cluster.scale(0);
      await waitFor("the jobs to end", async () => (await slurm.jobs()).length === 0);

      // Adapt: a load brings workers (jobs), idleness takes them away.
      const adaptive = cluster.adapt({
        minimum: 0,
        maximum: 2,
        targetDuration: 1,
        waitCount: 2,
        interval: 0.5,
      });
      const slow = (i: number) => {
        Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 30);
        return i;
      };
      const parts = client.map(slow, Array.from({ length: 300 }, (_, i) => i));
      const total = client.submit((xs: number[]) => xs.reduce((a, b) => a + b, 0), parts);
      let most = 0;
      await waitFor("2 workers", async () => {
        most = Math.max(most, (await client.workers()).length);
        return most === 2 || total.status !== "pending";
      });
      assert.equal(await total, (299 * 300) / 2);
      assert.equal(most, 2, JSON.stringify(adaptive.history));
      for (const f of [...parts, total]) f.release();
      await waitFor(
        "no workers and no jobs",
        async () => (await client.workers()).length === 0 && (await slurm.jobs()).length === 0,
      );
      assert.ok(adaptive.history.some((h) => h.action.startsWith("down")));
    } finally {
      await cluster.close();
    }
    assert.deepEqual(await slurm.jobs(), [], "close cancels every job");
  },
});

Deno.test({
  name:
    "SlurmCluster with security: jobs get the TLS files' paths and the token, and compute over tls://",
  ignore: !slurmAvailable(),
  async fn() {
    await using slurm = await startSlurm();
    await using certificates = await makeTemporaryCertificates();
    const cluster = await SlurmCluster.start({
      ...onTestSlurm(slurm),
      security: certificates.security,
    });
    try {
      assert.match(cluster.schedulerAddress, /^tls:\/\/127\.0\.0\.1:\d+$/);
      await cluster.scale(1);
      await using client = await Client.connect(cluster, { setAsDefault: false });
      assert.deepEqual(await client.gather(client.map((x: number) => x * 3, [1, 2])), [3, 6]);
      assert.match((await client.workers())[0].address, /^tls:\/\//);
    } finally {
      await cluster.close();
    }
  },
});
