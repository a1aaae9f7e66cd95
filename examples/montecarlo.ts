/**
 * Seed 000: Monte Carlo pricing with random walks, built with `delayed`.
 *
 * n random walks of 1,460 days (four years); for each, max(0, mean(walk) − K); the answer is
 * the average of those. Each walk is a task, so walks run in parallel on the threads (or the
 * cluster when a Client is connected).
 *
 *   deno run -A examples/montecarlo.ts [walks] [sync|threads]
 */

import { delayed } from "../mod.ts";

/** One price path: daily returns drawn from a normal distribution (Box–Muller). */
export function randomWalk(s0: number, mu: number, sigma: number, days: number, seed: number) {
  // a small seeded generator (mulberry32) keeps every walk reproducible on any thread
  let state = seed | 0;
  const uniform = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (((t ^ (t >>> 14)) >>> 0) + 1) / 4294967297;
  };
  const dt = 1 / 365;
  const prices = new Float64Array(days);
  prices[0] = s0;
  for (let i = 1; i < days; i++) {
    const normal = Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
    const e = mu * dt + sigma * Math.sqrt(dt) * normal;
    prices[i] = prices[i - 1] * (1 + e);
  }
  return prices;
}

/** The mean of a path. */
export function average(values: readonly number[] | Float64Array): number {
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i];
  return sum / values.length;
}

/** The option's payoff for one path's average price. */
export function payoff(mean: number, strike: number): number {
  return Math.max(0, mean - strike);
}

/** The lazy Monte Carlo estimate over `n` walks. */
export function monteCarlo(n: number, { s0 = 100, mu = 0.02, sigma = 0.2, strike = 100 } = {}) {
  const days = 365 * 4;
  const payoffs = [];
  for (let i = 0; i < n; i++) {
    const walk = delayed(randomWalk, { pure: true })(s0, mu, sigma, days, i + 1);
    payoffs.push(delayed(payoff, { pure: true })(delayed(average, { pure: true })(walk), strike));
  }
  return delayed(average, { pure: true })(payoffs);
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 1000);
  const scheduler = (Deno.args[1] ?? "threads") as "sync" | "threads";
  const start = performance.now();
  const value = await monteCarlo(n).compute({ scheduler });
  const seconds = (performance.now() - start) / 1000;
  console.log(
    `Monte Carlo, ${n} walks on ${scheduler}: ${value.toFixed(4)} in ${seconds.toFixed(3)} s`,
  );
}
