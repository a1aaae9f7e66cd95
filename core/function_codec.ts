/**
 * The function codec: how a task's function travels to another thread or machine.
 *
 * Functions travel as code, in one of two forms (see {@link FunctionSpec}):
 *
 * 1. `source`: the text of a self-contained function, which may use JS globals and its
 *    arguments and nothing else. Built-in functions reachable from `globalThis` by a short path
 *    (`Math.max`, `JSON.parse`, `structuredClone`) travel as that path.
 * 2. `module`: `{ url, export }` for functions declared with `taskModule` (function_tags.ts);
 *    the receiving thread imports the module.
 *
 * A function that reads a variable it does not own is refused here, with a
 * {@link FreeVariableError} naming the variables, rather than failing later with an opaque
 * `ReferenceError` inside a worker. The analysis parses the function's source once per function
 * object.
 *
 * @module
 */

// deno-lint-ignore no-import-prefix
import { parse } from "npm:acorn@^8";
// deno-lint-ignore no-import-prefix
import type * as ast from "npm:acorn@^8";
// deno-lint-ignore no-import-prefix
import xxhash from "npm:xxhash-wasm@^1";
import { FreeVariableError, UnserializableError } from "./errors.ts";
import { type FunctionOrigin, functionOrigin } from "./function_origin.ts";
import { boundTags, functionName, moduleTags } from "./function_tags.ts";
import type { TaskFunction } from "./task.ts";

export { bindFunctions, functionName, taskModule } from "./function_tags.ts";

/** The travelling form of a task function. `id` names it in a thread's function cache. */
export type FunctionSpec =
  | { kind: "source"; id: string; name: string; source: string; origin?: FunctionOrigin }
  | { kind: "module"; id: string; name: string; url: string; export: string }
  | { kind: "bound"; id: string; name: string; factory: FunctionSpec; fns: FunctionSpec[] };

const { h64ToString } = await xxhash();

/** Outcome of describing a function, cached per function object (errors too). */
const described = new WeakMap<TaskFunction, FunctionSpec | Error>();

/**
 * The travelling form of `fn`, computed once per function object.
 *
 * @throws {FreeVariableError} when the function reads variables it does not define.
 * @throws {UnserializableError} for bound functions, native functions that are not reachable
 *   from `globalThis`, private methods, getters and setters.
 */
export function describeFunction(fn: TaskFunction): FunctionSpec {
  let outcome = described.get(fn);
  if (outcome === undefined) {
    try {
      outcome = buildSpec(fn);
    } catch (error) {
      if (!(error instanceof Error)) throw error;
      outcome = error;
    }
    described.set(fn, outcome);
  }
  if (outcome instanceof Error) throw outcome;
  return outcome;
}

function buildSpec(fn: TaskFunction): FunctionSpec {
  if (typeof fn !== "function") {
    throw new TypeError(`A task function must be a function, got ${typeof fn}.`);
  }
  const bound = boundTags.get(fn);
  if (bound !== undefined) {
    const factory = describeFunction(bound.factory);
    const fns = bound.fns.map(describeFunction);
    const id = h64ToString(`bound(${factory.id};${fns.map((f) => f.id).join(";")})`);
    const name = `${factory.name}(${fns.map((f) => f.name).join(", ")})`;
    return { kind: "bound", id, name, factory, fns };
  }
  const name = functionName(fn);
  const tag = moduleTags.get(fn);
  if (tag !== undefined) {
    return {
      kind: "module",
      id: `${tag.url}#${tag.exportName}`,
      name,
      url: tag.url,
      export: tag.exportName,
    };
  }
  const path = globalFunctionPath(fn);
  if (path !== undefined) return { kind: "source", id: h64ToString(path), name, source: path };

  const text = Function.prototype.toString.call(fn);
  if (NATIVE_SOURCE.test(text)) throw nativeFunctionError(fn, name);
  const { expression, root } = parseFunctionSource(text, name);
  const free = findFreeVariables(root);
  if (free.length > 0) throw new FreeVariableError(name, free);
  // where it was written travels along (not in the id: equal code is one function everywhere)
  const origin = functionOrigin(name);
  const spec: FunctionSpec = {
    kind: "source",
    id: h64ToString(expression),
    name,
    source: expression,
  };
  if (origin !== undefined) spec.origin = origin;
  return spec;
}

const NATIVE_SOURCE = /\{\s*\[native code\]\s*\}\s*$/;

function nativeFunctionError(fn: TaskFunction, name: string): UnserializableError {
  const hint = "Put the call inside a function of your own and pass that one " +
    "(declare it with taskModule(import.meta.url, { ... }) if it needs imports).";
  if (fn.name.startsWith("bound ")) {
    return new UnserializableError(
      `task function '${name}'`,
      "a bound function (its bound `this` and arguments are hidden from the codec)",
      "Pass the bound values as task arguments instead, or " + hint[0].toLowerCase() +
        hint.slice(1),
    );
  }
  return new UnserializableError(
    `task function '${name}'`,
    "a native function not reachable from globalThis by a known path",
    hint,
  );
}

// ---------------------------------------------------------------------------------------------
// Built-in functions travel as their path from globalThis.

/** Globals that exist in the main thread only; a task on a worker thread cannot use them. */
const MAIN_THREAD_ONLY = new Set([
  "alert",
  "confirm",
  "prompt",
  "localStorage",
  "sessionStorage",
  "closed",
  "onload",
  "onbeforeunload",
  "onunload",
]);

/**
 * Globals whose names are also common local variable names (`name`, `close`, `location`): a task
 * that reads a captured local of that name would silently read the global instead, so they do
 * not count as globals in the free-variable analysis.
 */
const SHADOW_PRONE = new Set([
  "name",
  "close",
  "location",
  "onerror",
  "onmessage",
  "onunhandledrejection",
  "postMessage",
]);

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;
let globalFunctions: Map<TaskFunction, string> | undefined;

/** `Math.max` → "Math.max": the shortest path from globalThis to a built-in function, if any. */
function globalFunctionPath(fn: TaskFunction): string | undefined {
  globalFunctions ??= buildGlobalFunctionTable();
  return globalFunctions.get(fn);
}

/** Functions at `globalThis.a` and `globalThis.a.b`, found once; shorter paths win. */
function buildGlobalFunctionTable(): Map<TaskFunction, string> {
  const table = new Map<TaskFunction, string>();
  const namespaces: [string, object][] = [];
  for (const name of Object.getOwnPropertyNames(globalThis)) {
    if (!IDENTIFIER.test(name) || MAIN_THREAD_ONLY.has(name) || SHADOW_PRONE.has(name)) continue;
    // Data properties only: reading a getter may have side effects or print deprecation notes.
    const value = Object.getOwnPropertyDescriptor(globalThis, name)?.value;
    if (typeof value === "function" && !table.has(value)) table.set(value, name);
    if ((typeof value === "function" || typeof value === "object") && value !== null) {
      if (value !== globalThis) namespaces.push([name, value]);
    }
  }
  for (const [base, namespace] of namespaces) {
    for (const key of Object.getOwnPropertyNames(namespace)) {
      if (!IDENTIFIER.test(key) || key === "prototype" || key === "constructor") continue;
      const value = Object.getOwnPropertyDescriptor(namespace, key)?.value;
      if (typeof value === "function" && !table.has(value)) table.set(value, `${base}.${key}`);
    }
  }
  return table;
}

// ---------------------------------------------------------------------------------------------
// Parsing: every form Function.prototype.toString gives becomes an expression.

type FunctionNode = ast.ArrowFunctionExpression | ast.FunctionExpression | ast.ClassExpression;

const PARSE_OPTIONS: ast.Options = { ecmaVersion: "latest", sourceType: "script" };

/**
 * Parses a function's source text into an expression that evaluates to the function: arrows,
 * function and class expressions as they are; method shorthand (`foo(x) { ... }`, also class
 * methods) wrapped in an object literal so `super` and computed names keep working.
 */
function parseFunctionSource(
  text: string,
  name: string,
): { expression: string; root: FunctionNode } {
  const asExpression = tryParse(`(${text})`);
  if (asExpression !== undefined) {
    const node = singleExpression(asExpression);
    if (
      node?.type === "ArrowFunctionExpression" || node?.type === "FunctionExpression" ||
      node?.type === "ClassExpression"
    ) {
      return { expression: text, root: node };
    }
  }
  const asMethod = tryParse(`({${text}})`);
  const object = asMethod === undefined ? undefined : singleExpression(asMethod);
  if (object?.type === "ObjectExpression" && object.properties.length === 1) {
    const property = object.properties[0];
    if (property.type === "Property" && property.kind === "init" && property.method) {
      return {
        expression: `((o) => o[Reflect.ownKeys(o)[0]])({${text}})`,
        root: methodAsRoot(property),
      };
    }
    if (property.type === "Property" && property.kind !== "init") {
      throw new UnserializableError(
        `task function '${name}'`,
        `a ${property.kind}ter`,
        "Pass a plain function that takes the object as an argument instead.",
      );
    }
  }
  throw new UnserializableError(
    `task function '${name}'`,
    `a function whose source text cannot be parsed (private methods cannot be): ` +
      JSON.stringify(text.length > 80 ? text.slice(0, 77) + "..." : text),
    "Use an arrow function, a function expression, or taskModule(import.meta.url, { ... }).",
  );
}

function tryParse(code: string): ast.Program | undefined {
  try {
    return parse(code, PARSE_OPTIONS);
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
}

function singleExpression(program: ast.Program): ast.Expression | undefined {
  if (program.body.length !== 1) return undefined;
  const statement = program.body[0];
  return statement.type === "ExpressionStatement" ? statement.expression : undefined;
}

/**
 * A method's computed key is evaluated where the method is written, so it is analysed with the
 * method: the root is a class expression holding just that method (which binds no names).
 */
function methodAsRoot(property: ast.Property): ast.ClassExpression {
  const method: ast.MethodDefinition = {
    type: "MethodDefinition",
    start: property.start,
    end: property.end,
    key: property.key,
    value: property.value as ast.FunctionExpression,
    kind: "method",
    computed: property.computed,
    static: false,
  };
  const body: ast.ClassBody = {
    type: "ClassBody",
    start: property.start,
    end: property.end,
    body: [method],
  };
  return { type: "ClassExpression", start: property.start, end: property.end, id: null, body };
}

// ---------------------------------------------------------------------------------------------
// Free-variable analysis: a scope-aware walk of the function's syntax tree.

/** One lexical scope: the names it declares, and the scope it sits in. */
class Scope {
  readonly names = new Set<string>();
  constructor(readonly parent: Scope | null) {}

  resolves(name: string): boolean {
    if (this.names.has(name)) return true;
    return this.parent !== null && this.parent.resolves(name);
  }
}

/** Names a task on a worker thread can read without owning them. */
function isWorkerGlobal(name: string): boolean {
  return name in globalThis && !MAIN_THREAD_ONLY.has(name) && !SHADOW_PRONE.has(name);
}

/**
 * The variables `root` reads (or writes) without declaring them and that are not worker
 * globals, in order of first use. `typeof x` counts as a read: a captured local read through
 * `typeof` would silently become `"undefined"` on a worker.
 */
function findFreeVariables(root: FunctionNode): string[] {
  const free = new Set<string>();
  const reference = (name: string, scope: Scope): void => {
    if (!scope.resolves(name) && !isWorkerGlobal(name)) free.add(name);
  };

  const visit = (node: ast.AnyNode | null | undefined, scope: Scope): void => {
    if (node == null) return;
    switch (node.type) {
      case "Identifier":
        reference(node.name, scope);
        return;
      case "FunctionExpression":
      case "FunctionDeclaration":
      case "ArrowFunctionExpression":
        visitFunction(node, scope);
        return;
      case "ClassExpression":
      case "ClassDeclaration":
        visitClass(node, scope);
        return;
      case "BlockStatement":
        visitStatements(node.body, blockScope(node.body, scope));
        return;
      case "StaticBlock": {
        const inner = new Scope(scope);
        hoistVars(node.body, inner);
        declareLexical(node.body, inner);
        visitStatements(node.body, inner);
        return;
      }
      case "VariableDeclaration":
        for (const declarator of node.declarations) {
          visitPattern(declarator.id, scope, true);
          visit(declarator.init, scope);
        }
        return;
      case "ForStatement": {
        const inner = new Scope(scope);
        if (node.init?.type === "VariableDeclaration") declareLexical([node.init], inner);
        visit(node.init, inner);
        visit(node.test, inner);
        visit(node.update, inner);
        visit(node.body, inner);
        return;
      }
      case "ForInStatement":
      case "ForOfStatement": {
        const inner = new Scope(scope);
        if (node.left.type === "VariableDeclaration") {
          declareLexical([node.left], inner);
          visit(node.left, inner);
        } else {
          visitPattern(node.left, inner, false);
        }
        visit(node.right, inner);
        visit(node.body, inner);
        return;
      }
      case "CatchClause": {
        const inner = new Scope(scope);
        if (node.param) {
          declarePattern(node.param, inner);
          visitPattern(node.param, inner, true);
        }
        visit(node.body, inner);
        return;
      }
      case "SwitchStatement": {
        visit(node.discriminant, scope);
        const statements = node.cases.flatMap((c) => c.consequent);
        const inner = blockScope(statements, scope);
        for (const switchCase of node.cases) {
          visit(switchCase.test, inner);
          visitStatements(switchCase.consequent, inner);
        }
        return;
      }
      case "LabeledStatement":
        visit(node.body, scope);
        return;
      case "BreakStatement":
      case "ContinueStatement":
      case "MetaProperty":
      case "PrivateIdentifier":
      case "Super":
      case "ThisExpression":
      case "Literal":
      case "TemplateElement":
      case "EmptyStatement":
      case "DebuggerStatement":
        return;
      case "MemberExpression":
        visit(node.object, scope);
        if (node.computed) visit(node.property, scope);
        return;
      case "Property":
        if (node.computed) visit(node.key, scope);
        visit(node.value, scope);
        return;
      case "MethodDefinition":
      case "PropertyDefinition":
        if (node.computed) visit(node.key, scope);
        visit(node.value, scope);
        return;
      case "AssignmentExpression":
        visitPattern(node.left, scope, false);
        visit(node.right, scope);
        return;
      default:
        visitChildren(node, scope);
    }
  };

  const visitChildren = (node: ast.AnyNode, scope: Scope): void => {
    for (const key in node) {
      if (key === "type" || key === "start" || key === "end" || key === "loc") continue;
      const value = (node as unknown as Record<string, unknown>)[key];
      if (Array.isArray(value)) {
        for (const item of value) if (isNode(item)) visit(item, scope);
      } else if (isNode(value)) {
        visit(value, scope);
      }
    }
  };

  const visitStatements = (statements: readonly ast.AnyNode[], scope: Scope): void => {
    for (const statement of statements) visit(statement, scope);
  };

  /**
   * Visits the expressions inside a pattern: defaults and computed keys always; the names
   * themselves only when the pattern assigns to existing variables (`binding` false).
   */
  const visitPattern = (pattern: ast.Pattern, scope: Scope, binding: boolean): void => {
    switch (pattern.type) {
      case "Identifier":
        if (!binding) reference(pattern.name, scope);
        return;
      case "MemberExpression":
        visit(pattern, scope);
        return;
      case "ObjectPattern":
        for (const property of pattern.properties) {
          if (property.type === "RestElement") {
            visitPattern(property.argument, scope, binding);
          } else {
            if (property.computed) visit(property.key, scope);
            visitPattern(property.value, scope, binding);
          }
        }
        return;
      case "ArrayPattern":
        for (const element of pattern.elements) {
          if (element) visitPattern(element, scope, binding);
        }
        return;
      case "RestElement":
        visitPattern(pattern.argument, scope, binding);
        return;
      case "AssignmentPattern":
        visitPattern(pattern.left, scope, binding);
        visit(pattern.right, scope);
        return;
    }
  };

  const visitFunction = (fn: ast.Function, scope: Scope): void => {
    let outer = scope;
    if (fn.id && (fn as ast.AnyNode).type === "FunctionExpression") {
      // A named function expression sees its own name.
      outer = new Scope(scope);
      outer.names.add(fn.id.name);
    }
    const inner = new Scope(outer);
    if ((fn as ast.AnyNode).type !== "ArrowFunctionExpression") inner.names.add("arguments");
    for (const param of fn.params) declarePattern(param, inner);
    if (fn.body.type === "BlockStatement") {
      hoistVars(fn.body.body, inner);
      declareLexical(fn.body.body, inner);
    }
    for (const param of fn.params) visitPattern(param, inner, true);
    if (fn.body.type === "BlockStatement") visitStatements(fn.body.body, inner);
    else visit(fn.body, inner);
  };

  const visitClass = (cls: ast.Class, scope: Scope): void => {
    visit(cls.superClass, scope);
    const inner = new Scope(scope);
    if (cls.id) inner.names.add(cls.id.name);
    for (const member of cls.body.body) visit(member, inner);
  };

  if (root.type === "ClassExpression") visitClass(root, new Scope(null));
  else visitFunction(root, new Scope(null));
  return [...free];
}

function isNode(value: unknown): value is ast.AnyNode {
  return typeof value === "object" && value !== null &&
    typeof (value as { type?: unknown }).type === "string";
}

/** A scope for a block, holding its `let`, `const`, `class` and function declarations. */
function blockScope(statements: readonly ast.Statement[], parent: Scope): Scope {
  const scope = new Scope(parent);
  declareLexical(statements, scope);
  return scope;
}

/** Declares the block-scoped names that `statements` introduce directly. */
function declareLexical(
  statements: readonly (ast.Statement | ast.VariableDeclaration)[],
  scope: Scope,
): void {
  for (const statement of statements) {
    if (statement.type === "VariableDeclaration" && statement.kind !== "var") {
      for (const declarator of statement.declarations) declarePattern(declarator.id, scope);
    } else if (
      (statement.type === "ClassDeclaration" || statement.type === "FunctionDeclaration") &&
      statement.id
    ) {
      scope.names.add(statement.id.name);
    }
  }
}

/**
 * Declares in a function scope the `var`s of its body, at any block depth, and (leniently, as
 * sloppy-mode scripts do) the functions declared in nested blocks. Nested functions and classes
 * have their own scopes and are not entered.
 */
function hoistVars(statements: readonly ast.Statement[], scope: Scope): void {
  const pending: (ast.Statement | null | undefined)[] = [...statements];
  while (pending.length > 0) {
    const statement = pending.pop();
    if (!statement) continue;
    switch (statement.type) {
      case "VariableDeclaration":
        if (statement.kind === "var") {
          for (const declarator of statement.declarations) declarePattern(declarator.id, scope);
        }
        break;
      case "FunctionDeclaration":
        scope.names.add(statement.id.name);
        break;
      case "BlockStatement":
        pending.push(...statement.body);
        break;
      case "IfStatement":
        pending.push(statement.consequent, statement.alternate);
        break;
      case "ForStatement":
        if (statement.init?.type === "VariableDeclaration") pending.push(statement.init);
        pending.push(statement.body);
        break;
      case "ForInStatement":
      case "ForOfStatement":
        if (statement.left.type === "VariableDeclaration") pending.push(statement.left);
        pending.push(statement.body);
        break;
      case "WhileStatement":
      case "DoWhileStatement":
      case "LabeledStatement":
      case "WithStatement":
        pending.push(statement.body);
        break;
      case "TryStatement":
        pending.push(statement.block, statement.handler?.body, statement.finalizer);
        break;
      case "SwitchStatement":
        for (const switchCase of statement.cases) pending.push(...switchCase.consequent);
        break;
    }
  }
}

/** Adds the names a binding pattern declares. */
function declarePattern(pattern: ast.Pattern, scope: Scope): void {
  switch (pattern.type) {
    case "Identifier":
      scope.names.add(pattern.name);
      return;
    case "ObjectPattern":
      for (const property of pattern.properties) {
        declarePattern(property.type === "RestElement" ? property.argument : property.value, scope);
      }
      return;
    case "ArrayPattern":
      for (const element of pattern.elements) if (element) declarePattern(element, scope);
      return;
    case "RestElement":
      declarePattern(pattern.argument, scope);
      return;
    case "AssignmentPattern":
      declarePattern(pattern.left, scope);
      return;
  }
}
