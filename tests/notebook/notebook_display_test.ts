/**
 * Notebook displays, for real (issue 18): registers Deno's Jupyter kernel in a temporary home,
 * runs a notebook of seed-001 cells with `jupyter nbconvert --execute`, and checks the HTML and
 * SVG each value displayed; headless Chromium renders the HTML outputs, and the screenshot goes
 * to artifacts/notebook/. Skips, saying why, when `jupyter nbconvert` (Debian's
 * `jupyter-nbconvert` and `python3-nbclient`, which .ci/run installs) or Chromium is missing.
 */

import assert from "node:assert/strict";
import { artifactsDir, chromiumMissing, openBrowser } from "../browser/chromium.ts";
import { killMarked } from "../helpers/marked_processes.ts";

const MOD = new URL("../../mod.ts", import.meta.url).href;
const DATAFRAME = new URL("../../dataframe.ts", import.meta.url).href;

/** Debian's jupyter (the `python3` on PATH may be another one, without it). */
const JUPYTER = (() => {
  try {
    Deno.statSync("/usr/bin/jupyter");
    return "/usr/bin/jupyter";
  } catch {
    return "jupyter";
  }
})();

function jupyterMissing(): string | null {
  try {
    const out = new Deno.Command(JUPYTER, {
      args: ["nbconvert", "--version"],
      stdout: "null",
      stderr: "null",
    }).outputSync();
    if (out.success) return null;
  } catch {
    // not installed
  }
  return "notebook test skipped: `jupyter nbconvert` is missing " +
    "(apt-get install jupyter-nbconvert python3-nbclient python3-ipykernel)";
}

const missing = jupyterMissing();
if (missing !== null) console.warn(missing);

/**
 * The notebook's cells: seed 001's first steps, each displaying a value. They call
 * `Deno.jupyter.display` (which uses the same `Symbol.for("Jupyter.display")` method as a value
 * left at a cell's end) because nbclient loses a cell's execute_result of Deno's kernel now and
 * then (measured: 1 notebook in 3 lost one, also for `const a = 1; a`), while a display sent
 * during the cell was lost only in the first cell, here the imports.
 */
const CELLS = [
  `import { array, bag, Client, delayed } from ${JSON.stringify(MOD)};
import { dataframe as dd } from ${JSON.stringify(DATAFRAME)};`,
  `const x = array.random.random([4000, 4000], { chunks: [500, 500] });
await Deno.jupyter.display(x);`,
  `const inc = (i: number) => i + 1;
const add = (a: number, b: number) => a + b;
const total = delayed(add)(delayed(inc)(1), delayed(inc)(2));
await Deno.jupyter.display(total);`,
  `const b = bag.fromSequence([1, 2, 3, 4, 5, 6, 7, 8], { npartitions: 4 }).map(inc).filter((i: number) => i % 2 === 0);
await Deno.jupyter.display(b);`,
  `const df = dd.fromRecords([{ a: 1, b: "x" }, { a: 2, b: "y" }, { a: 3, b: "z" }], { npartitions: 2 });
await Deno.jupyter.display(df);`,
  `const client = await Client.local({ nWorkers: 1, threadsPerWorker: 1 });
await Deno.jupyter.display(client);`,
  `const future = client.submit(inc, 41);
await future;
await Deno.jupyter.display(future);`,
  `await Deno.jupyter.display(await total.visualize());`,
  `await client.close();
await Deno.jupyter.display("closed");`,
];

function notebook(cells: string[]): string {
  return JSON.stringify({
    cells: cells.map((source) => ({
      cell_type: "code",
      execution_count: null,
      metadata: {},
      outputs: [],
      source,
    })),
    metadata: {
      kernelspec: { display_name: "Deno", language: "typescript", name: "deno" },
      language_info: { name: "typescript" },
    },
    nbformat: 4,
    nbformat_minor: 5,
  });
}

interface Output {
  output_type: string;
  data?: Record<string, string | string[]>;
  text?: string | string[];
  ename?: string;
  evalue?: string;
}

/** Where this Deno keeps its cache (DENO_DIR, or the default under the real home). */
function denoDir(): string {
  const info = new Deno.Command(Deno.execPath(), {
    args: ["info", "--json"],
    stdout: "piped",
    stderr: "null",
  }).outputSync();
  return JSON.parse(new TextDecoder().decode(info.stdout)).denoDir;
}

function joined(value: string | string[] | undefined): string {
  return Array.isArray(value) ? value.join("") : value ?? "";
}

Deno.test({
  name:
    "a notebook of seed-001 cells displays arrays, graphs, frames, the client, futures and visualize()",
  ignore: missing !== null,
  fn: async () => {
    const home = await Deno.makeTempDir({ prefix: "notebook-home-" });
    const marker = crypto.randomUUID();
    const env = {
      HOME: home,
      // the kernel shares this Deno's cache rather than downloading Polars again into the new home
      DENO_DIR: denoDir(),
      JUPYTER_DATA_DIR: `${home}/.local/share/jupyter`,
      JUPYTER_CONFIG_DIR: `${home}/.jupyter`,
      JUPYTER_RUNTIME_DIR: `${home}/runtime`,
      NOTEBOOK_TEST_MARKER: marker,
    };
    try {
      const install = await new Deno.Command(Deno.execPath(), {
        args: ["jupyter", "--install", "--force"],
        env,
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(install.success, new TextDecoder().decode(install.stderr));

      await Deno.writeTextFile(`${home}/seed001.ipynb`, notebook(CELLS));
      const execute = async (): Promise<Output[][]> => {
        const run = await new Deno.Command(JUPYTER, {
          args: [
            "nbconvert",
            "--execute",
            "--to",
            "notebook",
            "--output",
            "executed.ipynb",
            "--ExecutePreprocessor.kernel_name=deno",
            "--ExecutePreprocessor.timeout=300",
            "seed001.ipynb",
          ],
          cwd: home,
          env,
          stdout: "piped",
          stderr: "piped",
        }).output();
        assert.ok(run.success, new TextDecoder().decode(run.stderr));
        const executed = JSON.parse(await Deno.readTextFile(`${home}/executed.ipynb`));
        return executed.cells.map((cell: { outputs: Output[] }) => cell.outputs);
      };
      // A display of Deno's kernel can still get lost on its way to nbclient (see CELLS), also in
      // a cell that printed to stderr first (seen in CI: the client's cell kept only its
      // "Dashboard:" line): run the notebook again, at most twice. A display that is wrong, or
      // missing every time, still fails below.
      const lostDisplay = (all: Output[][]) =>
        all.slice(1).some((cellOutputs) => !cellOutputs.some((o) => o.data !== undefined));
      let outputs = await execute();
      for (let rerun = 0; rerun < 2 && lostDisplay(outputs); rerun++) {
        console.warn("a cell came back without its display; running the notebook once more");
        outputs = await execute();
      }
      for (const [i, cellOutputs] of outputs.entries()) {
        const error = cellOutputs.find((o) => o.output_type === "error");
        assert.equal(error, undefined, `cell ${i} failed: ${error?.ename}: ${error?.evalue}`);
      }
      const shown = (cell: number, mime: string): string => {
        const found = outputs[cell].find((o) => o.data?.[mime] !== undefined);
        assert.ok(
          found !== undefined,
          `cell ${cell} displayed no ${mime}: ${JSON.stringify(outputs[cell])}`,
        );
        return joined(found.data![mime]);
      };

      // the array: Dask's table and the chunk grid
      const arrayHtml = shown(1, "text/html");
      assert.match(arrayHtml, /<th>Bytes<\/th><td>122\.1 MiB<\/td><td>1\.91 MiB<\/td>/);
      assert.match(arrayHtml, /<th>Shape<\/th><td>\(4000, 4000\)<\/td><td>\(500, 500\)<\/td>/);
      assert.match(arrayHtml, /64 chunks/);
      assert.match(arrayHtml, /float64/);
      const grid = shown(1, "image/svg+xml");
      assert.equal(grid.match(/<line /g)?.length, 18, "8 × 8 chunks: 9 + 9 lines");
      assert.match(shown(1, "text/plain"), /^dask\.array<random_sample-/);

      // the delayed value and the bag: tasks and layers
      assert.match(shown(2, "text/html"), /3 tasks in 3 layers/);
      const bagHtml = shown(3, "text/html");
      assert.match(bagHtml, /dask\.bag&lt;/);
      assert.match(bagHtml, /\d+ tasks? in \d+ layers?/);

      // the dataframe: columns, dtypes, partitions
      const frameHtml = shown(4, "text/html");
      assert.match(frameHtml, /<th>a<\/th><th>b<\/th>/);
      assert.match(frameHtml, /npartitions=2/);
      assert.match(frameHtml, /Int64|Float64/);
      assert.match(frameHtml, /String/);

      // the client: workers, threads, memory, dashboard link
      const clientHtml = shown(5, "text/html");
      assert.match(clientHtml, /<th>Workers<\/th><td>1<\/td>/);
      assert.match(clientHtml, /<th>Total threads<\/th><td>1<\/td>/);
      assert.match(clientHtml, /href="http:\/\/127\.0\.0\.1:\d+\/status[?"]/);

      // the future: status and key
      const futureHtml = shown(6, "text/html");
      assert.match(futureHtml, /status: <\/span><span[^>]*>finished<\/span>/);
      assert.match(futureHtml, /key:<\/span> inc-/);

      // visualize(): the graph drawn as SVG (asked for as DOT, the default), one node per task
      const picture = shown(7, "image/svg+xml");
      assert.match(picture, /^<svg /);
      assert.equal(picture.match(/<g class="node">/g)?.length, 3, "inc, inc and add");
      assert.match(picture, />add<\/text>/);
      assert.match(shown(7, "text/plain"), /^GraphPicture<add-[^,]+, 3 tasks, dot>$/);

      // Chromium renders what the notebook showed
      const skip = chromiumMissing();
      if (skip !== null) {
        console.warn(skip);
        return;
      }
      const page = `<!doctype html><meta charset="utf-8"><title>notebook outputs</title>` +
        `<body style="font-family: sans-serif">` +
        [1, 2, 3, 4, 5, 6].map((cell) =>
          `<section><h4>cell ${cell}</h4>${shown(cell, "text/html")}</section>`
        )
          .join("") +
        `<section><h4>cell 7</h4>${shown(7, "image/svg+xml")}</section></body>`;
      await Deno.writeTextFile(`${home}/outputs.html`, page);
      const browser = await openBrowser(1000, 1400);
      try {
        await browser.page.goto(`file://${home}/outputs.html`);
        const svgBox = await browser.page.locator("svg").first().boundingBox();
        assert.ok(
          svgBox !== null && svgBox.width > 100 && svgBox.height > 100,
          "the chunk grid is drawn",
        );
        const nodes = await browser.page.locator("section:last-child svg g.node").count();
        assert.equal(nodes, 3, "the graph's SVG renders its three tasks");
        const shots = await artifactsDir("notebook");
        await browser.page.screenshot({ path: `${shots}/seed001_outputs.png`, fullPage: true });
      } finally {
        await browser.close();
      }
    } finally {
      // the kernel's cluster stopped with the last cell; kill anything a failure left behind
      killMarked("NOTEBOOK_TEST_MARKER", marker);
      await Deno.remove(home, { recursive: true });
    }
  },
});
