import assert from "node:assert/strict";
import { FunctionCache } from "../../core/function_cache.ts";
import {
  describeFunction,
  functionName,
  type FunctionSpec,
  taskModule,
} from "../../core/function_codec.ts";
import { FreeVariableError, UnserializableError } from "../../core/errors.ts";
import type { TaskFunction } from "../../core/task.ts";
import { restoreOriginFrames } from "../../core/function_origin.ts";
import { moreTasks, scaleAll, shift } from "../fixtures/task_module.ts";

/** Describes `fn`, compiles its spec as a worker thread would, and calls the result. */
async function roundTrip(fn: TaskFunction, ...args: unknown[]): Promise<unknown> {
  const spec = describeFunction(fn);
  const compiled = await new FunctionCache().get(structuredClone(spec));
  return await compiled(...args);
}

function freeVariables(fn: TaskFunction): readonly string[] {
  try {
    describeFunction(fn);
  } catch (error) {
    if (error instanceof FreeVariableError) return error.variables;
    throw error;
  }
  return [];
}

Deno.test("a typed arrow travels as its JavaScript source and runs after compiling", () => {
  const add = (a: number, b: number): number => a + b;
  const spec = describeFunction(add);
  assert.equal(spec.kind, "source");
  assert.equal(spec.name, "add");
  assert.match(spec.id, /^[0-9a-f]{16}$/);
  assert.doesNotMatch((spec as { source: string }).source, /number/, "types are stripped");
  const compiled = new FunctionCache().get(spec) as TaskFunction;
  assert.notEqual(compiled, add);
  assert.equal(compiled(2, 3), 5);
});

Deno.test("function forms: declaration, async, generator, method shorthand, class method", async () => {
  function factorial(n: number): number {
    return n <= 1 ? 1 : n * factorial(n - 1); // its own name is in scope
  }
  async function later(x: number): Promise<number> {
    await Promise.resolve();
    return x * 2;
  }
  function* upTo(n: number): Generator<number> {
    for (let i = 0; i < n; i++) yield i;
  }
  const object = {
    triple(x: number): number {
      return x * 3;
    },
    async "quoted-name"(x: number): Promise<number> {
      return await x + 1;
    },
    [Symbol.for("computed")](x: number): number {
      return -x;
    },
  };
  class Shapes {
    area(w: number, h: number): number {
      return w * h;
    }
    static perimeter(w: number, h: number): number {
      return 2 * (w + h);
    }
  }
  assert.equal(await roundTrip(factorial, 5), 120);
  assert.equal(await roundTrip(later, 4), 8);
  assert.deepEqual([...(await roundTrip(upTo, 3)) as Iterable<number>], [0, 1, 2]);
  assert.equal(await roundTrip(object.triple, 3), 9);
  assert.equal(await roundTrip(object["quoted-name"], 3), 4);
  assert.equal(await roundTrip(object[Symbol.for("computed")], 3), -3);
  assert.equal(await roundTrip(new Shapes().area, 2, 5), 10);
  assert.equal(await roundTrip(Shapes.perimeter, 2, 5), 14);
});

Deno.test("built-in functions travel as their path from globalThis", async () => {
  assert.equal((describeFunction(Math.max) as { source: string }).source, "Math.max");
  assert.equal((describeFunction(JSON.parse) as { source: string }).source, "JSON.parse");
  assert.equal(await roundTrip(Math.max, 3, 9, 4), 9);
  assert.deepEqual(await roundTrip(JSON.parse, '{"a":[1]}'), { a: [1] });
  assert.equal(await roundTrip(parseInt, "ff", 16), 255);
});

Deno.test("bound functions and unreachable natives are refused with a clear reason", () => {
  const add = (a: number, b: number) => a + b;
  assert.throws(() => describeFunction(add.bind(null, 1)), (error: Error) => {
    assert.ok(error instanceof UnserializableError);
    assert.match(error.message, /bound function/);
    assert.match(error.message, /task arguments/);
    return true;
  });
  // A prototype method is native and not reachable by a short path from globalThis.
  assert.throws(() => describeFunction(Array.prototype.map), /native function/);
});

Deno.test("getters and private methods cannot travel", () => {
  const getter = Object.getOwnPropertyDescriptor({
    get value() {
      return 1;
    },
  }, "value")!.get!;
  assert.throws(() => describeFunction(getter), /getter/);
  class Secret {
    #hidden(x: number) {
      return x;
    }
    expose() {
      return this.#hidden;
    }
  }
  assert.throws(() => describeFunction(new Secret().expose()), /cannot be parsed/);
});

Deno.test("a captured variable gives a FreeVariableError naming it and both fixes", () => {
  const k = 5;
  const addK = (x: number) => x + k;
  assert.throws(() => describeFunction(addK), (error: Error) => {
    assert.ok(error instanceof FreeVariableError);
    assert.deepEqual(error.variables, ["k"]);
    assert.equal(error.functionName, "addK");
    assert.match(error.message, /'k'/);
    assert.match(error.message, /argument/);
    assert.match(error.message, /taskModule\(import\.meta\.url/);
    return true;
  });
  // The outcome is cached per function object: the same error again, without reparsing.
  assert.throws(() => describeFunction(addK), FreeVariableError);
});

Deno.test("scope analysis: what a function declares itself is not free", () => {
  const cases: TaskFunction[] = [
    // destructuring, defaults that read earlier parameters, rest
    ({ a, b: [c, ...d] }: { a: number; b: number[] }, e = a + c, ...more: number[]) =>
      a + c + d.length + e + more.length,
    // nested functions and closures over the function's own locals
    (xs: number[]) => {
      const factor = 2;
      const scaleOne = (x: number) => x * factor;
      function helper(y: number) {
        return scaleOne(y) + inner;
      }
      // deno-lint-ignore no-var
      var inner = 1; // hoisted: used above its declaration
      return xs.map(helper);
    },
    // block scopes, catch parameters, labels, switch-case declarations, loops
    (n: number) => {
      let total = 0;
      outer: for (let i = 0; i < n; i++) {
        for (const j of [1, 2]) {
          if (j > i) continue outer;
          total += j;
        }
      }
      try {
        JSON.parse("{");
        // deno-lint-ignore no-explicit-any
      } catch ({ message }: any) {
        total += String(message).length > 0 ? 1 : 0;
      }
      switch (n) {
        case 1: {
          const one = 1;
          total += one;
          break;
        }
        default:
          total += 0;
      }
      return total;
    },
    // classes inside, `this`, `arguments`, member and key names are not references
    function (this: unknown) {
      class Point {
        constructor(readonly x: number) {}
        static origin = new Point(0);
        norm() {
          return Math.abs(this.x);
        }
      }
      const record = { total: 1, nested: { total: 2 } };
      return [new Point(arguments.length).norm(), record.nested.total, Point.origin.x];
    },
    // shadowing an outer name with a parameter
    (k: number) => k + 1,
    // globals of a worker thread
    async (text: string) => {
      const bytes = new TextEncoder().encode(JSON.stringify({ text, at: Date.now() }));
      const digest = await crypto.subtle.digest("SHA-256", bytes);
      console.debug(Deno.build.os, structuredClone(new Uint8Array(digest)).length);
      setTimeout(() => {}, 0);
      return Math.max(Number.MAX_SAFE_INTEGER, Array.from(bytes).length);
    },
  ];
  for (const fn of cases) assert.deepEqual(freeVariables(fn), [], fn.toString());
});

Deno.test("scope analysis: reads of outer variables are found wherever they hide", () => {
  const k = 1;
  const limit = 2;
  const Base = class {};
  const label = "x";
  assert.deepEqual(freeVariables(() => ({ k })), ["k"], "shorthand property");
  assert.deepEqual(freeVariables((x = k) => x), ["k"], "default parameter");
  assert.deepEqual(freeVariables(() => ({ [label]: 1 })), ["label"], "computed key");
  assert.deepEqual(freeVariables(() => typeof k), ["k"], "typeof counts as a read");
  assert.deepEqual(freeVariables(() => class extends Base {}), ["Base"], "superclass");
  assert.deepEqual(
    freeVariables((x: number) => x > limit ? k : limit),
    ["limit", "k"],
    "every variable, in order of first use",
  );
  assert.deepEqual(
    freeVariables(() => {
      {
        // deno-lint-ignore no-unused-vars
        const inside = 1;
      }
      // @ts-expect-error: `inside` is out of scope here, which is the point of the test.
      return inside;
    }),
    ["inside"],
    "block-scoped names end with their block",
  );
  let counter = 0;
  assert.deepEqual(freeVariables(() => counter++), ["counter"], "updates are reads");
  assert.deepEqual(freeVariables(() => ([counter] = [1])), ["counter"], "assignment targets");
  // `name` exists on globalThis, but a captured local of that name is far more likely.
  const name = "n";
  assert.deepEqual(freeVariables(() => name), ["name"]);
});

Deno.test("taskModule functions travel as module references with a file: url", async () => {
  const spec = describeFunction(shift);
  assert.equal(spec.kind, "module");
  const moduleSpec = spec as Extract<FunctionSpec, { kind: "module" }>;
  assert.equal(moduleSpec.export, "shift");
  assert.ok(moduleSpec.url.startsWith("file:"));
  assert.ok(moduleSpec.url.endsWith("/tests/fixtures/task_module.ts"));
  assert.equal(moduleSpec.id, `${moduleSpec.url}#shift`);
  assert.equal(functionName(shift), "shift");

  const cache = new FunctionCache();
  const loading = cache.get(spec);
  assert.ok(loading instanceof Promise, "the first use imports the module");
  assert.equal((await loading)(1), 11);
  const again = cache.get(spec);
  assert.equal(typeof again, "function", "later uses are synchronous");
  assert.deepEqual(await (await cache.get(describeFunction(scaleAll)))([1, 2], 3), [3, 6]);
  // Exported as part of the object taskModule returned.
  assert.equal((await cache.get(describeFunction(moreTasks.unshift)))(11), 1);
});

Deno.test("a missing export names the url and export and lists the module's exports", async () => {
  const url = new URL("../fixtures/task_module.ts", import.meta.url).href;
  const spec: FunctionSpec = {
    kind: "module",
    id: `${url}#nope`,
    name: "nope",
    url,
    export: "nope",
  };
  await assert.rejects(async () => await new FunctionCache().get(spec), (error: Error) => {
    assert.match(error.message, /task_module\.ts has no export 'nope'/);
    assert.match(error.message, /Its exports: .*answer.*shift/);
    return true;
  });
  const notFunction = { ...spec, id: `${url}#answer`, export: "answer" };
  await assert.rejects(async () => await new FunctionCache().get(notFunction), /as number/);
  const missingModule = { ...spec, url: new URL("./does_not_exist.ts", url).href };
  await assert.rejects(
    async () => await new FunctionCache().get(missingModule),
    /Could not import module .*does_not_exist\.ts for task function 'nope'/,
  );
});

Deno.test("compile errors name the function", () => {
  const broken: FunctionSpec = { kind: "source", id: "x", name: "broken", source: "(a) => {" };
  assert.throws(() => new FunctionCache().get(broken), /Task function 'broken' did not compile/);
  const notFunction: FunctionSpec = { kind: "source", id: "y", name: "seven", source: "7" };
  assert.throws(() => new FunctionCache().get(notFunction), /evaluates to number/);
});

Deno.test("a compiled function keeps its name, and its stack frames name it, not eval", () => {
  const score = (x: number) => {
    if (x > 1) throw new RangeError(`x is ${x}`);
    return x;
  };
  const compiled = new FunctionCache().get(describeFunction(score)) as TaskFunction;
  assert.equal(compiled.name, "score");
  const error = (() => {
    try {
      compiled(2);
    } catch (e) {
      return e as Error;
    }
    throw new Error("the compiled function did not throw");
  })();
  // the frame names where score was written: this file, the line of the throw
  const throwLine = Deno.readTextFileSync(new URL(import.meta.url)).split("\n")
    .findIndex((line) => line.includes("throw new RangeError(`x is ${x}`)")) + 1;
  const top = restoreOriginFrames(error.stack!.split("\n")[1]);
  assert.match(top, new RegExp(`at score \\(file://\\S+function_codec_test\\.ts:${throwLine}:`));
  assert.doesNotMatch(top, /eval at/);
  // without an origin (a spec from elsewhere), a frame still names the function, not eval
  const { origin: _, ...bare } = describeFunction(score) as Extract<
    FunctionSpec,
    { kind: "source" }
  >;
  const anonymous = new FunctionCache().get(bare) as TaskFunction;
  const bareTop = (() => {
    try {
      anonymous(2);
    } catch (e) {
      return (e as Error).stack!.split("\n")[1];
    }
  })();
  assert.match(bareTop!, /at score \(task-function\/score\.js/);
  // odd names cannot break out of the generated code or the script name
  const odd: FunctionSpec = { kind: "source", id: "z", name: 'a"b\n) c', source: "() => 1" };
  assert.equal((new FunctionCache().get(odd) as TaskFunction)(), 1);
});

Deno.test("the cache compiles each id once", () => {
  const cache = new FunctionCache();
  const spec = describeFunction((x: number) => x * 2);
  const first = cache.get(spec);
  assert.equal(cache.get({ ...spec }), first);
  assert.equal(cache.size, 1);
});

Deno.test("taskModule rejects a missing url and non-functions", () => {
  assert.throws(() => taskModule("not a url", { f: () => 1 }), /import\.meta\.url/);
  assert.throws(
    () => taskModule(import.meta.url, { f: 3 as unknown as TaskFunction }),
    /'f' is number, not a function/,
  );
});

Deno.test("specs travel to a worker thread and run there", async () => {
  const worker = new Worker(new URL("../fixtures/function_cache_worker.ts", import.meta.url), {
    type: "module",
  });
  const call = (fn: TaskFunction, ...args: unknown[]) =>
    new Promise<{ ok: boolean; value?: unknown; message?: string }>((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.postMessage({ spec: describeFunction(fn), args });
    });
  try {
    const sumSquares = (xs: number[]) => xs.reduce((total, x) => total + x * x, 0);
    assert.deepEqual(await call(sumSquares, [1, 2, 3]), { ok: true, value: 14 });
    assert.deepEqual(await call(Math.min, 4, 2), { ok: true, value: 2 });
    assert.deepEqual(await call(scaleAll, [1, 2], 10), { ok: true, value: [10, 20] });
    assert.deepEqual(await call(shift, 5), { ok: true, value: 15 });
  } finally {
    worker.terminate();
  }
});
