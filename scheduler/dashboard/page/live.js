/**
 * The page's live connection: one EventSource on `/api/v1/live` for the views the open tab
 * shows, one `update` message per push interval carrying the parts that changed (live_feed.ts).
 * The browser reconnects on its own after a drop; the server then sends a full picture again,
 * which the pages take like any update.
 *
 * @module
 */

/** Server clock minus this browser's clock, seconds (updated with every message). */
let clockOffset = 0;

/**
 * The server's clock now, seconds.
 * @returns {number}
 */
export function serverNow() {
  return Date.now() / 1000 + clockOffset;
}

export class LiveConnection {
  /**
   * @param {string[]} views
   * @param {(event: string, data: any) => void} onEvent
   * @param {(state: "connecting" | "live" | "lost") => void} onState
   */
  constructor(views, onEvent, onState) {
    this.source = new EventSource(`/api/v1/live?views=${views.join(",")}`);
    onState("connecting");
    this.source.onopen = () => onState("live");
    this.source.onerror = () => onState("lost");
    this.source.addEventListener("update", (message) => {
      const { now, parts } = JSON.parse(/** @type {MessageEvent} */ (message).data);
      clockOffset = now - Date.now() / 1000;
      for (const [name, data] of parts) onEvent(name, data);
    });
  }

  close() {
    this.source.close();
  }
}
