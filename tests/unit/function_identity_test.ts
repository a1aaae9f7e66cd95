import assert from "node:assert/strict";
import { describeFunction } from "../../core/function_codec.ts";
import type { GraphTaskSpec } from "../../protocol/messages.ts";
import { deriveFunctionIds, functionIdWork } from "../../scheduler/function_identity.ts";

const task = (key: string, fn: unknown): GraphTaskSpec => ({ key, fn, args: null, deps: [] });
const idOf = (fn: unknown) => {
  const spec = task("k", structuredClone(fn));
  deriveFunctionIds([spec]);
  return (spec.fn as { id: string }).id;
};

Deno.test("the scheduler's function id follows the spec's content, not the id a client chose", () => {
  const inc = describeFunction((x: number) => x + 1);
  assert.match(idOf(inc), /^sha256:/);
  assert.equal(idOf(inc), idOf({ ...inc, id: "anything else" })); // the client's id is ignored
  assert.equal(idOf(inc), idOf({ ...inc, origin: { file: "elsewhere.ts" } })); // a label only
  assert.notEqual(idOf(inc), idOf({ ...inc, source: "(x) => x - 1" })); // other code, other id
  assert.notEqual(idOf(inc), idOf({ ...inc, name: "dec" }));
  const mod = { kind: "module", id: "m", name: "f", url: "file:///a.ts", export: "f" };
  assert.notEqual(idOf(mod), idOf({ ...mod, url: "file:///b.ts" }));
});

Deno.test("a bound function's parts get derived ids; specs named again are one object", () => {
  const part = describeFunction((x: number) => x * 2);
  const bound = { kind: "bound", id: part.id, name: "b", factory: { ...part }, fns: [{ ...part }] };
  const specs = [task("a", bound), task("b", bound), task("c", null)];
  deriveFunctionIds(specs);
  const derived = specs[0].fn as typeof bound;
  assert.equal(specs[1].fn, derived);
  assert.match(derived.factory.id, /^sha256:/);
  assert.equal(derived.factory.id, derived.fns[0].id);
  assert.notEqual(derived.id, derived.factory.id);
  assert.equal(specs[2].fn, null); // a literal stays one
});

Deno.test("a derived id a message did not send, or a spec nested too deep, names no function", () => {
  let deep: Record<string, unknown> = { kind: "source", name: "f", source: "() => 1" };
  for (let i = 0; i < 100; i++) deep = { kind: "bound", name: "b", factory: deep, fns: [] };
  const specs = [
    task("a", idOf({ kind: "source", name: "f", source: "() => 1" })),
    task("b", deep),
  ];
  deriveFunctionIds(specs);
  assert.match(specs[0].fn as string, /^unsent:sha256:/);
  assert.equal(specs[1].fn, "unsent:too deep");
});

Deno.test("a spec sent again, in this message or a later one, is hashed once", () => {
  const inc = describeFunction((x: number) => x + 1.5); // a spec no other test hashed
  const first = [task("a", structuredClone(inc)), task("b", null)];
  first[1].fn = first[0].fn; // named again in its message: the same object
  const before = functionIdWork();
  const since = () => {
    const now = functionIdWork();
    return { texts: now.texts - before.texts, digests: now.digests - before.digests };
  };
  deriveFunctionIds(first);
  const id = (first[0].fn as { id: string }).id;
  assert.deepEqual(since(), { texts: 1, digests: 1 });
  // every later message decodes its specs anew: other objects, the same content and client id
  for (let message = 0; message < 3; message++) {
    const later = [task(`c${message}`, { ...structuredClone(inc), origin: { line: message } })];
    deriveFunctionIds(later);
    assert.equal((later[0].fn as { id: string }).id, id);
  }
  assert.deepEqual(since(), { texts: 1, digests: 1 }); // compared, neither written out nor hashed
  // the same content under another client id (another client): its text is known
  const other = [task("d", { ...structuredClone(inc), id: "another client's id" })];
  deriveFunctionIds(other);
  assert.equal((other[0].fn as { id: string }).id, id);
  assert.deepEqual(since(), { texts: 2, digests: 1 });
  // a client id sent again with other code gets that code's own id
  const swapped = [task("e", { ...structuredClone(inc), source: "(x) => x - 1.5" })];
  deriveFunctionIds(swapped);
  assert.notEqual((swapped[0].fn as { id: string }).id, id);
  assert.deepEqual(since(), { texts: 3, digests: 2 });
  // and the code sent first under that id is not taken for it afterwards either
  const back = [task("f", structuredClone(inc))];
  deriveFunctionIds(back);
  assert.equal((back[0].fn as { id: string }).id, id);
  const extra = [task("g", { ...structuredClone(inc), extra: 1 })];
  deriveFunctionIds(extra);
  assert.notEqual((extra[0].fn as { id: string }).id, id);
});

Deno.test("a spec nested too deep is refused for every task that names it", () => {
  let deep: Record<string, unknown> = { kind: "source", name: "f", source: "() => 1" };
  for (let i = 0; i < 100; i++) deep = { kind: "bound", name: "b", factory: deep, fns: [] };
  const specs = [task("a", deep), task("b", deep)];
  deriveFunctionIds(specs);
  assert.deepEqual(specs.map((s) => s.fn), ["unsent:too deep", "unsent:too deep"]);
  const later = [task("c", deep)];
  deriveFunctionIds(later);
  assert.equal(later[0].fn, "unsent:too deep");
});
