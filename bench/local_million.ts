/**
 * Builds and computes a 1,000,000-task `delayed` graph on `sync`; prints
 * `<tasks> <seconds> <peak RSS bytes>`. Run by bench/local.ts in its own process.
 */

import { treeReductionOf } from "./tree.ts";
import { peakRss } from "./measure.ts";

const LEAVES = 500_000;
const start = performance.now();
const tree = treeReductionOf(LEAVES);
const value = await tree.compute({ scheduler: "sync" });
const seconds = (performance.now() - start) / 1000;
if (value !== (LEAVES * (LEAVES + 1)) / 2) throw new Error(`wrong result ${value}`);
console.log(`${2 * LEAVES - 1} ${seconds} ${peakRss()}`);
