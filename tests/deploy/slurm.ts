/**
 * A real one-node Slurm for tests: munged, slurmctld and slurmd (Debian's `munge` and `slurm-wlm`)
 * configured in a temp folder for this machine on loopback, with free ports and a munge key made
 * for the test. They run as root (as here). Everything stops, and the folder goes, on dispose.
 */
import { freePort, ManagedProcess } from "../helpers/cluster.ts";

const DAEMONS = {
  munged: "/usr/sbin/munged",
  slurmctld: "/usr/sbin/slurmctld",
  slurmd: "/usr/sbin/slurmd",
};

/** True when this machine can run the test Slurm (packages installed, running as root). */
export function slurmAvailable(): boolean {
  try {
    for (const path of Object.values(DAEMONS)) Deno.statSync(path);
    Deno.statSync("/usr/sbin/mungekey");
    return Deno.uid() === 0;
  } catch {
    return false;
  }
}

/** A running test Slurm. */
export interface TestSlurm extends AsyncDisposable {
  dir: string;
  /** Environment for sbatch/squeue/scancel: `SLURM_CONF`. */
  env: Record<string, string>;
  daemons: ManagedProcess[];
  /** Job ids Slurm still has. */
  jobs(): Promise<string[]>;
}

async function run(program: string, args: string[], env?: Record<string, string>): Promise<string> {
  const out = await new Deno.Command(program, { args, env, stdout: "piped", stderr: "piped" })
    .output();
  if (!out.success) {
    throw new Error(`${program} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Starts munged, slurmctld and slurmd; resolves once the node is idle. */
export async function startSlurm(): Promise<TestSlurm> {
  const dir = await Deno.makeTempDir({ prefix: "dask-deno-slurm-" });
  for (const sub of ["state", "spool", "log"]) await Deno.mkdir(`${dir}/${sub}`);
  await run("/usr/sbin/mungekey", ["-c", "-f", "-k", `${dir}/munge.key`]);
  await Deno.chmod(`${dir}/munge.key`, 0o400);
  const host = Deno.hostname().split(".")[0];
  // The node offers at least 8 CPUs whatever the machine has (config_overrides below), so a
  // few one-core jobs run at once on a small test machine.
  const cpus = Math.max(8, navigator.hardwareConcurrency || 1);
  const memoryMB = Math.floor(Deno.systemMemoryInfo().total / 2 ** 20 * 0.8);
  const conf = `${dir}/slurm.conf`;
  await Deno.writeTextFile(
    conf,
    [
      "ClusterName=dasktest",
      `SlurmctldHost=${host}(127.0.0.1)`,
      `SlurmctldPort=${freePort()}`,
      `SlurmdPort=${freePort()}`,
      "SlurmUser=root",
      "SlurmdUser=root",
      "AuthType=auth/munge",
      "CredType=cred/munge",
      `AuthInfo=socket=${dir}/munge.socket`,
      `StateSaveLocation=${dir}/state`,
      `SlurmdSpoolDir=${dir}/spool`,
      `SlurmctldPidFile=${dir}/slurmctld.pid`,
      `SlurmdPidFile=${dir}/slurmd.pid`,
      "ProctrackType=proctrack/linuxproc",
      "TaskPlugin=task/none",
      "JobAcctGatherType=jobacct_gather/none",
      "AccountingStorageType=accounting_storage/none",
      "SchedulerType=sched/builtin",
      "SelectType=select/cons_tres",
      "SelectTypeParameters=CR_Core_Memory",
      "MpiDefault=none",
      "ReturnToService=2",
      "SlurmdParameters=config_overrides",
      "InactiveLimit=0",
      "KillWait=5",
      "MinJobAge=2",
      `NodeName=${host} NodeAddr=127.0.0.1 CPUs=${cpus} RealMemory=${memoryMB} State=UNKNOWN`,
      "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP",
    ].join("\n") + "\n",
  );
  const env = { SLURM_CONF: conf };
  const daemons: ManagedProcess[] = [];
  const stop = async () => {
    // the daemons in reverse order; slurmd takes its job processes with it
    for (const daemon of [...daemons].reverse()) await daemon.stop(5000);
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    daemons.push(
      new ManagedProcess("munged", [
        "-F",
        "-f",
        `--socket=${dir}/munge.socket`,
        `--key-file=${dir}/munge.key`,
        `--log-file=${dir}/log/munged.log`,
        `--pid-file=${dir}/munged.pid`,
        `--seed-file=${dir}/munged.seed`,
      ], { program: DAEMONS.munged }),
    );
    await daemons[0].waitForLine(/Created \d+ work threads/);
    daemons.push(
      new ManagedProcess("slurmctld", ["-D", "-i", "-f", conf], {
        program: DAEMONS.slurmctld,
        env,
      }),
    );
    daemons.push(
      new ManagedProcess("slurmd", ["-D", "-f", conf, "-N", host], {
        program: DAEMONS.slurmd,
        env,
      }),
    );
    const deadline = Date.now() + 30_000;
    for (;;) {
      const state = await run("sinfo", ["-h", "-o", "%t"], env).catch(() => "");
      if (state.trim() === "idle") break;
      for (const daemon of daemons) {
        if (daemon.exited) throw new Error(`${daemon.label} exited:\n${daemon.output()}`);
      }
      if (Date.now() > deadline) {
        throw new Error(
          `the test Slurm node is not idle (${state.trim()}):\n` +
            daemons.map((d) => d.output()).join("\n"),
        );
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    dir,
    env,
    daemons,
    jobs: async () =>
      (await run("squeue", ["-h", "-o", "%i"], env)).split(/\s+/).filter((id) => id !== ""),
    [Symbol.asyncDispose]: stop,
  };
}
