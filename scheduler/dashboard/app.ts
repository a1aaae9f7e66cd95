/**
 * The dashboard's HTTP routes (hono): the pages, their assets, the live event stream, `/health`,
 * `/metrics` and the `/api/v1` JSON endpoints.
 *
 * @module
 */

import { Hono } from "npm:hono@^4";
import { requireToken, securityHeaders } from "./access.ts";
import { type Asset, DISPLAY_PREFIX } from "./assets.ts";
import { LIVE_VIEWS, type LiveFeed, type LiveView } from "./live_feed.ts";
import { PROMETHEUS_CONTENT_TYPE } from "./metrics.ts";
import type { DashboardModel } from "./model.ts";
import { wallClock } from "./views.ts";
import { errorMessage } from "../../core/errors.ts";

/** The pages; each is the same document, opened on its tab. */
export const PAGES = [
  "status",
  "workers",
  "worker",
  "graph",
  "profile",
  "info",
  "system",
  "task",
] as const;

const API_ENDPOINTS = {
  "/api/v1/status": "task counts, per-prefix progress, memory and processing per worker",
  "/api/v1/workers": "the workers table",
  "/api/v1/task-stream?since=N&limit=M": "task runs numbered N and later (`total` is the next N)",
  "/api/v1/graph": "the tasks the scheduler holds, their dependencies and states",
  "/api/v1/info": "scheduler summary, events (?since=N) and errors with their stacks",
  "/api/v1/profile?start=S&stop=T":
    "the workers' sampled call stacks in a range (seconds), by task prefix (Dask's profile tree)",
  "/api/v1/call-stacks?address=A": "the latest sampled stack of each task a worker runs now",
  "/api/v1/call-stack?key=K": "task K's state, its worker, and its call stack while it runs",
  "/api/v1/bandwidth": "bytes/s between workers, per worker and by type over the last seconds",
  "/api/v1/worker?address=A": "one worker: its row, its threads' last runs, its tasks, its logs",
  "/api/v1/system": "CPU, memory and open files of the scheduler and worker processes",
  "/api/v1/story?key=K": "the transitions of key K, each with the stimulus that caused it",
  "/api/v1/live?views=status,workers,graph,info": "server-sent events with changes",
};

/** Keeps an open event stream alive through proxies that close idle connections. */
const KEEPALIVE_MS = 15_000;
/** Events a slow page may have queued before it is dropped (it reconnects). */
const MAX_QUEUED_EVENTS = 256;

export interface AppOptions {
  model: DashboardModel;
  feed: LiveFeed;
  assets: Map<string, Asset>;
  /** Open event streams, so that shutdown can end them. */
  streams: Set<ReadableStreamDefaultController<Uint8Array>>;
  /** When set, every route but `/health` needs this token (scheduler/dashboard/access.ts). */
  accessToken?: string;
}

function intParam(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  return Number.isInteger(n) && n >= 0 ? n : fallback;
}

function parseViews(param: string | undefined): Set<LiveView> | string {
  const views = new Set<LiveView>();
  for (const name of (param ?? "status").split(",")) {
    if (name === "") continue;
    if (!(LIVE_VIEWS as readonly string[]).includes(name)) {
      return `Unknown view '${name}'; choose among ${LIVE_VIEWS.join(", ")}.`;
    }
    views.add(name as LiveView);
  }
  return views;
}

const keepalive = new TextEncoder().encode(": keepalive\n\n");

export function dashboardApp({ model, feed, assets, streams, accessToken }: AppOptions): Hono {
  const app = new Hono();
  app.use("*", securityHeaders());
  if (accessToken !== undefined) app.use("*", requireToken(accessToken));

  const asset = (name: string) => {
    const found = assets.get(name);
    if (found === undefined) return null;
    return new Response(found.body, {
      headers: { "content-type": found.contentType, "cache-control": "no-cache" },
    });
  };

  app.get("/", (c) => c.redirect("/status"));
  for (const page of PAGES) app.get(`/${page}`, () => asset("index.html")!);
  app.get("/assets/:name", (c) => asset(c.req.param("name")) ?? c.text("No such asset.", 404));
  app.get(
    `/${DISPLAY_PREFIX}:name`,
    (c) => asset(DISPLAY_PREFIX + c.req.param("name")) ?? c.text("No such asset.", 404),
  );
  app.get("/health", (c) => c.text("ok"));
  app.get(
    "/metrics",
    () => new Response(model.metrics(), { headers: { "content-type": PROMETHEUS_CONTENT_TYPE } }),
  );

  app.get("/api/v1", (c) => c.json({ endpoints: API_ENDPOINTS }));
  app.get("/api/v1/status", (c) => c.json(model.status()));
  app.get("/api/v1/workers", (c) => c.json(model.workers()));
  app.get("/api/v1/system", (c) => c.json(model.system()));
  app.get("/api/v1/bandwidth", (c) => c.json(model.bandwidth()));
  app.get("/api/v1/profile", async (c) => {
    const now = wallClock();
    const start = Number(c.req.query("start") ?? 0);
    const stop = Number(c.req.query("stop") ?? now);
    if (!Number.isFinite(start) || !Number.isFinite(stop) || stop < start) {
      return c.json({
        error: "start and stop are times in seconds (the server clock), start before stop.",
      }, 400);
    }
    return c.json(await model.profile(start, stop));
  });
  app.get("/api/v1/call-stacks", async (c) => {
    const address = c.req.query("address");
    if (address === undefined || address === "") {
      return c.json(
        { error: "Give the worker's address: /api/v1/call-stacks?address=tcp://..." },
        400,
      );
    }
    try {
      const view = await model.callStacks(address);
      if (view === null) return c.json({ error: `No worker has the address ${address}.` }, 404);
      return c.json(view);
    } catch (error) {
      return c.json({ error: `Worker ${address} did not answer: ${errorMessage(error)}` }, 502);
    }
  });
  app.get("/api/v1/call-stack", async (c) => {
    const key = c.req.query("key");
    if (key === undefined || key === "") {
      return c.json({ error: "Give the task's key: /api/v1/call-stack?key=..." }, 400);
    }
    try {
      return c.json(await model.taskCallStack(key));
    } catch (error) {
      return c.json({ error: `The task's worker did not answer: ${errorMessage(error)}` }, 502);
    }
  });
  app.get("/api/v1/worker", (c) => {
    const address = c.req.query("address");
    if (address === undefined || address === "") {
      return c.json({ error: "Give the worker's address: /api/v1/worker?address=tcp://..." }, 400);
    }
    const view = model.worker(address);
    if (view === null) {
      return c.json({ error: `No worker at ${address}; /api/v1/workers lists them.` }, 404);
    }
    return c.json(view);
  });
  app.get("/api/v1/task-stream", (c) => {
    const since = intParam(c.req.query("since"), 0);
    const limit = intParam(c.req.query("limit"), model.state.taskStream.capacity);
    return c.json(model.taskStream(since, limit));
  });
  app.get("/api/v1/graph", (c) => {
    model.graph.update(model.state);
    return c.json(model.graph.snapshot(model.state));
  });
  app.get("/api/v1/info", (c) => {
    const since = intParam(c.req.query("since"), 0);
    const limit = intParam(c.req.query("limit"), 1000);
    return c.json(model.info(since, limit));
  });
  app.get("/api/v1/story", (c) => {
    const key = c.req.query("key");
    if (key === undefined || key === "") {
      return c.json({ error: "Give the task's key: /api/v1/story?key=..." }, 400);
    }
    return c.json({ key, transitions: model.state.story(key) });
  });
  app.get("/api/v1/live", (c) => {
    const views = parseViews(c.req.query("views"));
    if (typeof views === "string") return c.json({ error: views }, 400);
    let unsubscribe = () => {};
    let timer: ReturnType<typeof setInterval> | undefined;
    let controller: ReadableStreamDefaultController<Uint8Array>;
    const end = () => {
      unsubscribe();
      clearInterval(timer);
      streams.delete(controller);
    };
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        controller = c;
        streams.add(c);
        const sink = (chunk: Uint8Array): boolean => {
          if ((controller.desiredSize ?? 0) < -MAX_QUEUED_EVENTS) {
            end();
            controller.close();
            return false;
          }
          controller.enqueue(chunk);
          return true;
        };
        unsubscribe = feed.subscribe(views, sink);
        const t = setInterval(() => sink(keepalive), KEEPALIVE_MS);
        Deno.unrefTimer(t);
        timer = t;
      },
      cancel: end,
    }, new CountQueuingStrategy({ highWaterMark: 16 }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  });
  app.notFound((c) =>
    c.req.path.startsWith("/api/")
      ? c.json({ error: `No endpoint ${c.req.path}; see /api/v1 for the list.` }, 404)
      : c.text(`No page ${c.req.path}; the pages are ${PAGES.map((p) => `/${p}`).join(", ")}.`, 404)
  );
  return app;
}
