/**
 * Time from `cluster.scale(4)` to 4 registered workers, on a fresh cluster each round (median of
 * ROUNDS): LocalCluster, SSHCluster (through a real sshd on loopback, tests/deploy/sshd.ts) and
 * SlurmCluster (a one-node Slurm on loopback, tests/deploy/slurm.ts), beside Dask's LocalCluster
 * measured in the same run by bench/dask/deploy.py with /usr/bin/python3 (Debian's Dask 2022.12).
 * SSH and Slurm need root and their Debian packages; they are skipped without them, and so is
 * Dask without its package. dask-jobqueue is not packaged by Debian, so it has no row.
 *
 *   deno run -A bench/deploy.ts [rounds=3]
 */

import { LocalCluster, SlurmCluster, SSHCluster } from "../mod.ts";
import type { ClusterManager } from "../deploy/cluster.ts";
import { sshdAvailable, startSshd } from "../tests/deploy/sshd.ts";
import { slurmAvailable, startSlurm } from "../tests/deploy/slurm.ts";
import { report } from "./measure.ts";

const ROUNDS = Number(Deno.args[0] ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Seconds of `scale(4)` on fresh clusters made by `start`. */
async function scaleTimes(start: () => Promise<ClusterManager>): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const cluster = await start();
    try {
      const t0 = performance.now();
      await cluster.scale(4);
      times.push((performance.now() - t0) / 1000);
    } finally {
      await cluster.close();
    }
  }
  return times;
}

const line = (name: string, times: number[]) =>
  console.log(
    `${name.padEnd(58)} ${`${median(times).toFixed(2)} s`.padStart(14)}   rounds: ${
      times.map((t) => t.toFixed(2)).join(", ")
    }`,
  );

const results: Record<string, number[]> = {};
results.local = await scaleTimes(() =>
  LocalCluster.start({ nWorkers: 0, threadsPerWorker: 1, memoryLimit: "1GB" })
);
line("scale(4) → 4 workers: LocalCluster", results.local);

if (sshdAvailable()) {
  await using sshd = await startSshd();
  results.ssh = await scaleTimes(() =>
    SSHCluster.start({
      hosts: ["alpha", "beta"],
      nWorkers: 0,
      connectOptions: { configFile: sshd.configFile },
      workerOptions: { nthreads: 1, memoryLimit: "1GB" },
      schedulerOptions: { host: "127.0.0.1", port: 0, dashboard: false },
      remoteDeno: Deno.execPath(),
    })
  );
  line("scale(4) → 4 workers: SSHCluster (sshd on loopback)", results.ssh);
} else console.log("SSHCluster: skipped (needs root and openssh-server)");

if (slurmAvailable()) {
  await using slurm = await startSlurm();
  results.slurm = await scaleTimes(() =>
    SlurmCluster.start({
      cores: 1,
      memory: "500MB",
      logDirectory: `${slurm.dir}/logs`,
      env: slurm.env,
      schedulerHost: "127.0.0.1",
      dashboard: false,
      pollInterval: 0.5,
    })
  );
  line("scale(4) → 4 workers: SlurmCluster (one-node Slurm)", results.slurm);
} else console.log("SlurmCluster: skipped (needs root, slurm-wlm and munge)");

const dask = await new Deno.Command("/usr/bin/python3", {
  args: [new URL("./dask/deploy.py", import.meta.url).pathname, String(ROUNDS)],
  stdout: "piped",
  stderr: "piped",
}).output().catch(() => undefined);
if (dask?.success) {
  const times = JSON.parse(new TextDecoder().decode(dask.stdout)).local as number[];
  line("scale(4) → 4 workers: Dask 2022.12 LocalCluster (here, now)", times);
  const ratio = median(results.local) / median(times);
  report("LocalCluster / Dask's", ratio.toFixed(2), "≤ 0.5");
} else {
  console.log("Dask: skipped (no /usr/bin/python3 with dask.distributed)");
}
