/**
 * The task functions `delayed` makes its own tasks with (attribute access, method calls,
 * containers holding lazy values); declared as a task module so that threads and workers
 * import them instead of receiving their source.
 *
 * @module
 */

import { taskModule } from "../core/function_tags.ts";

/** `value[name](...args)`, with the value as `this`. */
function callMethodOf(value: unknown, name: string, ...args: unknown[]): unknown {
  const method = (value as Record<string, unknown> | null | undefined)?.[name];
  if (typeof method !== "function") {
    throw new TypeError(
      `${name}(...) was called on a Delayed whose value has no method ${JSON.stringify(name)} ` +
        `(the value is ${value === null ? "null" : typeof value}).`,
    );
  }
  return method.apply(value, args);
}

export const { getField, callMethod, buildContainer, buildSet } = taskModule(import.meta.url, {
  getField: (value: unknown, field: PropertyKey): unknown =>
    (value as Record<PropertyKey, unknown>)[field],
  callMethod: callMethodOf,
  buildContainer: (value: unknown): unknown => value,
  buildSet: (items: unknown[]): Set<unknown> => new Set(items),
});
