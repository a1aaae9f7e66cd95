/**
 * `PBSCluster` and `SGECluster`: workers as PBS (`qsub`, `qdel`, `qstat`) or Sun/Univa/Son of Grid
 * Engine jobs, as dask-jobqueue's `PBSCluster` and `SGECluster`. Same machinery as Slurm
 * (deploy/job_queue.ts), their own directives.
 *
 * @module
 */

import { type JobCommands, JobQueueCluster, memoryBytes } from "./job_queue.ts";

/** PBS/SGE memory: whole gigabytes when exact, else whole megabytes, rounded up (`4GB`, `954MB`). */
export function queueMemory(bytes: number): string {
  return bytes % 1e9 === 0 ? `${bytes / 1e9}GB` : `${Math.ceil(bytes / 1e6)}MB`;
}

/** Job ids `qstat` lists (the first column; PBS adds `.server`). */
function qstatIds(output: string): Set<string> {
  const ids = new Set<string>();
  for (const line of output.split("\n")) {
    const match = /^\s*(\d+)/.exec(line);
    if (match !== null) ids.add(match[1]);
  }
  return ids;
}

/**
 * Workers as PBS jobs.
 *
 * @example
 * ```ts
 * import { PBSCluster } from "./mod.ts";
 *
 * await using cluster = await PBSCluster.start({ queue: "normal", cores: 4, memory: "8GB" });
 * console.log(cluster.jobScript()); // #PBS -l select=1:ncpus=4:mem=8GB ...
 * ```
 */
export class PBSCluster extends JobQueueCluster {
  /** `#PBS` lines of one job. */
  protected override directives(name: string): string[] {
    const o = this.options;
    const lines = [`-N ${this.jobName}`];
    if (o.queue !== undefined) lines.push(`-q ${o.queue}`);
    if (o.account !== undefined) lines.push(`-A ${o.account}`);
    lines.push(`-l select=1:ncpus=${o.cores ?? 1}:mem=${queueMemory(memoryBytes(o.memory))}`);
    lines.push(`-l walltime=${o.walltime ?? "00:30:00"}`);
    lines.push(`-j oe`, `-o ${this.outputPattern(name)}`);
    lines.push(...(o.jobExtraDirectives ?? []));
    return lines.map((line) => `#PBS ${line}`);
  }

  /** Output goes to one file per worker (the job id is not expanded in it). */
  protected override outputPattern(name: string): string {
    return `${this.logDirectory}/${name}.out`;
  }

  /** qsub / qdel / qstat. */
  protected override get commands(): JobCommands {
    return {
      submit: ["qsub"],
      cancel: (ids) => ["qdel", ...ids],
      list: (ids) => ["qstat", ...ids],
      parseJobId: (output) => /(\d+)/.exec(output)?.[1],
      exportEnv: (name) => ["-v", name],
      parseList: qstatIds,
    };
  }
}

/**
 * Workers as Grid Engine jobs.
 *
 * @example
 * ```ts
 * import { SGECluster } from "./mod.ts";
 *
 * await using cluster = await SGECluster.start({ queue: "all.q", cores: 4, memory: "8GB" });
 * console.log(cluster.jobScript()); // #$ -pe smp 4 ...
 * ```
 */
export class SGECluster extends JobQueueCluster {
  /** `#$` lines of one job. */
  protected override directives(name: string): string[] {
    const o = this.options;
    const lines = [`-N ${this.jobName}`];
    if (o.queue !== undefined) lines.push(`-q ${o.queue}`);
    if (o.account !== undefined) lines.push(`-P ${o.account}`);
    const cores = o.cores ?? 1;
    if (cores > 1) lines.push(`-pe smp ${cores}`);
    // h_vmem is per slot in Grid Engine
    lines.push(`-l h_vmem=${queueMemory(Math.ceil(memoryBytes(o.memory) / cores))}`);
    lines.push(`-l h_rt=${o.walltime ?? "00:30:00"}`);
    lines.push("-cwd", "-j y", `-o ${this.outputPattern(name)}`);
    lines.push(...(o.jobExtraDirectives ?? []));
    return lines.map((line) => `#$ ${line}`);
  }

  /** Output goes to one file per worker (the job id is not expanded in it). */
  protected override outputPattern(name: string): string {
    return `${this.logDirectory}/${name}.out`;
  }

  /** qsub / qdel / qstat. */
  protected override get commands(): JobCommands {
    return {
      submit: ["qsub", "-terse"],
      cancel: (ids) => ["qdel", ...ids],
      list: () => ["qstat"],
      parseJobId: (output) => /(\d+)/.exec(output)?.[1],
      exportEnv: (name) => ["-v", name],
      parseList: qstatIds,
    };
  }
}
