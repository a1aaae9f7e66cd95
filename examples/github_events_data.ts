/**
 * Writes GitHub-archive-like data: one gzipped, line-delimited JSON file per hour
 * (`2015-01-01-0.json.gz`, ...), with the event mix, record shape and skew of the real archive
 * (www.githubarchive.org) that the seed post "Introducing Dask distributed" explores: popular
 * repositories and users dominate, pushes are half the events, and a small `jupyter/`
 * organisation is active among them. Deterministic for a given seed.
 *
 *   deno run -A examples/github_events_data.ts <dir> [hours=24] [eventsPerHour=20000]
 *
 * @module
 */

/** What to generate. */
export interface ArchiveOptions {
  /** Hourly files to write, from 2015-01-01 00:00 UTC. */
  hours?: number;
  eventsPerHour?: number;
  seed?: number;
}

/** A random generator (mulberry32) in [0, 1). */
export function rng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Event types and their share of the archive (January 2015, from the seed post). */
const EVENT_MIX: [string, number][] = [
  ["PushEvent", 7028566],
  ["CreateEvent", 1651300],
  ["IssueCommentEvent", 1322509],
  ["WatchEvent", 1321546],
  ["IssuesEvent", 693363],
  ["PullRequestEvent", 680879],
  ["ForkEvent", 491256],
  ["DeleteEvent", 256987],
  ["PullRequestReviewCommentEvent", 214288],
  ["GollumEvent", 150861],
  ["CommitCommentEvent", 96468],
  ["MemberEvent", 69757],
  ["ReleaseEvent", 44312],
  ["PublicEvent", 14614],
];

/** Jupyter's repositories and most active people in the post, most active first. */
const JUPYTER_REPOS = [
  "jupyterhub",
  "nbgrader",
  "nbviewer",
  "jupyter_notebook",
  "jupyter-drive",
  "notebook",
  "docker-demo-images",
  "tmpnb",
  "jupyter_client",
  "dockerspawner",
  "colaboratory",
  "jupyter_core",
  "strata-sv-2015-tutorial",
  "jupyter_nbconvert",
  "configurable-http-proxy",
  "hubpress.io",
  "jupyter.github.io",
  "tmpnb-deploy",
  "nbconvert",
  "jupyter_qtconsole",
];
const JUPYTER_PEOPLE = [
  "rgbkrk",
  "minrk",
  "Carreau",
  "KesterTong",
  "jhamrick",
  "bollwyvl",
  "pkt",
  "ssanderson",
  "smashwilson",
  "ellisonbg",
  "takluyver",
  "fperez",
];
/** Share of events in jupyter/ repositories (the real archive has far fewer; kept visible). */
const JUPYTER_SHARE = 0.004;

const WORDS = ("fix add update remove refactor test docs readme build release bump version " +
  "support handle error config parser server client api cache memory thread worker scheduler " +
  "task graph array bag notebook kernel widget style layout typo merge branch pull request " +
  "issue feature improve speed clean move rename initial commit license travis ci").split(" ");

const SYLLABLES = "ka lo mi ne ru sa ta vi zo de fo gu hi ja be co ra ly".split(" ");

/** Draws from a Zipf-like law over `n` ranks (rank 0 most often). */
function zipf(random: () => number, n: number): number {
  // inverse of a continuous 1/x law: ranks spread over orders of magnitude
  return Math.min(n - 1, Math.floor(Math.exp(random() * Math.log(n + 1)) - 1));
}

function hex(random: () => number, length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += "0123456789abcdef"[Math.floor(random() * 16)];
  return out;
}

function sentence(random: () => number, words: number): string {
  const out: string[] = [];
  for (let i = 0; i < words; i++) out.push(WORDS[Math.floor(random() * WORDS.length)]);
  out[0] = out[0][0].toUpperCase() + out[0].slice(1);
  return out.join(" ");
}

function handle(random: () => number): string {
  let out = "";
  for (let i = 2 + Math.floor(random() * 3); i > 0; i--) {
    out += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
  }
  return out + (random() < 0.4 ? String(Math.floor(random() * 1000)) : "");
}

/** Pools of people and repositories shared by all files, made once per seed. */
class World {
  readonly users: string[] = [];
  readonly repos: string[] = [];
  readonly cumulative: number[] = [];
  readonly total: number;

  constructor(readonly random: () => number) {
    for (let i = 0; i < 20000; i++) this.users.push(handle(random));
    for (let i = 0; i < 40000; i++) {
      this.repos.push(`${this.users[zipf(random, this.users.length)]}/${handle(random)}`);
    }
    let sum = 0;
    for (const [, n] of EVENT_MIX) this.cumulative.push(sum += n);
    this.total = sum;
  }

  eventType(): string {
    const r = this.random() * this.total;
    let i = 0;
    while (this.cumulative[i] <= r) i++;
    return EVENT_MIX[i][0];
  }
}

function userRecord(login: string, id: number) {
  return {
    id,
    login,
    gravatar_id: "",
    url: `https://api.github.com/users/${login}`,
    avatar_url: `https://avatars.githubusercontent.com/u/${id}?`,
  };
}

function payloadOf(type: string, random: () => number, actor: string, repo: string) {
  const sha = () => hex(random, 40);
  switch (type) {
    case "PushEvent": {
      const size = 1 + Math.min(19, Math.floor(-Math.log(1 - random()) * 1.5));
      const commits = Array.from({ length: size }, () => {
        const id = sha();
        return {
          sha: id,
          author: { email: `${actor}@users.noreply.github.com`, name: actor },
          message: sentence(random, 3 + Math.floor(random() * 8)),
          distinct: random() < 0.95,
          url: `https://api.github.com/repos/${repo}/commits/${id}`,
        };
      });
      return {
        push_id: 536740396 + Math.floor(random() * 1e7),
        size,
        distinct_size: size,
        ref: random() < 0.8 ? "refs/heads/master" : `refs/heads/${WORDS[Math.floor(random() * 9)]}`,
        head: commits[size - 1].sha,
        before: sha(),
        commits,
      };
    }
    case "CreateEvent":
    case "DeleteEvent": {
      const refType = random() < 0.6 ? "branch" : random() < 0.5 ? "tag" : "repository";
      return {
        ref: refType === "repository" ? null : `${WORDS[Math.floor(random() * WORDS.length)]}`,
        ref_type: refType,
        master_branch: "master",
        description: sentence(random, 4),
        pusher_type: "user",
      };
    }
    case "WatchEvent":
      return { action: "started" };
    case "IssuesEvent":
    case "IssueCommentEvent": {
      const issue = {
        number: 1 + Math.floor(random() * 2000),
        title: sentence(random, 5),
        state: random() < 0.7 ? "open" : "closed",
        comments: Math.floor(random() * 20),
        body: sentence(random, 10 + Math.floor(random() * 30)),
      };
      return type === "IssuesEvent" ? { action: random() < 0.6 ? "opened" : "closed", issue } : {
        action: "created",
        issue,
        comment: { id: Math.floor(random() * 1e8), body: sentence(random, 12) },
      };
    }
    case "PullRequestEvent":
      return {
        action: random() < 0.55 ? "opened" : "closed",
        number: 1 + Math.floor(random() * 800),
        pull_request: {
          title: sentence(random, 6),
          state: "open",
          additions: Math.floor(random() * 500),
          deletions: Math.floor(random() * 200),
          changed_files: 1 + Math.floor(random() * 20),
        },
      };
    case "ForkEvent":
      return {
        forkee: {
          id: Math.floor(random() * 3e7),
          full_name: `${actor}/${repo.split("/")[1]}`,
          private: false,
        },
      };
    case "PullRequestReviewCommentEvent":
      return {
        action: "created",
        comment: {
          body: sentence(random, 8),
          path: "src/main.py",
          position: Math.floor(random() * 90),
        },
      };
    case "GollumEvent":
      return { pages: [{ page_name: "Home", title: "Home", action: "edited", sha: sha() }] };
    case "CommitCommentEvent":
      return { comment: { body: sentence(random, 7), commit_id: sha() } };
    case "MemberEvent":
      return { member: { login: handle(random) }, action: "added" };
    case "ReleaseEvent":
      return {
        action: "published",
        release: {
          tag_name: `v${Math.floor(random() * 5)}.${Math.floor(random() * 10)}`,
          body: sentence(random, 15),
        },
      };
    default:
      return {};
  }
}

/** Makes events; `next(time)` gives one event record at `time`. */
export class EventMaker {
  readonly #world: World;
  #id = 2489368070;

  constructor(seed = 2015) {
    this.#world = new World(rng(seed));
  }

  next(time: Date): Record<string, unknown> {
    const world = this.#world;
    const random = world.random;
    const type = world.eventType();
    const jupyter = random() < JUPYTER_SHARE;
    const repo = jupyter
      ? `jupyter/${JUPYTER_REPOS[zipf(random, JUPYTER_REPOS.length)]}`
      : world.repos[zipf(random, world.repos.length)];
    const actorIndex = jupyter
      ? zipf(random, JUPYTER_PEOPLE.length)
      : zipf(random, world.users.length);
    const actor = jupyter ? JUPYTER_PEOPLE[actorIndex] : world.users[actorIndex];
    const record: Record<string, unknown> = {
      id: String(this.#id++),
      type,
      actor: userRecord(actor, 1000 + actorIndex),
      repo: {
        id: 28635890 + (repo.length * 7919) % 100000,
        name: repo,
        url: `https://api.github.com/repos/${repo}`,
      },
      payload: payloadOf(type, random, actor, repo),
      public: true,
      created_at: time.toISOString().replace(/\.\d{3}Z$/, "Z"),
    };
    if (jupyter) {
      record.org = { id: 7388996, login: "jupyter", url: "https://api.github.com/orgs/jupyter" };
    }
    return record;
  }
}

/** Writes `hours` hourly `.json.gz` files into `dir`; returns their paths. */
export async function writeGithubArchive(
  dir: string,
  options: ArchiveOptions = {},
): Promise<string[]> {
  const { hours = 24, eventsPerHour = 20000, seed = 2015 } = options;
  await Deno.mkdir(dir, { recursive: true });
  const maker = new EventMaker(seed);
  const encoder = new TextEncoder();
  const paths: string[] = [];
  const start = Date.UTC(2015, 0, 1);
  for (let h = 0; h < hours; h++) {
    const hourStart = start + h * 3600_000;
    const day = new Date(hourStart).toISOString().slice(0, 10);
    const path = `${dir}/${day}-${new Date(hourStart).getUTCHours()}.json.gz`;
    const file = await Deno.open(path, { write: true, create: true, truncate: true });
    const gzip = new CompressionStream("gzip");
    const written = gzip.readable.pipeTo(file.writable);
    const writer = gzip.writable.getWriter();
    let lines: string[] = [];
    for (let i = 0; i < eventsPerHour; i++) {
      const time = new Date(hourStart + Math.floor((i * 3600_000) / eventsPerHour));
      lines.push(JSON.stringify(maker.next(time)));
      if (lines.length === 2000) {
        await writer.write(encoder.encode(lines.join("\n") + "\n"));
        lines = [];
      }
    }
    if (lines.length > 0) await writer.write(encoder.encode(lines.join("\n") + "\n"));
    await writer.close();
    await written;
    paths.push(path);
  }
  return paths;
}

if (import.meta.main) {
  const [dir, hours, perHour] = Deno.args;
  if (!dir) {
    console.error(
      "usage: deno run -A examples/github_events_data.ts <dir> [hours] [eventsPerHour]",
    );
    Deno.exit(2);
  }
  const started = performance.now();
  const paths = await writeGithubArchive(dir, {
    hours: hours ? Number(hours) : undefined,
    eventsPerHour: perHour ? Number(perHour) : undefined,
  });
  let bytes = 0;
  for (const p of paths) bytes += (await Deno.stat(p)).size;
  console.log(
    `wrote ${paths.length} files, ${(bytes / 1e6).toFixed(1)} MB gzipped, in ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s`,
  );
}
