/**
 * How an array's blocks come to be, and how that becomes tasks.
 *
 * Every array has a node:
 * - `tasks`: its blocks are tasks of an existing layer (persisted arrays, literal blocks);
 * - `blocks`: block `i` is an expression over blocks of its input arrays (element-wise math,
 *   transpose, slicing, one step of a reduction, ...);
 * - `custom`: a layer of tasks with internal structure (a chain of running totals).
 *
 * When an array is computed, its nodes are planned into layers. A `blocks` input is fused into
 * the expression of its consumer — one task computes both, nothing travels between them — when
 * the consumer reads its blocks one to one and nothing else reads it (Dask's blockwise fusion;
 * fusing into a consumer that reads several blocks, or that several consumers read, would
 * repeat work or serialise it). Creation nodes marked `inline` (ones, random, arange...) are
 * cheaper to recompute than to store and move, so they fuse into every one-to-one consumer.
 * Views (transpose, slicing) cost nothing to repeat and fuse into every consumer; below a view
 * that is repeated (read by a consumer that is not one to one) only views fuse further.
 *
 * @module
 */
import {
  chunkKey,
  makeLiteral,
  makeTask,
  type Task,
  type TaskFunction,
  TaskRef,
} from "../../core/task.ts";
import { uniqueToken } from "../../core/tokenize.ts";
import { NDArray } from "../../core/ndarray.ts";
import type { Layer } from "../collection.ts";
import { FunctionSlots } from "../function_slots.ts";
import { type Chunks, forEachIndex, numblocksOf } from "./chunks.ts";
import { evalBlock, evalWithFunctions } from "./chunk_tasks.ts";
import { shareRandomDraws } from "./shared_draws.ts";

/** What a `blocks` node's expression builder may ask for. */
export interface BlockContext {
  /** The expression of block `index` of input `pos`: a task reference, or its fused expression. */
  input(pos: number, index: readonly number[]): unknown;
  /** The slot of a user function among the task's bound functions. */
  fn(fn: TaskFunction): number;
}

/** Blocks that are tasks of an existing layer, under `chunkKey(name, index)`. */
export interface TasksNode {
  readonly kind: "tasks";
  readonly layer: Layer;
}

/** Blocks computed one expression per block from blocks of the inputs. */
export interface BlocksNode {
  readonly kind: "blocks";
  readonly inputs: readonly ArraySource[];
  /**
   * Per input: true when each output block reads at most one of its blocks and each of its
   * blocks is read by at most one output block — the condition for fusing it.
   */
  readonly oneToOne: readonly boolean[];
  /** Cheap creation (no inputs): fused into every one-to-one consumer. */
  readonly inline?: boolean;
  /**
   * Each block is a view of one input block (transpose, basic slicing, new or dropped length-1
   * axes, renaming): free to repeat, so fused into every consumer.
   */
  readonly view?: boolean;
  /** The expression of output block `index`. */
  block(index: readonly number[], ctx: BlockContext): unknown;
}

/** Tasks with their own internal keys; inputs are always materialised. */
export interface CustomNode {
  readonly kind: "custom";
  readonly inputs: readonly ArraySource[];
  /** The tasks, including one under `chunkKey(name, index)` per block. */
  tasks(input: (pos: number, index: readonly number[]) => TaskRef): Task[];
}

/** How an array's blocks are made. */
export type ArrayNode = TasksNode | BlocksNode | CustomNode;

/** What planning needs to know of an array. */
export interface ArraySource {
  readonly name: string;
  readonly chunks: Chunks;
  readonly node: ArrayNode;
}

/** How many input edges lead to each array, over the `blocks`/`custom` nodes under `root`. */
function countConsumers(root: ArraySource): Map<ArraySource, number> {
  const consumers = new Map<ArraySource, number>();
  const seen = new Set<ArraySource>([root]);
  const stack = [root];
  while (stack.length > 0) {
    const array = stack.pop()!;
    if (array.node.kind === "tasks") continue;
    for (const input of array.node.inputs) {
      consumers.set(input, (consumers.get(input) ?? 0) + 1);
      if (!seen.has(input)) {
        seen.add(input);
        stack.push(input);
      }
    }
  }
  return consumers;
}

/** The layer holding the tasks of every block of `root` (and, through dependencies, the rest). */
export function planLayer(root: ArraySource): Layer {
  const consumers = countConsumers(root);
  const planToken = uniqueToken();
  const layers = new Map<ArraySource, Layer>();

  /** Whether input `pos` of `consumer` fuses, `repeated` telling if the consumer is repeated. */
  const fused = (consumer: BlocksNode, pos: number, repeated: boolean): boolean => {
    const input = consumer.inputs[pos];
    if (input.node.kind !== "blocks") return false;
    if (input.node.view === true) return true;
    if (repeated || !consumer.oneToOne[pos]) return false;
    return input.node.inline === true || consumers.get(input) === 1;
  };

  const materialize = (array: ArraySource): Layer => {
    const done = layers.get(array);
    if (done !== undefined) return done;
    const node = array.node;
    let layer: Layer;
    if (node.kind === "tasks") layer = node.layer;
    else if (node.kind === "custom") {
      const deps = new Set<Layer>();
      const tasks = node.tasks((pos, index) => {
        const input = node.inputs[pos];
        deps.add(materialize(input));
        return new TaskRef(chunkKey(input.name, index));
      });
      layer = { id: `${array.name}#${planToken}`, tasks, dependencies: [...deps] };
    } else layer = materializeBlocks(array, node);
    layers.set(array, layer);
    return layer;
  };

  const materializeBlocks = (array: ArraySource, node: BlocksNode): Layer => {
    const deps = new Set<Layer>();
    const slots = new FunctionSlots();
    const contextOf = (owner: BlocksNode, repeated: boolean): BlockContext => ({
      input: (pos, index) => {
        const input = owner.inputs[pos];
        if (fused(owner, pos, repeated)) {
          const inner = input.node as BlocksNode;
          // a view fused into several consumers, or repeated by its consumer, repeats its input
          const again = repeated || !owner.oneToOne[pos] || (consumers.get(input) ?? 0) > 1;
          return inner.block(index, contextOf(inner, again));
        }
        deps.add(materialize(input));
        return new TaskRef(chunkKey(input.name, index));
      },
      fn: slots.slot,
    });
    const ctx = contextOf(node, false);
    const keys: string[] = [];
    const indexes: (readonly number[])[] = [];
    const blockExprs: unknown[] = [];
    forEachIndex(numblocksOf(array.chunks), (index) => {
      keys.push(chunkKey(array.name, index));
      indexes.push([...index]);
      blockExprs.push(node.block(index, ctx));
    });
    const fn = slots.bind(evalWithFunctions, evalBlock);
    // shared tasks are named `<prefix>-draws-<token>`, so displays group them apart
    const dash = array.name.lastIndexOf("-");
    const sharedName = dash > 0
      ? `${array.name.slice(0, dash)}-draws${array.name.slice(dash)}`
      : `${array.name}-draws`;
    const { exprs, shared } = shareRandomDraws(
      blockExprs,
      (first) => chunkKey(sharedName, indexes[first]),
    );
    const tasks = exprs.map((expr, i) =>
      expr instanceof NDArray ? makeLiteral(keys[i], expr) : makeTask(keys[i], fn, [expr])
    );
    for (const { key, expr } of shared) tasks.push(makeTask(key, fn, [expr]));
    return { id: `${array.name}#${planToken}`, tasks, dependencies: [...deps] };
  };

  return materialize(root);
}
