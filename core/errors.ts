/**
 * Errors every layer shares. Each message says what went wrong and what to do about it.
 *
 * @module
 */

import { restoreOriginFrames } from "./function_origin.ts";
import type { Key } from "./task.ts";

/** Plain description of an error, as it travels between threads and processes. */
export interface ErrorRecord {
  name: string;
  message: string;
  stack?: string;
  cause?: unknown;
  /** The key of the task that raised it, when a task did. */
  key?: Key;
}

const BUILTIN_ERRORS: Record<string, ErrorConstructor> = {
  Error,
  TypeError,
  RangeError,
  ReferenceError,
  SyntaxError,
  EvalError,
  URIError,
};

/**
 * Builds an Error from a record that came from another thread or process: same name, same
 * message, the remote stack, and the failing task's key as `error.key`.
 */
export function errorFromRecord(record: ErrorRecord): Error {
  const Ctor = BUILTIN_ERRORS[record.name] ?? Error;
  const error = new Ctor(
    record.message,
    record.cause === undefined ? undefined : {
      // a cause that was an Error travelled as a record: it comes back as an Error too
      cause: isErrorRecord(record.cause) ? errorFromRecord(record.cause) : record.cause,
    },
  );
  if (error.name !== record.name) {
    Object.defineProperty(error, "name", {
      value: record.name,
      writable: true,
      configurable: true,
    });
  }
  // frames of travelling functions name the user's file again (core/function_origin.ts)
  if (record.stack !== undefined) error.stack = restoreOriginFrames(record.stack);
  if (record.key !== undefined) {
    Object.defineProperty(error, "key", { value: record.key, enumerable: true, writable: true });
  }
  return error;
}

/** A value shaped as an {@link ErrorRecord} (how `recordFromError` writes an Error cause). */
function isErrorRecord(value: unknown): value is ErrorRecord {
  if (typeof value !== "object" || value === null) return false;
  const { name, message } = value as Record<string, unknown>;
  return typeof name === "string" && typeof message === "string";
}

/** Describes any thrown value as an {@link ErrorRecord}. */
export function recordFromError(thrown: unknown, key?: Key): ErrorRecord {
  if (thrown instanceof Error) {
    const record: ErrorRecord = {
      name: thrown.name,
      message: thrown.message,
      stack: thrown.stack,
    };
    if (thrown.cause !== undefined) {
      record.cause = thrown.cause instanceof Error ? recordFromError(thrown.cause) : thrown.cause;
    }
    const ownKey = (thrown as { key?: unknown }).key;
    if (key !== undefined) record.key = key;
    else if (typeof ownKey === "string") record.key = ownKey;
    return record;
  }
  const record: ErrorRecord = { name: "Error", message: describeThrown(thrown) };
  const cause = travellingCopy(thrown);
  if (cause !== undefined) record.cause = cause;
  if (key !== undefined) record.key = key;
  return record;
}

/**
 * The Error a task's throw becomes: an Error as it is; any other value (`throw { code: 5 }`,
 * `throw "no"`) wrapped in an Error whose message shows the value's content
 * (`{"code":5}`, not `[object Object]`) and whose `cause` is the value itself.
 */
export function errorFromThrown(thrown: unknown): Error {
  if (thrown instanceof Error) return thrown;
  return new Error(describeThrown(thrown), { cause: thrown });
}

/** The text of a thrown non-Error: JSON for data, `String()` for the rest. */
function describeThrown(thrown: unknown): string {
  if (typeof thrown === "string") return thrown;
  if (thrown === null || typeof thrown !== "object") return String(thrown);
  try {
    const json = JSON.stringify(thrown);
    // a class instance without own fields says more by its String() (e.g. its toString)
    if (json !== undefined && !(json === "{}" && String(thrown) !== "[object Object]")) return json;
  } catch {
    // a cycle or a BigInt: fall back to String()
  }
  return String(thrown);
}

/**
 * A copy of a thrown non-Error that can travel to other processes as an error's `cause`:
 * primitives as they are, objects as their JSON content (a class instance arrives as plain
 * data); undefined when the value has no such copy (a cycle, a function, a symbol).
 */
function travellingCopy(thrown: unknown): unknown {
  if (typeof thrown === "symbol" || typeof thrown === "function") return undefined;
  if (thrown === null || typeof thrown !== "object") return thrown;
  try {
    const json = JSON.stringify(thrown);
    return json === undefined ? undefined : JSON.parse(json);
  } catch {
    return undefined;
  }
}

/** The message of a thrown value, whether it is an Error or anything else. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A thrown value as an Error: itself when it is one, else an Error carrying its text. */
export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}

/** A graph is malformed: a missing dependency, a cycle, an unknown output. */
export class GraphError extends Error {
  /** Always `"GraphError"`. */
  override name = "GraphError";
}

/** A value cannot travel between threads or processes; `path` says where it is. */
export class UnserializableError extends TypeError {
  /** Always `"UnserializableError"`. */
  override name = "UnserializableError";
  /** Where the value sits, e.g. `args[1].config.conn`. */
  readonly path: string;
  /**
   * Describes the value that cannot travel.
   *
   * @param path where the value sits, e.g. `args[1].config.conn`
   * @param what what it is, e.g. `a function`
   * @param hint what to do about it
   */
  constructor(path: string, what: string, hint: string) {
    super(`${path} is ${what}, which cannot be sent to another thread or process. ${hint}`);
    this.path = path;
  }
}

/** A task function reads a variable that it does not own. */
export class FreeVariableError extends ReferenceError {
  /** Always `"FreeVariableError"`. */
  override name = "FreeVariableError";
  /** The function that reads the variables. */
  readonly functionName: string;
  /** The names it reads but does not define. */
  readonly variables: readonly string[];
  /**
   * Names the function and the variables it reads.
   *
   * @param functionName the function that reads the variables
   * @param variables the names it reads but does not define
   */
  constructor(functionName: string, variables: readonly string[]) {
    const list = variables.map((v) => `'${v}'`).join(", ");
    super(
      `Function '${functionName}' reads ${list}, which it does not define, so it cannot run on ` +
        `another thread or machine. A value: pass it as an argument. A function (a helper it ` +
        `calls; functions cannot travel as arguments): put both in a module and declare the ` +
        `task function with taskModule(import.meta.url, { ... }), so workers import the module ` +
        `with its helpers.`,
    );
    this.functionName = functionName;
    this.variables = variables;
  }
}
