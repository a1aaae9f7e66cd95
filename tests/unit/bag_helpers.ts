/**
 * Shared by the bag tests: seeded random data and the schedulers every property runs on.
 */

/** The local schedulers every bag property is checked on. */
export const schedulers = ["sync", "threads"] as const;

/** A deterministic pseudo-random generator (mulberry32) returning numbers in [0, 1). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [low, high]. */
export function randomInt(random: () => number, low: number, high: number): number {
  return low + Math.floor(random() * (high - low + 1));
}

/** A GitHub-like event record. */
export interface EventRecord {
  id: number;
  type: string;
  repo: { name: string };
  actor: { login: string };
  size: number;
  tags: string[];
}

const TYPES = ["PushEvent", "WatchEvent", "IssuesEvent", "ForkEvent", "CreateEvent"];

/** `n` random records with few distinct types, repos and actors, so groups repeat. */
export function randomRecords(random: () => number, n: number): EventRecord[] {
  const out: EventRecord[] = [];
  for (let id = 0; id < n; id++) {
    const org = random() < 0.3 ? "jupyter" : `org${randomInt(random, 0, 4)}`;
    out.push({
      id,
      type: TYPES[randomInt(random, 0, TYPES.length - 1)],
      repo: { name: `${org}/repo${randomInt(random, 0, 6)}` },
      actor: { login: `user${randomInt(random, 0, 9)}` },
      size: Math.round((random() - 0.3) * 1000) / 10,
      tags: Array.from({ length: randomInt(random, 0, 3) }, () => `t${randomInt(random, 0, 5)}`),
    });
  }
  return out;
}

/** Equal within a relative tolerance (NaN equals NaN). */
export function close(actual: number, expected: number, tolerance = 1e-9): boolean {
  if (Number.isNaN(expected)) return Number.isNaN(actual);
  return Math.abs(actual - expected) <= tolerance * Math.max(1, Math.abs(expected));
}
