/** Seeded random graphs of `delayed` calls, for tests that compare schedulers. */

import { type Delayed, delayed, taskModule } from "../../mod.ts";
import { rng } from "../unit/bag_helpers.ts";

/** A node's value folded into a number, whatever its shape. */
function digest(value: unknown): number {
  if (typeof value === "number") return value;
  if (value instanceof Float64Array) return value.reduce((a, b) => (a * 31 + b) % 1000003, 7);
  if (Array.isArray(value)) {
    return value.reduce((a: number, b) => (a * 17 + digest(b)) % 1000003, 3);
  }
  const record = value as { total: number; tag: string };
  return (record.total + record.tag.length) % 1000003;
}

export function mixed(seed: number, ...xs: unknown[]): number {
  return xs.reduce((a: number, b) => (a * 31 + digest(b) + 7) % 1000003, seed);
}

export function thirds(seed: number, ...xs: unknown[]): Float64Array {
  return Float64Array.from([seed, ...xs.map(digest)], (v) => v / 3);
}

export function listed(seed: number, ...xs: unknown[]): number[] {
  return [seed, ...xs.map(digest)];
}

export function tagged(seed: number, ...xs: unknown[]): { total: number; tag: string } {
  return { total: xs.map(digest).reduce((a, b) => a + b, seed), tag: `n${seed}` };
}

/** The functions nodes apply, each a different kind of value; workers import this module. */
const kinds: ((seed: number, ...xs: unknown[]) => unknown)[] = Object.values(
  taskModule(import.meta.url, { mixed, thirds, listed, tagged }),
);

/**
 * A random DAG of `size` delayed calls, each of up to 3 earlier nodes, mixing numbers, typed
 * arrays, arrays and objects; returns its sinks (nodes nothing depends on).
 */
export function randomDag(seed: number, size: number): Delayed<unknown>[] {
  const random = rng(seed);
  const nodes: Delayed<unknown>[] = [];
  const used = new Set<number>();
  for (let i = 0; i < size; i++) {
    const fanIn = nodes.length === 0 ? 0 : Math.floor(random() * Math.min(4, nodes.length + 1));
    const inputs: Delayed<unknown>[] = [];
    for (let j = 0; j < fanIn; j++) {
      const k = Math.floor(random() * nodes.length);
      used.add(k);
      inputs.push(nodes[k]);
    }
    const kind = kinds[Math.floor(random() * kinds.length)];
    nodes.push(delayed(kind, { pure: true })(i, ...inputs));
  }
  return nodes.filter((_, i) => !used.has(i));
}
