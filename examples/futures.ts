/**
 * The futures tutorial of seed 004 ("dask.distributed - Parallel Processing in Python") in
 * TypeScript, on a LocalCluster: submit, map, gather, scatter, Future methods, asCompleted,
 * wait and fireAndForget. `time.sleep(1)` becomes a shorter `sleepMs`.
 *
 *   deno run -A examples/futures.ts            (100 ms tasks)
 *   deno run -A examples/futures.ts 1000       (1 s tasks, as the tutorial)
 *
 * @module
 */

import { asCompleted, Client, fireAndForget, type Future, wait } from "../mod.ts";

/** `x ** y` after a pause; throws for a non-number power, as Python's `**` does. */
const slowPow = async (x: number, y: number, sleepMs: number) => {
  await new Promise((resolve) => setTimeout(resolve, sleepMs));
  if (typeof y !== "number") {
    throw new TypeError(`unsupported operand type(s) for **: 'number' and '${typeof y}'`);
  }
  return x ** y;
};

/** `x + y` after a pause. */
const slowAdd = async (x: number, y: number, sleepMs: number) => {
  await new Promise((resolve) => setTimeout(resolve, sleepMs));
  return x + y;
};

const seconds = (start: number) => `${((performance.now() - start) / 1000).toFixed(2)} s`;
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** Runs the tutorial's examples on `client`, printing what each computes and how long it took. */
export async function futuresTutorial(client: Client, sleepMs = 100): Promise<void> {
  console.log(`Example 1: submit (each task sleeps ${sleepMs} ms)`);
  const res = client.submit(slowPow, 10, 10, sleepMs);
  console.log(" ", res);
  console.log("  result:", await res.result(), "→", res);

  console.log("Example 2: submit in a loop");
  let start = performance.now();
  const powersOf10 = range(1, 11).map((i) => client.submit(slowPow, i, 10, sleepMs));
  console.log("  ", await Promise.all(powersOf10.map((f) => f.result())), seconds(start));

  console.log("Example 3: submit with if/else");
  start = performance.now();
  const powers = range(1, 11).map((i) =>
    i % 2 === 0 ? client.submit(slowPow, i, 2, sleepMs) : client.submit(slowAdd, i, 1, sleepMs)
  );
  console.log("  ", await Promise.all(powers.map((f) => f.result())), seconds(start));

  console.log("Example 4: map");
  start = performance.now();
  const mapped = client.map(slowAdd, [1, 2, 3, 4, 5], [5, 4, 3, 2, 1], Array(5).fill(sleepMs));
  console.log("  ", await Promise.all(mapped.map((f) => f.result())), seconds(start));

  console.log("Example 5: gather");
  start = performance.now();
  const futures = range(1, 11).map((i) => client.submit(slowPow, i, 5, sleepMs));
  console.log("  ", await client.gather(futures), seconds(start));

  console.log("Example 6: scatter");
  const dataFutures = client.scatter([1, 2, 3, 4, 5, 6, 7, 8]);
  await wait(dataFutures);
  console.log("  ", dataFutures.slice(0, 2), "...");
  start = performance.now();
  const sums = range(0, 4).map((i) =>
    client.submit(slowAdd, dataFutures[2 * i], dataFutures[2 * i + 1], sleepMs)
  );
  console.log("  ", await client.gather(sums), seconds(start));

  console.log("Example 7: Future methods");
  console.log("  status:", res.status, "done:", res.done());
  await res.cancel();
  console.log("  cancelled:", res.cancelled());
  await res.result().catch((error) => console.log(`  result() throws ${error.name}`));
  const failing = client.submit(slowPow, 10, "0.5" as unknown as number, sleepMs);
  console.log("  exception:", String(await failing.exception()));
  console.log("  traceback:", (await failing.traceback())?.split("\n")[1]?.trim());
  await failing.retry();
  await failing.exception();
  console.log("  after retry:", failing.status);
  const kept = client.submit(slowPow, 10, 5, sleepMs);
  console.log("  result:", await kept);
  kept.release();

  console.log("Example 8: asCompleted");
  start = performance.now();
  const mixed = range(1, 31).map((i) =>
    client.submit(slowPow, i, i % 2 === 0 ? 2 : 5, i % 2 === 0 ? sleepMs : 2 * sleepMs)
  );
  const inOrder: number[] = [];
  for await (const future of asCompleted(mixed)) inOrder.push(await future);
  console.log("  first ten to finish:", inOrder.slice(0, 10), seconds(start));

  console.log("Example 9: wait");
  start = performance.now();
  const squares = range(1, 11).map((i) => client.submit(slowPow, i, 2, sleepMs));
  const { done, notDone } = await wait(squares, { returnWhen: "ALL_COMPLETED" });
  console.log(`   done: ${done.size}, not done: ${notDone.size}`, seconds(start));

  console.log("Example 10: fireAndForget");
  const dir = await Deno.makeTempDir({ prefix: "futures-example-" });
  const saveDay = async (path: string, day: number) => {
    const rows = Array.from({ length: 24 }, (_, h) => `2020-01-${day} ${h}:00,${(h * 7) % 50}`);
    await Deno.writeTextFile(path, "time,Temperature\n" + rows.join("\n"));
  };
  const saves: Future<void>[] = range(1, 31).map((day) =>
    client.submit(saveDay, `${dir}/Day ${day}.csv`, day)
  );
  for (const future of saves) fireAndForget(future);
  saves.forEach((future) => future.release()); // nobody holds them: they still run
  let files = 0;
  for (let tries = 0; tries < 200 && files < 30; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 25));
    files = [...Deno.readDirSync(dir)].length;
  }
  console.log(`   ${files} files written to ${dir}`);
  await Deno.remove(dir, { recursive: true });
}

if (import.meta.main) {
  const sleepMs = Number(Deno.args[0] ?? 100);
  const start = performance.now();
  await using client = await Client.local({ nWorkers: 4, threadsPerWorker: 4 });
  console.log(`LocalCluster up in ${seconds(start)}: ${client.schedulerAddress}`);
  await futuresTutorial(client, sleepMs);
}
