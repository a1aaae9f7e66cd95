/**
 * Variables (Dask's `distributed.Variable`): named single values held by the scheduler. A value
 * is encoded with its Futures as references; their keys are held while the variable holds them
 * (under the pseudo-client `variable-<name>`). Pure bookkeeping.
 *
 * @module
 */

import type { Key } from "../../core/task.ts";
import type { Encoded } from "../../core/value_codec.ts";
import { Waiters } from "./waiters.ts";

/** A variable's value and the keys it holds. */
export interface VariableValue {
  value: Encoded;
  keys: Key[];
}

/** The pseudo-client id under which a variable's keys are held. */
export function variableHolder(name: string): string {
  return `variable-${name}`;
}

export class Variables {
  readonly #values = new Map<string, VariableValue>();
  readonly #waiters = new Waiters<VariableValue>();

  get(name: string): VariableValue | undefined {
    return this.#values.get(name);
  }

  /** Sets the value, wakes who waits for one; gives the replaced value. */
  set(name: string, value: VariableValue): VariableValue | undefined {
    const old = this.#values.get(name);
    this.#values.set(name, value);
    this.#waiters.wakeAll(name, value);
    return old;
  }

  /** Removes the value; gives it. */
  delete(name: string): VariableValue | undefined {
    const old = this.#values.get(name);
    this.#values.delete(name);
    return old;
  }

  /** Calls `wake` once a value is set. */
  whenSet(name: string, wake: (value: VariableValue) => boolean): () => void {
    return this.#waiters.add(name, wake);
  }
}
