/**
 * Where a travelling function was written, so a task's traceback names the user's file and
 * line rather than the thread's compiled copy (issue 18).
 *
 * The sending side finds the origin once per function object: the first frame of the current
 * stack outside this library is the user's call (`client.submit(fn)`, `delayed(fn)`, …); a
 * named function is then looked up by its name in that file (when the process may read it), the
 * definition nearest above the call. The origin travels in the function's spec; the receiving
 * thread compiles the source so that its first line sits at the origin's line of a script named
 * `task-origin:<file URL>` ({@link originScriptName}), so frames inside the function read the
 * user's lines; {@link restoreOriginFrames} drops the prefix where the error arrives.
 *
 * @module
 */

/** The file, line and column (1-based) where a function's source starts. */
export interface FunctionOrigin {
  url: string;
  line: number;
  column: number;
}

/** Scripts compiled from travelling source are named with this prefix and the origin's URL. */
const ORIGIN_SCHEME = "task-origin:";

/** This library's own rooms: frames there are not the user's. */
const LIBRARY_ROOT = new URL("../", import.meta.url).href;
const LIBRARY_ROOMS = [
  "core/",
  "client/",
  "collections/",
  "deploy/",
  "net/",
  "protocol/",
  "scheduler/",
  "threads/",
  "worker/",
  "mod.ts",
  "dataframe.ts",
];

/** ` at name (url:line:col)` or ` at url:line:col`. */
const FRAME = /^\s*at (?:.*?\()?((?:file|https?):\/\/[^\s)]+?):(\d+):(\d+)\)?\s*$/;

function isLibrary(url: string): boolean {
  if (!url.startsWith(LIBRARY_ROOT)) return false;
  const rest = url.slice(LIBRARY_ROOT.length);
  return LIBRARY_ROOMS.some((room) => rest.startsWith(room));
}

/** The first frame of the current stack outside this library: the user's call. */
function userCallSite(): FunctionOrigin | undefined {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n")) {
    const match = FRAME.exec(line);
    if (match === null || isLibrary(match[1])) continue;
    return { url: match[1], line: Number(match[2]), column: Number(match[3]) };
  }
  return undefined;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/** The file's text, when this process may read it without asking (never a prompt). */
function readIfPermitted(url: string): string | undefined {
  if (!url.startsWith("file:")) return undefined;
  try {
    const path = new URL(url);
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return undefined;
    return Deno.readTextFileSync(path);
  } catch {
    return undefined;
  }
}

/** Where `name` is defined in `text`: the definition nearest above `beforeLine`, else the first. */
function findDefinition(
  text: string,
  name: string,
  beforeLine: number,
): { line: number; column: number } | undefined {
  const n = name.replace(/\$/g, "\\$");
  const definition = new RegExp(
    `(?:function\\s*\\*?\\s*(${n})\\s*[<(])|(?:(?:const|let|var)\\s+(${n})\\s*(?::[^=]*)?=)|` +
      `(?:^[ \\t]*(?:async\\s+)?\\*?(${n})\\s*[<(][^;]*\\)\\s*(?::[^{]*)?\\{)|` +
      `(?:^[ \\t]*(${n})\\s*:\\s*(?:async\\s+)?(?:function|\\())`,
    "gm",
  );
  let best: { line: number; column: number } | undefined;
  let first: { line: number; column: number } | undefined;
  for (const match of text.matchAll(definition)) {
    const at = match.index + match[0].length - match[0].trimStart().length;
    const before = text.slice(0, at);
    const line = before.split("\n").length;
    const column = at - before.lastIndexOf("\n");
    const found = { line, column };
    first ??= found;
    if (line <= beforeLine) best = found;
  }
  return best ?? first;
}

/**
 * Where `fn` (named `name`) was written, as well as this process can tell: its definition in the
 * file of the user's call when it has a name found there, else the user's call itself (an
 * inline function is written at its call). Undefined when no frame is the user's.
 */
export function functionOrigin(name: string): FunctionOrigin | undefined {
  const call = userCallSite();
  if (call === undefined) return undefined;
  if (name === "anonymous" || !IDENTIFIER.test(name)) return call;
  const text = readIfPermitted(call.url);
  if (text === undefined) return call;
  const found = findDefinition(text, name, call.line);
  return found === undefined ? call : { url: call.url, ...found };
}

/** The name a thread gives the script it compiles a function of this origin into. */
export function originScriptName(origin: FunctionOrigin): string {
  return `${ORIGIN_SCHEME}${origin.url}`;
}

/** `task-origin:<url>` and, as Deno prints frames of compiled code, `, <anonymous>` after it. */
const ORIGIN_FRAME = /task-origin:([^\s,()]+)(?:, <anonymous>)?/g;

/** A stack with the threads' origin names back as the user's file URLs. */
export function restoreOriginFrames(stack: string): string {
  return stack.includes(ORIGIN_SCHEME) ? stack.replace(ORIGIN_FRAME, "$1") : stack;
}
