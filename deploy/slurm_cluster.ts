/**
 * `SlurmCluster`: workers as Slurm jobs (`sbatch`, `scancel`, `squeue`), as dask-jobqueue's
 * `SLURMCluster`. The scheduler runs on this machine; see deploy/job_queue.ts.
 *
 * @module
 */

import { type JobCommands, JobQueueCluster, memoryBytes } from "./job_queue.ts";

/** Slurm's memory request: whole mebibytes, rounded up (`--mem=954M`). */
export function slurmMemory(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)}M`;
}

/**
 * Workers as Slurm jobs.
 *
 * @example
 * ```ts
 * import { Client, SlurmCluster } from "./mod.ts";
 *
 * await using cluster = await SlurmCluster.start({
 *   queue: "regular",
 *   account: "myproject",
 *   cores: 8,
 *   memory: "16GB",
 *   walltime: "01:00:00",
 *   jobExtraDirectives: ["--exclusive"],
 *   logDirectory: "/shared/logs",
 * });
 * console.log(cluster.jobScript());
 * cluster.adapt({ minimum: 0, maximum: 20 });
 * await using client = await Client.connect(cluster);
 * ```
 */
export class SlurmCluster extends JobQueueCluster {
  /** `#SBATCH` lines of one job. */
  protected override directives(name: string): string[] {
    const o = this.options;
    const lines = [`-J ${this.jobName}`, "-n 1", `--cpus-per-task=${o.cores ?? 1}`];
    lines.push(`--mem=${slurmMemory(memoryBytes(o.memory))}`);
    lines.push(`-t ${o.walltime ?? "00:30:00"}`);
    if (o.queue !== undefined) lines.push(`-p ${o.queue}`);
    if (o.account !== undefined) lines.push(`-A ${o.account}`);
    lines.push(`-o ${this.outputPattern(name)}`);
    lines.push(...(o.jobExtraDirectives ?? []));
    return lines.map((line) => `#SBATCH ${line}`);
  }

  /** sbatch / scancel / squeue. */
  protected override get commands(): JobCommands {
    return {
      submit: ["sbatch", "--parsable"],
      cancel: (ids) => ["scancel", ...ids],
      list: (ids) => ["squeue", "-h", "-o", "%i", "-j", ids.join(",")],
      parseJobId: (output) => /^(\d+)/.exec(output.trim())?.[1],
      // the submit environment, which holds it (whatever SBATCH_EXPORT says)
      exportEnv: () => ["--export=ALL"],
      parseList: (output) => new Set(output.split(/\s+/).filter((id) => /^\d+$/.test(id))),
    };
  }
}
