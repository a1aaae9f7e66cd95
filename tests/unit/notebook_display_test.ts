/** The MIME bundles `deno jupyter` shows for collections (tests/notebook runs a real kernel). */

import assert from "node:assert/strict";
import { array, bag, delayed } from "../../mod.ts";

const display = Symbol.for("Jupyter.display");

type Displayable = { [display](): Record<string, string> };

function bundleOf(value: unknown): Record<string, string> {
  return (value as Displayable)[display]();
}

Deno.test("an array shows Dask's table and its chunk grid", () => {
  const x = array.ones([1000, 300], { chunks: [250, 100] });
  const bundle = bundleOf(x);
  assert.match(bundle["text/plain"], /^dask\.array<full-/);
  const html = bundle["text/html"];
  assert.match(html, /<th>Bytes<\/th><td>2\.29 MiB<\/td><td>195\.3 KiB<\/td>/);
  assert.match(html, /<th>Shape<\/th><td>\(1000, 300\)<\/td><td>\(250, 100\)<\/td>/);
  assert.match(html, /12 chunks/);
  assert.match(html, /<th>Data type<\/th><td colspan="2">float64 NDArray<\/td>/);
  // 4 row blocks and 3 column blocks: 5 horizontal and 4 vertical lines
  assert.equal(bundle["image/svg+xml"].match(/<line /g)?.length, 9);
  assert.ok(html.includes(bundle["image/svg+xml"]), "the grid sits beside the table");
  // a 1-D array is a bar; a 0-d one has no picture
  assert.equal(
    bundleOf(array.arange(10, { chunks: 5 }))["image/svg+xml"].match(/<line /g)?.length,
    5,
  );
  assert.equal(bundleOf(array.ones([4], { chunks: 2 }).sum())["image/svg+xml"], undefined);
});

Deno.test("a delayed value and a bag show their tasks and layers", () => {
  const inc = (i: number) => i + 1;
  const add = (a: number, b: number) => a + b;
  const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
  const html = bundleOf(total)["text/html"];
  assert.match(html, /3 tasks in 3 layers/);
  assert.match(html, /<td>add<\/td><td>1<\/td>/);
  const b = bag.fromSequence([1, 2, 3, 4], { npartitions: 2 }).map(inc);
  const bagBundle = bundleOf(b);
  assert.match(bagBundle["text/plain"], /^dask\.bag<.*, npartitions=2>$/);
  assert.match(bagBundle["text/html"], /4 tasks in 2 layers/);
  assert.match(
    bagBundle["text/html"],
    /<td>fromSequence-bytes<\/td><td>2<\/td>.*<td>map<\/td><td>2<\/td>/,
  );
});

Deno.test("HTML of displays escapes what it shows", () => {
  const d = delayed((s: string) => s, { name: "<script>" })("x");
  const html = bundleOf(d)["text/html"];
  assert.doesNotMatch(html, /<script>/);
  assert.match(html, /&lt;script&gt;/);
});
