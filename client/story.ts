/**
 * A key's story from a client: the scheduler's `story` request (docs/protocol.md §8), the
 * transitions it made for the key with the stimulus that caused each. The Client wires it as
 * `client.story(key)`.
 *
 * @module
 */

import type { Key } from "../core/task.ts";
import type { StoryEntry } from "../protocol/story.ts";
import type { SchedulerRequest } from "./cluster_admin.ts";

/** The transitions the scheduler still remembers for `key`, oldest first. */
export async function requestStory(request: SchedulerRequest, key: Key): Promise<StoryEntry[]> {
  return await request<StoryEntry[]>("story", { key });
}
