// The README's code is part of the product: the block that shows how to train
// with a compiled module is type-checked (strict) and run against a module
// compiled here from the example it names, so it cannot drift from the API.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const DIR = join(import.meta.dirname, ".generated", "readme");
const README = readFileSync(join(ROOT, "README.md"), "utf8");

/** The ```ts block that follows the marker comment naming this test. */
function testedBlock(): string {
  const at = README.indexOf("<!-- test/readme.test.ts");
  expect(at).toBeGreaterThan(0);
  const m = /```ts\n([\s\S]*?)```/.exec(README.slice(at));
  expect(m).not.toBeNull();
  return m![1]!;
}

describe("the README's module example", () => {
  const code = testedBlock();
  mkdirSync(DIR, { recursive: true });
  const file = "examples/mnist_tanh.nn";
  const r = runGrad(file, readFileSync(join(ROOT, file), "utf8"));
  if (!r.grad) throw new Error(rendered(r));
  writeFileSync(join(DIR, "mnist.ts"), emitCpuModule(r.grad));
  writeFileSync(join(DIR, "main.ts"), code);

  it("type-checks under tsc --strict", () => {
    const options = { strict: true, noEmit: true, target: "ES2022", module: "ES2022", moduleResolution: "bundler", allowImportingTsExtensions: true, lib: ["ES2022", "DOM"], types: [] };
    writeFileSync(join(DIR, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files: ["main.ts"] }));
    let output = "";
    try {
      execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", join(DIR, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe("");
  });

  it("runs, and the loss it prints falls", () => {
    const out = execFileSync(process.execPath, ["--import", "tsx", join(DIR, "main.ts")], { cwd: ROOT, encoding: "utf8" });
    const losses = [...out.matchAll(/loss ([\d.]+)/g)].map((m) => Number(m[1]));
    expect(losses).toHaveLength(5);
    expect(losses[4]!).toBeLessThan(losses[0]!);
    // The output's size and a checkpoint's (params, optimizer state and header).
    const [outputs, bytes] = out.trim().split("\n").at(-1)!.split(" ").map(Number);
    expect(outputs).toBe(1000);
    expect(bytes).toBeGreaterThan(3 * 4 * (784 * 100 + 100 * 10));
  });
});
