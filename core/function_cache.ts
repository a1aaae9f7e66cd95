/**
 * The receiving side of the function codec: turns a {@link FunctionSpec} back into a function,
 * once per thread. Source is compiled once per `id`; a module is imported once per URL.
 *
 * @module
 */

import type { FunctionSpec } from "./function_codec.ts";
import { originScriptName } from "./function_origin.ts";
import type { TaskFunction } from "./task.ts";

type ModuleNamespace = Record<string, unknown>;

/** Compiled and imported task functions of one thread, by spec id. */
export class FunctionCache {
  readonly #functions = new Map<string, TaskFunction>();
  readonly #modules = new Map<string, Promise<ModuleNamespace>>();

  /**
   * The function a spec describes: synchronously when it is cached or travels as source, a
   * promise when its module must be imported first.
   *
   * @throws {SyntaxError} (or the promise rejects) when the source does not compile, naming the
   *   function; a missing module export names the URL and lists the module's exports.
   */
  get(spec: FunctionSpec): TaskFunction | Promise<TaskFunction> {
    const cached = this.#functions.get(spec.id);
    if (cached !== undefined) return cached;
    if (spec.kind === "source") {
      const fn = compile(spec);
      this.#functions.set(spec.id, fn);
      return fn;
    }
    if (spec.kind === "bound") return this.#bind(spec);
    return this.#importModule(spec).then((namespace) => {
      const fn = resolveExport(namespace, spec);
      this.#functions.set(spec.id, fn);
      return fn;
    });
  }

  /** Rebuilds a bindFunctions() function: resolve the parts, call the factory once. */
  #bind(
    spec: Extract<FunctionSpec, { kind: "bound" }>,
  ): TaskFunction | Promise<TaskFunction> {
    const parts = [spec.factory, ...spec.fns].map((part) => this.get(part));
    const build = (resolved: TaskFunction[]) => {
      const [factory, ...fns] = resolved;
      const fn = factory(...fns) as TaskFunction;
      if (typeof fn !== "function") {
        throw new TypeError(`Factory '${spec.factory.name}' did not return a function.`);
      }
      this.#functions.set(spec.id, fn);
      return fn;
    };
    if (parts.some((p) => p instanceof Promise)) return Promise.all(parts).then(build);
    return build(parts as TaskFunction[]);
  }

  /** The number of functions held. */
  get size(): number {
    return this.#functions.size;
  }

  #importModule(spec: Extract<FunctionSpec, { kind: "module" }>): Promise<ModuleNamespace> {
    let loading = this.#modules.get(spec.url);
    if (loading === undefined) {
      loading = (import(spec.url) as Promise<ModuleNamespace>).catch((error: unknown) => {
        // A failed import may succeed later (a file written meanwhile, a server back up).
        this.#modules.delete(spec.url);
        throw new Error(
          `Could not import module ${spec.url} for task function '${spec.name}': ` +
            `${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      });
      this.#modules.set(spec.url, loading);
    }
    return loading;
  }
}

/**
 * Compiles a function that travelled as source. The property assignment names an anonymous
 * function after the one it was sent as. The script is named after where the function was
 * written (core/function_origin.ts) and its source starts at that line and column, so a remote
 * stack reads `at score (task-origin:file:///…/job.ts:12:11)` — the user's own line; without an
 * origin it reads `at score (task-function/score.js:3:11)` instead of an `eval` frame.
 */
function compile(spec: Extract<FunctionSpec, { kind: "source" }>): TaskFunction {
  const name = JSON.stringify(spec.name);
  const origin = spec.origin;
  const file = origin === undefined
    ? `task-function/${spec.name.replace(/[^\w$.-]/g, "_")}.js`
    : originScriptName(origin);
  // new Function's body starts on line 3 of its script; the source follows `return (`
  const head = `"use strict"; return ({ ${name}: (`;
  let padding = "";
  if (origin !== undefined && origin.line >= 3 && origin.line < 1e6) {
    padding = "\n".repeat(origin.line - 3) +
      (origin.column - 1 >= head.length ? " ".repeat(origin.column - 1 - head.length) : "");
  }
  let value: unknown;
  try {
    value = new Function(
      `${padding}${head}${spec.source}\n) })[${name}];\n//# sourceURL=${file}`,
    )();
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    throw new SyntaxError(
      `Task function '${spec.name}' did not compile on this thread (${reason}). ` +
        `Source: ${abbreviate(spec.source)}`,
      { cause: error },
    );
  }
  if (typeof value !== "function") {
    throw new TypeError(
      `Task function '${spec.name}' evaluates to ${value === null ? "null" : typeof value} on ` +
        `this thread, not a function. Source: ${abbreviate(spec.source)}`,
    );
  }
  return value as TaskFunction;
}

/**
 * The export a spec names. taskModule tags functions by their property name, so a function
 * is found as a named export or, when the module exports the object taskModule returned, as a
 * property of exactly one exported object.
 */
function resolveExport(
  namespace: ModuleNamespace,
  spec: Extract<FunctionSpec, { kind: "module" }>,
): TaskFunction {
  const direct = namespace[spec.export];
  if (typeof direct === "function") return direct as TaskFunction;
  const holders = Object.keys(namespace).filter((name) => {
    const value = namespace[name];
    return typeof value === "object" && value !== null &&
      typeof (value as Record<string, unknown>)[spec.export] === "function";
  });
  if (direct === undefined && holders.length === 1) {
    return (namespace[holders[0]] as Record<string, TaskFunction>)[spec.export];
  }
  const exports = Object.keys(namespace);
  const problem = direct !== undefined
    ? `exports '${spec.export}' as ${typeof direct}, not a function`
    : holders.length > 1
    ? `has no export '${spec.export}', and several exported objects hold one ` +
      `(${holders.join(", ")})`
    : `has no export '${spec.export}'`;
  throw new TypeError(
    `Module ${spec.url} ${problem}, so task function '${spec.name}' cannot be loaded. ` +
      `Its exports: ${exports.length > 0 ? exports.join(", ") : "(none)"}. Export each ` +
      `function under the name given to taskModule, e.g. ` +
      `export const { ${spec.export} } = taskModule(import.meta.url, { ${spec.export} }).`,
  );
}

function abbreviate(source: string): string {
  return JSON.stringify(source.length > 120 ? source.slice(0, 117) + "..." : source);
}
