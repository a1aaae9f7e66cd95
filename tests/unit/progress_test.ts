import assert from "node:assert/strict";
import { formatSeconds, progressLine } from "../../collections/progress_bar.ts";

Deno.test("progressLine draws a proportional bar with counts and time", () => {
  const half = progressLine(50, 100, 1.25);
  assert.equal(half, `[${"#".repeat(20)}${" ".repeat(20)}]  50% | 50/100 tasks | 1.3s`);
  assert.match(progressLine(0, 0, 0), /100%/);
  assert.equal(formatSeconds(125), "2m05s");
});

Deno.test("compute({ progress: true }) prints plain lines when stderr is not a terminal", async () => {
  const script = `
    import { delayed } from "${new URL("../../mod.ts", import.meta.url).href}";
    const inc = (x) => x + 1;
    let d = delayed(inc)(0);
    for (let i = 0; i < 20; i++) d = delayed(inc)(d);
    console.log(await d.compute({ scheduler: "sync", progress: true, optimizeGraph: false }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", script],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), "21");
  const lines = stderr.trim().split("\n");
  assert.ok(!stderr.includes("\r"), "no carriage returns outside a terminal");
  assert.match(lines.at(-1)!, /100% \| 21\/21 tasks/);
});
