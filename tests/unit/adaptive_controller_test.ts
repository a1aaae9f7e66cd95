/**
 * The adaptive controller's decisions (deploy/adaptive.ts) on scripted scheduler answers: up at
 * once, down only after `waitCount` consecutive recommendations, clamped to [minimum, maximum].
 */
import assert from "node:assert/strict";
import { Adaptive, type AdaptiveHost } from "../../deploy/adaptive.ts";

type Answer = { target: number; toClose: string[] };

/** A host whose scheduler gives `answers` in turn (the last one forever) and records actions. */
function scripted(answers: Answer[], start: string[] = []) {
  let workers = [...start];
  let next = 0;
  const actions: string[] = [];
  let asked = 0;
  const host: AdaptiveHost = {
    request: <T>() => {
      asked++;
      return Promise.resolve(answers[Math.min(next++, answers.length - 1)] as T);
    },
    workers: () => workers,
    threadsPerWorker: 1,
    scaleUp: (n) => {
      actions.push(`up ${n}`);
      while (workers.length < n) workers.push(`w${workers.length}`);
      return Promise.resolve();
    },
    scaleDown: (names) => {
      actions.push(`down ${names.join(",")}`);
      workers = workers.filter((w) => !names.includes(w));
      return Promise.resolve();
    },
    log: () => {},
  };
  return { host, actions, asked: () => asked, workers: () => workers };
}

async function steps(count: () => number, n: number): Promise<void> {
  while (count() < n) await new Promise((r) => setTimeout(r, 2));
  await new Promise((r) => setTimeout(r, 5));
}

Deno.test("scales up at once, clamped to the maximum", async () => {
  const s = scripted([{ target: 50, toClose: [] }]);
  const adaptive = new Adaptive(s.host, { maximum: 3, interval: 0.001 });
  await steps(s.asked, 3);
  adaptive.stop();
  await adaptive.idle;
  assert.deepEqual(s.actions, ["up 3"]);
});

Deno.test("retires a worker only after waitCount recommendations in a row", async () => {
  const close = { target: 1, toClose: ["w1"] };
  const keep = { target: 2, toClose: [] };
  // two votes, a break, then three votes
  const settled = { target: 1, toClose: [] };
  const s = scripted([close, close, keep, close, close, close, settled], ["w0", "w1"]);
  const adaptive = new Adaptive(s.host, { waitCount: 3, interval: 0.001 });
  await steps(s.asked, 8);
  adaptive.stop();
  await adaptive.idle;
  assert.deepEqual(s.actions, ["down w1"]);
  assert.equal(adaptive.history.length, 1);
});

Deno.test("never below the minimum, and only its own workers", async () => {
  const s = scripted([{ target: 0, toClose: ["w0", "someone-else", "w1"] }], ["w0", "w1"]);
  const adaptive = new Adaptive(s.host, { minimum: 1, waitCount: 1, interval: 0.001 });
  await steps(s.asked, 3);
  adaptive.stop();
  await adaptive.idle;
  assert.deepEqual(s.actions, ["down w0"]);
  assert.deepEqual(s.workers(), ["w1"]);
});

Deno.test("options are checked", () => {
  const s = scripted([{ target: 0, toClose: [] }]);
  assert.throws(() => new Adaptive(s.host, { minimum: 3, maximum: 2 }), /below minimum/);
  assert.throws(() => new Adaptive(s.host, { interval: 0 }), /seconds > 0/);
});
