// Golden files for every example: the shaped forward IR (`nnc graph`) and the
// backward graph (`nnc grad`, text and JSON). A change shows up as a diff to
// review; regenerate on purpose with `npx vitest run test/golden.test.ts -u`.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { printGraph } from "../src/ir/print.ts";
import { gradToJson, printGrad } from "../src/ir/print-grad.ts";
import { runGrad } from "../src/pipeline.ts";
import { gradStats } from "../src/passes/stats.ts";

const ROOT = join(import.meta.dirname, "..");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();

describe.each(EXAMPLES)("%s", (file) => {
  const path = `examples/${file}`;
  const result = runGrad(path, readFileSync(join(ROOT, path), "utf8"));
  const golden = (name: string) => join(ROOT, "test", "golden", file.replace(/\.nn$/, ""), name);

  it("differentiates without diagnostics", () => {
    expect(result.diagnostics.items.map((d) => `${d.code} ${d.message}`)).toEqual([]);
    expect(result.grad).toBeDefined();
  });

  it("prints the forward IR", async () => {
    await expect(printGraph(result.shaped!)).toMatchFileSnapshot(golden("graph.txt"));
  });

  it("prints the backward graph as text", async () => {
    await expect(printGrad(result.grad!)).toMatchFileSnapshot(golden("grad.txt"));
  });

  it("prints the backward graph as JSON", async () => {
    await expect(JSON.stringify(gradToJson(result.grad!), null, 2) + "\n").toMatchFileSnapshot(golden("grad.json"));
  });

  it("prints the same bytes twice", () => {
    const again = runGrad(path, readFileSync(join(ROOT, path), "utf8"));
    expect(printGrad(again.grad!)).toBe(printGrad(result.grad!));
    expect(JSON.stringify(gradToJson(again.grad!))).toBe(JSON.stringify(gradToJson(result.grad!)));
  });

  it("keeps the backward pass within 3× the forward's ops and FLOPs (the cheap-gradient bound)", () => {
    const s = gradStats(result.grad!, { batch: 100 });
    expect(s.opRatio, `ops ${s.backward.ops} vs ${s.forward.ops}`).toBeLessThanOrEqual(3);
    expect(s.flopRatio, `FLOPs ${s.backward.flops} vs ${s.forward.flops}`).toBeLessThanOrEqual(3);
  });
});
