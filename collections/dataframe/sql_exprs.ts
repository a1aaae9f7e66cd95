/**
 * String expressions nodejs-polars 0.25 builds as opaque JS-bound functions (`str.toLowerCase`,
 * `toUpperCase`, `lengths`): those cannot be serialized, so they cannot travel to a task. Polars'
 * SQL front end builds the same operations from Rust's own expression types, which serialize;
 * the expression is taken from the plan of a one-column SQL query on an empty frame and its
 * placeholder column replaced by the real input. It runs natively in every thread.
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { type Expr, pl } from "./polars.ts";

const PLACEHOLDER = "__dask_sql_input__";
const templates = new Map<string, unknown>();

/** The serialized expression of `sqlFunction(placeholder)`, made once per function. */
function template(sqlFunction: string): unknown {
  let found = templates.get(sqlFunction);
  if (found === undefined) {
    const probe = pl.DataFrame([pl.Series(PLACEHOLDER, [], pl.String)]);
    const query = `SELECT ${sqlFunction}(${PLACEHOLDER}) AS out FROM t`;
    const plan = JSON.parse(
      pl.SQLContext({ t: probe }).execute(query).serialize("json").toString(),
    );
    const alias = plan?.Select?.expr?.[0]?.Alias;
    if (!Array.isArray(alias)) {
      throw new Error(`Polars' SQL plan of ${sqlFunction} has an unexpected shape.`);
    }
    found = alias[0];
    templates.set(sqlFunction, found);
  }
  return found;
}

function substitute(node: unknown, input: unknown): unknown {
  if (Array.isArray(node)) return node.map((n) => substitute(n, input));
  if (node === null || typeof node !== "object") return node;
  const entries = Object.entries(node);
  if (entries.length === 1 && entries[0][0] === "Column" && entries[0][1] === PLACEHOLDER) {
    return input;
  }
  return Object.fromEntries(entries.map(([k, v]) => [k, substitute(v, input)]));
}

/** `sqlFunction(input)` as a native, serializable Polars expression (e.g. `LOWER`, `LENGTH`). */
export function sqlFunctionExpr(sqlFunction: "LOWER" | "UPPER" | "LENGTH", input: Expr): Expr {
  const inputJson = JSON.parse(input.serialize("json").toString());
  const json = JSON.stringify(substitute(template(sqlFunction), inputJson));
  return pl.Expr.deserialize(Buffer.from(json), "json");
}
