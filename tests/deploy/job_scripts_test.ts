/** The job scripts Slurm, PBS and SGE clusters generate (no batch system needed). */
import assert from "node:assert/strict";
import { PBSCluster, SGECluster, SlurmCluster } from "../../mod.ts";
import { slurmMemory } from "../../deploy/slurm_cluster.ts";
import { queueMemory } from "../../deploy/pbs_cluster.ts";
import { WORKER_CLI } from "../../worker/options.ts";

const options = {
  queue: "regular",
  account: "proj42",
  cores: 4,
  memory: "8GB",
  walltime: "01:30:00",
  jobExtraDirectives: ["--exclusive"],
  jobScriptPrologue: ["module load deno", "source 'my env.sh'"],
  logDirectory: "/shared/logs",
  remoteDeno: "/opt/deno/bin/deno",
  workerOptions: { resources: { GPU: 1 } },
};

/** The worker command line of a script, and the flags it passes. */
function workerLine(script: string): { line: string; flags: string[] } {
  const line = script.split("\n").find((l) => l.startsWith("exec "))!;
  const args = line.slice(line.indexOf("worker/main.ts"));
  return { line, flags: [...args.matchAll(/ --([a-z-]+)/g)].map((m) => m[1]) };
}

Deno.test("Slurm job script: directives, prologue, worker with the job's cores and memory", () => {
  const script = new SlurmCluster(options).jobScript("worker-3");
  const lines = script.split("\n");
  assert.equal(lines[0], "#!/usr/bin/env bash");
  for (
    const directive of [
      "#SBATCH -J dask-worker",
      "#SBATCH -n 1",
      "#SBATCH --cpus-per-task=4",
      "#SBATCH --mem=7630M",
      "#SBATCH -t 01:30:00",
      "#SBATCH -p regular",
      "#SBATCH -A proj42",
      "#SBATCH -o /shared/logs/worker-3-%j.out",
      "#SBATCH --exclusive",
    ]
  ) assert.ok(lines.includes(directive), `${directive} missing from:\n${script}`);
  assert.ok(lines.indexOf("module load deno") < lines.findIndex((l) => l.startsWith("exec ")));
  const { line, flags } = workerLine(script);
  assert.match(
    line,
    /^exec \/opt\/deno\/bin\/deno run -A --unstable-worker-options --no-config \S+\/worker\/main\.ts /,
  );
  assert.match(line, / --name worker-3 --nthreads 4 --memory-limit 8000000000 /);
  assert.match(line, / --resources GPU=1 /);
  assert.match(line, / --death-timeout 60$/);
  const known = new Set(WORKER_CLI.options.map((o) => o.name));
  for (const flag of flags) assert.ok(known.has(flag), `--${flag} is not a worker option`);
});

Deno.test("skipped directives are left out", () => {
  const script = new SlurmCluster({ ...options, jobDirectivesSkip: ["--mem", "-A "] })
    .jobScript();
  assert.doesNotMatch(script, /--mem=|#SBATCH -A /);
  assert.match(script, /#SBATCH --cpus-per-task=4/);
});

Deno.test("PBS job script", () => {
  const script = new PBSCluster({ ...options, jobExtraDirectives: ["-l place=scatter"] })
    .jobScript("worker-0");
  for (
    const directive of [
      "#PBS -N dask-worker",
      "#PBS -q regular",
      "#PBS -A proj42",
      "#PBS -l select=1:ncpus=4:mem=8GB",
      "#PBS -l walltime=01:30:00",
      "#PBS -j oe",
      "#PBS -o /shared/logs/worker-0.out",
      "#PBS -l place=scatter",
    ]
  ) assert.ok(script.split("\n").includes(directive), `${directive} missing from:\n${script}`);
  assert.match(workerLine(script).line, / --nthreads 4 --memory-limit 8000000000 /);
});

Deno.test("SGE job script", () => {
  const script = new SGECluster({ ...options, jobExtraDirectives: [] }).jobScript("worker-1");
  for (
    const directive of [
      "#$ -N dask-worker",
      "#$ -q regular",
      "#$ -P proj42",
      "#$ -pe smp 4",
      "#$ -l h_vmem=2GB",
      "#$ -l h_rt=01:30:00",
      "#$ -cwd",
      "#$ -j y",
      "#$ -o /shared/logs/worker-1.out",
    ]
  ) assert.ok(script.split("\n").includes(directive), `${directive} missing from:\n${script}`);
});

Deno.test("memory formats and bad options", () => {
  assert.equal(slurmMemory(1e9), "954M");
  assert.equal(slurmMemory(2 ** 30), "1024M");
  assert.equal(queueMemory(4e9), "4GB");
  assert.equal(queueMemory(1.5e9), "1500MB");
  assert.throws(() => new SlurmCluster({ memory: "lots" }), /Invalid memory limit/);
  assert.throws(() => new SlurmCluster({ memory: "1GB", cores: 0 }), /cores must be/);
});

Deno.test("job scripts carry the TLS files' paths and never the token; temporary certificates are refused", () => {
  const security = { caFile: "/shared/ca.pem", cert: "/shared/node.pem", key: "/shared/key.pem" };
  const cluster = new SlurmCluster({
    ...options,
    authToken: "0123456789abcdef0123456789",
    security,
  });
  const script = cluster.jobScript("worker-0");
  assert.match(
    workerLine(script).line,
    / --tls-ca-file \/shared\/ca\.pem --tls-cert \/shared\/node\.pem --tls-key \/shared\/key\.pem$/,
  );
  assert.ok(!script.includes("0123456789abcdef0123456789"), "the token is not in the script");
  assert.equal(cluster.authToken, "0123456789abcdef0123456789");
  assert.ok((new PBSCluster(options).authToken ?? "").length >= 32, "a fresh token by default");
  assert.equal(new SGECluster({ ...options, authToken: false }).authToken, undefined);
  assert.throws(
    () => new SlurmCluster({ ...options, security: true as unknown as typeof security }),
    /not available for job-queue clusters/,
  );
});
