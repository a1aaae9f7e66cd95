/**
 * The reductions of bags, as they run inside tasks: each partition's elements are pushed into
 * an accumulator that yields a small partial result; partials are combined in a tree of tasks;
 * the root turns the last partial into the answer.
 *
 * Specs are plain data (they travel in task arguments); user functions are named by their slot
 * in the task's function list (see partition_ops.ts).
 *
 * @module
 */

import { Counter, KeyedMap } from "./keyed_map.ts";
import type { TaskFunction } from "../../core/task.ts";

/**
 * How an element's key is found: the element itself (`null`), a field, a tuple of fields, or a
 * user function in slot `fn`.
 */
export type KeySpec =
  | null
  | { field: string | number }
  | { fields: (string | number)[] }
  | { fn: number };

/** A value that may be absent (`null`), told apart from a present `undefined`. */
export type Optional = { value: unknown } | null;

/** The data that selects and configures a reduction. */
export type ReducerSpec =
  | { kind: "count" | "sum" | "min" | "max" | "mean" | "any" | "all" }
  | { kind: "var"; ddof: number; sqrt: boolean }
  | { kind: "frequencies"; sort: boolean }
  | { kind: "topk"; k: number; key: KeySpec }
  | { kind: "distinct"; key: KeySpec }
  | {
    kind: "foldby";
    key: KeySpec;
    binop: number;
    initial: Optional;
    combine: number;
    combineInitial: Optional;
  }
  | { kind: "fold"; binop: number; combine: number; initial: Optional }
  | { kind: "reduction"; perPartition: number; aggregate: number; combine: number }
  | { kind: "sample" | "choices"; k: number };

/** Receives a partition's elements one by one. */
export interface Sink {
  push(element: unknown): void;
  /** No more elements. */
  end(): void;
}

/** A sink that yields a value once its elements are all in. */
export interface Accumulator extends Sink {
  result(): unknown;
}

/** One reduction: per-partition accumulators, then combining partials up a tree. */
export interface Reducer {
  /** A fresh accumulator for one partition; `isLast` marks the bag's last partition. */
  accumulate(isLast: boolean): Accumulator;
  /** Partials of sibling tasks → one partial. `isLast`: this is the root of the tree. */
  combine(partials: unknown[], isLast: boolean): unknown;
  /** The root's partial → the answer. */
  finish(partial: unknown): unknown;
}

/** The function reading an element's key. */
export function keyGetter(spec: KeySpec, fns: readonly TaskFunction[]): (x: unknown) => unknown {
  if (spec === null) return (x) => x;
  if ("fn" in spec) return fns[spec.fn] as (x: unknown) => unknown;
  if ("field" in spec) {
    const field = spec.field;
    return (x) => (x as Record<string | number, unknown>)[field];
  }
  const fields = spec.fields;
  return (x) => fields.map((f) => (x as Record<string | number, unknown>)[f]);
}

/** A private copy of an initial value, so accumulators that mutate it do not share it. */
function freshCopy(value: unknown): unknown {
  return typeof value === "object" && value !== null ? structuredClone(value) : value;
}

/** Accumulates a running value with `step`; partial is the value itself. */
function scalar(
  initial: unknown,
  step: (state: unknown, x: unknown) => unknown,
  combine: (partials: unknown[]) => unknown,
  finish: (partial: unknown) => unknown = (p) => p,
): Reducer {
  return {
    accumulate() {
      let state = initial;
      return {
        push(x) {
          state = step(state, x);
        },
        end() {},
        result: () => state,
      };
    },
    combine: (partials) => combine(partials),
    finish,
  };
}

/** Partials of optional values: `[]` (no element) or `[value]`. */
function optionalValue(
  step: (state: unknown, x: unknown) => unknown,
  combine: (a: unknown, b: unknown) => unknown,
  emptyMessage: string,
  initial: Optional = null,
): Reducer {
  return {
    accumulate(isLast) {
      let has = false;
      let state: unknown;
      return {
        push(x) {
          if (has) {
            state = step(state, x);
          } else {
            state = initial === null ? x : step(freshCopy(initial.value), x);
            has = true;
          }
        },
        end() {},
        // the last partition stands for an empty bag, so a given initial value answers it
        result: () => has ? [state] : isLast && initial !== null ? [freshCopy(initial.value)] : [],
      };
    },
    combine(partials) {
      let has = false;
      let state: unknown;
      for (const p of partials as unknown[][]) {
        if (p.length === 0) continue;
        state = has ? combine(state, p[0]) : p[0];
        has = true;
      }
      return has ? [state] : [];
    },
    finish(partial) {
      const p = partial as unknown[];
      if (p.length === 0) throw new Error(emptyMessage);
      return p[0];
    },
  };
}

function sumOf(partials: unknown[]): unknown {
  let total = 0 as unknown as number;
  for (const p of partials) total += p as number;
  return total;
}

/** Partial of mean and variance: `[n, mean, m2]` (Welford; combined with Chan's formula). */
type Moments = [number, number, number];

function combineMoments(a: Moments, b: Moments): Moments {
  const n = a[0] + b[0];
  if (b[0] === 0) return a;
  if (a[0] === 0) return b;
  const delta = b[1] - a[1];
  return [n, a[1] + (delta * b[0]) / n, a[2] + b[2] + (delta * delta * a[0] * b[0]) / n];
}

function moments(finish: (m: Moments) => number): Reducer {
  return {
    accumulate() {
      let n = 0, mean = 0, m2 = 0;
      return {
        push(x) {
          const v = x as number;
          n++;
          const delta = v - mean;
          mean += delta / n;
          m2 += delta * (v - mean);
        },
        end() {},
        result: (): Moments => [n, mean, m2],
      };
    },
    combine: (partials) => (partials as Moments[]).reduce(combineMoments, [0, 0, 0]),
    finish: (partial) => finish(partial as Moments),
  };
}

/**
 * Partials of frequencies are `[keys, counts]`, two parallel arrays (cheaper to build, send and
 * merge than a `[key, count]` pair per key); the answer is the pairs.
 */
function frequencies(sort: boolean): Reducer {
  const merge = (partials: unknown[]): [unknown[], number[]] => {
    const counter = new Counter();
    for (const [keys, counts] of partials as [unknown[], number[]][]) {
      for (let i = 0; i < keys.length; i++) counter.add(keys[i], counts[i]);
    }
    return [counter.keys, counter.counts];
  };
  return {
    accumulate() {
      const counter = new Counter();
      return {
        push(x) {
          counter.add(x, 1);
        },
        end() {},
        result: () => [counter.keys, counter.counts],
      };
    },
    combine: merge,
    finish(partial) {
      const [keys, counts] = partial as [unknown[], number[]];
      const pairs = new Array<[unknown, number]>(keys.length);
      for (let i = 0; i < pairs.length; i++) pairs[i] = [keys[i], counts[i]];
      return sort ? pairs.sort((a, b) => b[1] - a[1]) : pairs;
    },
  };
}

/** Python's ordering of keys: numbers and strings as `<` does, arrays (tuples) item by item. */
export function compareKeys(a: unknown, b: unknown): number {
  if (Array.isArray(a) && Array.isArray(b)) {
    const n = Math.min(a.length, b.length);
    for (let i = 0; i < n; i++) {
      const c = compareKeys(a[i], b[i]);
      if (c !== 0) return c;
    }
    return a.length - b.length;
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Descending by key; `sort` is stable, so ties keep the order elements came in. */
function byKeyDescending(a: { key: unknown }, b: { key: unknown }): number {
  return compareKeys(b.key, a.key);
}

function topk(k: number, key: (x: unknown) => unknown): Reducer {
  const largest = (items: unknown[]) => {
    const keyed = items.map((item) => ({ key: key(item), item }));
    keyed.sort(byKeyDescending);
    const out = new Array(Math.min(k, keyed.length));
    for (let i = 0; i < out.length; i++) out[i] = keyed[i].item;
    return out;
  };
  return {
    accumulate() {
      // keep at most 2k candidates, cutting back to the k largest: O(n log k) overall
      const candidates: { key: unknown; item: unknown }[] = [];
      return {
        push(item) {
          candidates.push({ key: key(item), item });
          if (candidates.length >= 2 * k + 16) {
            candidates.sort(byKeyDescending);
            candidates.length = k;
          }
        },
        end() {
          candidates.sort(byKeyDescending);
          if (candidates.length > k) candidates.length = k;
        },
        result: () => candidates.map((c) => c.item),
      };
    },
    combine: (partials) => largest((partials as unknown[][]).flat()),
    finish: (partial) => partial,
  };
}

function distinct(key: (x: unknown) => unknown): Reducer {
  return {
    accumulate() {
      const seen = new KeyedMap<unknown>();
      return {
        push(x) {
          seen.upsert(key(x), () => x);
        },
        end() {},
        result: () => seen.entries.map((e) => e.value),
      };
    },
    combine(partials) {
      const seen = new KeyedMap<unknown>();
      for (const items of partials as unknown[][]) {
        for (const x of items) seen.upsert(key(x), () => x);
      }
      return seen.entries.map((e) => e.value);
    },
    finish: (partial) => partial,
  };
}

function foldby(
  key: (x: unknown) => unknown,
  binop: TaskFunction,
  initial: Optional,
  combine: TaskFunction,
  combineInitial: Optional,
): Reducer {
  return {
    accumulate() {
      const groups = new KeyedMap<unknown>();
      return {
        push(x) {
          const k = key(x);
          const entry = groups.get(k);
          if (entry !== undefined) entry.value = binop(entry.value, x);
          else groups.upsert(k, () => initial === null ? x : binop(freshCopy(initial.value), x));
        },
        end() {},
        result: () => groups.pairs(),
      };
    },
    combine(partials) {
      const groups = new KeyedMap<unknown>();
      for (const pairs of partials as [unknown, unknown][][]) {
        for (const [k, v] of pairs) {
          const entry = groups.get(k);
          if (entry !== undefined) entry.value = combine(entry.value, v);
          else {
            groups.upsert(
              k,
              () => combineInitial === null ? v : combine(freshCopy(combineInitial.value), v),
            );
          }
        }
      }
      return groups.pairs();
    },
    finish: (partial) => partial,
  };
}

/** `reduction(perPartition, aggregate)` with Dask's rules for empty partitions. */
function userReduction(
  perPartition: TaskFunction,
  aggregate: TaskFunction,
  combine: TaskFunction,
): Reducer {
  return {
    accumulate(isLast) {
      const items: unknown[] = [];
      return {
        push(x) {
          items.push(x);
        },
        end() {},
        // empty partitions are left out, except the last, so the answer always has an input
        result: () => items.length > 0 || isLast ? [perPartition(items)] : [],
      };
    },
    combine(partials, isLast) {
      const values: unknown[] = [];
      for (const p of partials as unknown[][]) if (p.length > 0) values.push(p[0]);
      if (values.length === 0 && !isLast) return [];
      return [(isLast ? aggregate : combine)(values)];
    },
    finish: (partial) => (partial as unknown[])[0],
  };
}

/** `m` elements of `items` chosen uniformly without replacement (partial Fisher–Yates). */
function randomSubset(items: unknown[], m: number): unknown[] {
  const pool = items.slice();
  for (let i = 0; i < m; i++) {
    const j = i + Math.floor(Math.random() * (pool.length - i));
    const t = pool[i];
    pool[i] = pool[j];
    pool[j] = t;
  }
  pool.length = m;
  return pool;
}

/** Partial of `sample`: `[items, n]`, a uniform sample of min(k, n) of n elements. */
type SamplePartial = [unknown[], number];

/**
 * Two uniform samples → a uniform sample of their union: how many come from each side follows
 * the hypergeometric law (drawn one by one), then each side gives a uniform subset of its own.
 */
function mergeSamples(k: number, a: SamplePartial, b: SamplePartial): SamplePartial {
  const total = a[1] + b[1];
  const draws = Math.min(k, total);
  let remainingA = a[1], remainingB = b[1], fromA = 0;
  for (let d = 0; d < draws; d++) {
    if (Math.random() * (remainingA + remainingB) < remainingA) {
      fromA++;
      remainingA--;
    } else {
      remainingB--;
    }
  }
  const items = randomSubset(a[0], fromA);
  for (const x of randomSubset(b[0], draws - fromA)) items.push(x);
  return [items, total];
}

function sample(k: number): Reducer {
  return {
    accumulate() {
      const reservoir: unknown[] = [];
      let n = 0;
      return {
        push(x) {
          n++;
          if (reservoir.length < k) reservoir.push(x);
          else {
            const j = Math.floor(Math.random() * n);
            if (j < k) reservoir[j] = x;
          }
        },
        end() {},
        result: (): SamplePartial => [reservoir, n],
      };
    },
    combine: (partials) =>
      (partials as SamplePartial[]).reduce((a, b) => mergeSamples(k, a, b), [[], 0]),
    finish(partial) {
      const [items, n] = partial as SamplePartial;
      if (n < k) {
        throw new RangeError(
          `sample(${k}) of a bag of ${n} elements: a sample without replacement cannot be ` +
            `larger than the bag. Ask for at most ${n}, or use choices() to draw with replacement.`,
        );
      }
      return randomSubset(items, items.length); // reservoir order is not random: shuffle
    },
  };
}

function choices(k: number): Reducer {
  return {
    accumulate() {
      const items: unknown[] = [];
      return {
        push(x) {
          items.push(x);
        },
        end() {},
        result(): SamplePartial {
          if (items.length === 0) return [[], 0];
          const draws = new Array(k);
          for (let i = 0; i < k; i++) draws[i] = items[Math.floor(Math.random() * items.length)];
          return [draws, items.length];
        },
      };
    },
    combine(partials) {
      // draw j comes from partition i with probability n_i / N, using that partition's draw j
      const parts = (partials as SamplePartial[]).filter((p) => p[1] > 0);
      const total = parts.reduce((sum, p) => sum + p[1], 0);
      if (total === 0) return [[], 0];
      const draws = new Array(k);
      for (let j = 0; j < k; j++) {
        let r = Math.random() * total;
        let i = 0;
        while (i < parts.length - 1 && r >= parts[i][1]) r -= parts[i++][1];
        draws[j] = parts[i][0][j];
      }
      return [draws, total];
    },
    finish(partial) {
      const [draws, n] = partial as SamplePartial;
      if (n === 0) throw new RangeError(`choices(${k}) of an empty bag: there is nothing to draw.`);
      return draws;
    },
  };
}

/** The reducer a spec names, with user functions taken from `fns`. */
export function makeReducer(spec: ReducerSpec, fns: readonly TaskFunction[]): Reducer {
  switch (spec.kind) {
    case "count":
      return scalar(0, (n) => (n as number) + 1, sumOf);
    case "sum":
      return scalar(0, (total, x) => (total as number) + (x as number), sumOf);
    case "min":
      return optionalValue(
        (a, b) => (b as number) < (a as number) ? b : a,
        (a, b) => (b as number) < (a as number) ? b : a,
        "min() of an empty bag: there is no smallest element.",
      );
    case "max":
      return optionalValue(
        (a, b) => (b as number) > (a as number) ? b : a,
        (a, b) => (b as number) > (a as number) ? b : a,
        "max() of an empty bag: there is no largest element.",
      );
    case "mean":
      return moments(([n, mean]) => n === 0 ? NaN : mean);
    case "var": {
      const { ddof, sqrt } = spec;
      return moments(([n, , m2]) => {
        const variance = n - ddof > 0 ? m2 / (n - ddof) : NaN;
        return sqrt ? Math.sqrt(variance) : variance;
      });
    }
    case "any":
      return scalar(false, (seen, x) => (seen as boolean) || Boolean(x), (ps) => ps.some(Boolean));
    case "all":
      return scalar(true, (ok, x) => (ok as boolean) && Boolean(x), (ps) => ps.every(Boolean));
    case "frequencies":
      return frequencies(spec.sort);
    case "topk":
      return topk(spec.k, keyGetter(spec.key, fns));
    case "distinct":
      return distinct(keyGetter(spec.key, fns));
    case "foldby":
      return foldby(
        keyGetter(spec.key, fns),
        fns[spec.binop],
        spec.initial,
        fns[spec.combine],
        spec.combineInitial,
      );
    case "fold":
      return optionalValue(
        fns[spec.binop],
        fns[spec.combine],
        "fold() of an empty bag without an initial value: give { initial } or fold a non-empty bag.",
        spec.initial,
      );
    case "reduction":
      return userReduction(fns[spec.perPartition], fns[spec.aggregate], fns[spec.combine]);
    case "sample":
      return sample(spec.k);
    case "choices":
      return choices(spec.k);
  }
}
