/**
 * The System page's data: CPU, memory and open files of the scheduler process (read here) and of
 * every worker process (from their heartbeats), and the scheduler host's memory and load.
 *
 * @module
 */

import { type CpuMeter, openFileCount } from "../../core/process_stats.ts";
import type { SchedulerState } from "../state.ts";
import { metric, wallClock } from "./views.ts";

/** One process: CPU in % of one core, resident bytes, open file descriptors. */
export interface ProcessRow {
  role: "scheduler" | "worker";
  name: string;
  address: string;
  pid: number | null;
  cpu: number | null;
  rss: number | null;
  openFiles: number | null;
}

export interface SystemView {
  now: number;
  host: {
    memoryTotal: number | null;
    memoryAvailable: number | null;
    loadAverage: number[] | null;
  };
  processes: ProcessRow[];
}

function hostMemory(): { memoryTotal: number | null; memoryAvailable: number | null } {
  try {
    const info = Deno.systemMemoryInfo();
    return { memoryTotal: info.total, memoryAvailable: info.available };
  } catch {
    return { memoryTotal: null, memoryAvailable: null };
  }
}

function loadAverage(): number[] | null {
  try {
    return Deno.loadavg();
  } catch {
    return null;
  }
}

/** O(workers); reads the scheduler process's own accounting (a directory listing of its fds). */
export function systemView(
  state: SchedulerState,
  schedulerAddress: string,
  cpu: CpuMeter,
  now = wallClock(),
): SystemView {
  const processes: ProcessRow[] = [{
    role: "scheduler",
    name: "scheduler",
    address: schedulerAddress,
    pid: Deno.pid,
    cpu: cpu.read(),
    rss: Deno.memoryUsage().rss,
    openFiles: openFileCount(),
  }];
  for (const w of state.workers.values()) {
    processes.push({
      role: "worker",
      name: w.name,
      address: w.address,
      pid: metric(w.metrics, "pid"),
      cpu: metric(w.metrics, "cpu"),
      rss: metric(w.metrics, "rss"),
      openFiles: metric(w.metrics, "openFiles"),
    });
  }
  return { now, host: { ...hostMemory(), loadAverage: loadAverage() }, processes };
}
