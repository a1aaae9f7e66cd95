/**
 * The slot table of a fused task: the user functions one task calls, each numbered once, so
 * the task's plain-data spec names them by slot and the task function travels as one
 * `bindFunctions(factory, ...fns)` (bag pipelines and reductions, array block expressions).
 *
 * @module
 */

import { bindFunctions } from "../core/function_tags.ts";
import type { TaskFunction } from "../core/task.ts";

/** Gives each function of a task its slot in the task's function list. */
export type SlotOf = (fn: TaskFunction) => number;

/** An ordered set of functions: the bound functions of one task function. */
export class FunctionSlots {
  /** The functions in slot order. */
  readonly fns: TaskFunction[] = [];
  readonly #slots = new Map<TaskFunction, number>();

  /** A table holding `groups`' functions first, in order. */
  constructor(...groups: (readonly TaskFunction[])[]) {
    for (const group of groups) for (const fn of group) this.slot(fn);
  }

  /** The slot of `fn`, given the next free one the first time it is seen. */
  readonly slot: SlotOf = (fn) => {
    let slot = this.#slots.get(fn);
    if (slot === undefined) {
      slot = this.fns.length;
      this.fns.push(fn);
      this.#slots.set(fn, slot);
    }
    return slot;
  };

  /** `factory(...fns)` as a travelling task function, or `plain` when there is no function. */
  bind(factory: (...fns: TaskFunction[]) => TaskFunction, plain: TaskFunction): TaskFunction {
    return this.fns.length === 0 ? plain : bindFunctions(factory, ...this.fns);
  }
}
