/**
 * What a process costs its machine, for the dashboard's System page: CPU use since the last
 * reading and open file descriptors (I/O: reads the process's own accounting).
 *
 * @module
 */

import { cpuUsage } from "node:process";

/** CPU use of this process (all its threads) between readings, in % of one core. */
export class CpuMeter {
  #cpu = 0;
  #wall = 0;

  /** % of one core since the last call (0 on the first). */
  read(): number {
    const usage = cpuUsage();
    const cpu = usage.user + usage.system;
    const wall = performance.now() * 1000;
    const lastCpu = this.#cpu;
    const lastWall = this.#wall;
    this.#cpu = cpu;
    this.#wall = wall;
    return lastWall === 0 || wall <= lastWall ? 0 : (100 * (cpu - lastCpu)) / (wall - lastWall);
  }
}

/** Open file descriptors of this process (sockets included); null where the OS does not say. */
export function openFileCount(): number | null {
  try {
    let n = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) n++;
    return n;
  } catch {
    return null;
  }
}
