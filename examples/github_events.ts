/**
 * The session of the seed post "Introducing Dask distributed" (2016), on GitHub-archive-like
 * data: hourly gzipped JSON-lines files, read with `bag.readText`, parsed, persisted, and
 * explored — event types, the number of events, then the activity of the `jupyter/`
 * organisation. Each answer is printed with its wall time.
 *
 *   deno run -A examples/github_events.ts [dir] [hours=12]
 *
 * Without files in `dir` (default: a folder in the system's temp dir), it first writes them
 * with examples/github_events_data.ts.
 *
 * @module
 */

import { bag, shutdownThreads } from "../mod.ts";
import { writeGithubArchive } from "./github_events_data.ts";

interface GithubEvent {
  type: string;
  repo: { name: string };
  actor: { login: string };
}

/** Runs `work`, prints its answer (shortened) and wall time. */
async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const start = performance.now();
  const value = await work();
  const ms = performance.now() - start;
  let text = Deno.inspect(value, { depth: 4, breakLength: 100, iterableLimit: 25 });
  if (text.length > 1200) text = text.slice(0, 1200) + " …";
  console.log(
    `\n>>> ${label}\n${text}\n(${
      ms < 1000 ? `${ms.toFixed(0)} ms` : `${(ms / 1000).toFixed(2)} s`
    })`,
  );
  return value;
}

/** Runs the seed session on `hours` hourly files in `dir` (written first if missing). */
export async function githubEventsSession(
  dir = `${Deno.env.get("TMPDIR") ?? "/tmp"}/github-archive-sample`,
  hours = 12,
): Promise<void> {
  const existing = [...(() => {
    try {
      return Deno.readDirSync(dir);
    } catch {
      return [];
    }
  })()].filter((e) => e.name.endsWith(".json.gz"));
  if (existing.length === 0) {
    console.log(`writing ${hours} hourly files of events into ${dir} ...`);
    await writeGithubArchive(dir, { hours });
  }

  const text = bag.readText(`${dir}/*.json.gz`);
  console.log(`${text.npartitions} files, one partition each`);

  const records = await timed(
    "records = await readText('*.json.gz').map(JSON.parse).persist()",
    () => text.map((line: string) => JSON.parse(line) as GithubEvent).persist(),
  );
  await timed("records.take(1)", () => records.take(1));
  await timed(
    "records.pluck('type').frequencies()",
    () => records.pluck("type").frequencies().compute(),
  );
  await timed("records.count()", () => records.count().compute());

  const jupyter = await timed(
    "jupyter = await records.filter(d => d.repo.name.startsWith('jupyter/')).repartition(10).persist()",
    () =>
      records.filter((d: GithubEvent) => d.repo.name.startsWith("jupyter/")).repartition(10)
        .persist(),
  );
  await timed("jupyter.count()", () => jupyter.count().compute());
  await timed("jupyter.take(1)", () => jupyter.take(1));
  await timed(
    "jupyter.pluck('repo').pluck('name').distinct()",
    () => jupyter.pluck("repo").pluck("name").distinct().compute(),
  );
  await timed(
    "jupyter.pluck('actor').pluck('login').frequencies().topk(10, 1)",
    () => jupyter.pluck("actor").pluck("login").frequencies().topk(10, 1).compute(),
  );
}

if (import.meta.main) {
  await githubEventsSession(Deno.args[0], Deno.args[1] === undefined ? 12 : Number(Deno.args[1]));
  shutdownThreads();
}
