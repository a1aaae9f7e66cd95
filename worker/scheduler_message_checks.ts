/**
 * The shape a scheduler message must have before the worker state machine acts on it. A
 * malformed message closes the session (the scheduler is buggy or not a scheduler) rather than
 * corrupting the worker's state.
 *
 * @module
 */

function isKeyList(value: unknown): boolean {
  return Array.isArray(value) && value.every((k) => typeof k === "string");
}

/** Why a scheduler message cannot be acted on, or null when it can. */
export function schedulerMessageProblem(msg: unknown): string | null {
  if (msg === null || typeof msg !== "object") return "a message that is not an object";
  const m = msg as Record<string, unknown>;
  switch (m.op) {
    case "compute-task":
      return typeof m.key === "string" && typeof m.runId === "number" &&
          Array.isArray(m.deps) && Array.isArray(m.priority) &&
          (m.group === undefined || typeof m.group === "string")
        ? null
        : "a compute-task without key, runId, priority or deps (or with a group that is not a string)";
    case "free-keys":
      return isKeyList(m.keys) ? null : "a free-keys without a list of keys";
    case "steal-request":
      return typeof m.key === "string" && typeof m.stealId === "number"
        ? null
        : "a steal-request without key or stealId";
    case "acquire-replicas":
    case "refresh-who-has":
      return Array.isArray(m.keys) ? null : `a ${m.op} without keys`;
    case "close":
    case "restart":
      return null;
    case "run":
      return typeof m.runRequestId === "number" ? null : "a run without a runRequestId";
    default:
      return `unknown operation ${JSON.stringify(m.op)}`;
  }
}
