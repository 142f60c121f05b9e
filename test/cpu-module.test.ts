// The emitted CPU module as a product: golden files, strict type checking,
// deterministic bytes, safety against hostile names, allocation-free
// programs, input checks and checkpoints.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { describe, expect, it } from "vitest";
import { emitCpuModule, PART_LINES } from "../src/backend/cpu/emit-module.ts";
import { lower, planStats } from "../src/lower/lower.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "module");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();

function compile(path: string, text: string): string {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  return emitCpuModule(r.grad);
}

const example = (file: string) => compile(`examples/${file}`, readFileSync(join(ROOT, "examples", file), "utf8"));

async function load(name: string, code: string): Promise<Record<string, any>> {
  mkdirSync(OUT, { recursive: true });
  const path = join(OUT, `${name}.ts`);
  writeFileSync(path, code);
  return (await import(pathToFileURL(path).href)) as Record<string, any>;
}

describe("golden modules", () => {
  it.each(EXAMPLES)("%s", async (file) => {
    const code = example(file);
    expect(example(file)).toBe(code); // same source, same bytes
    await expect(code).toMatchFileSnapshot(join(ROOT, "test", "golden", file.replace(/\.nn$/, ""), "cpu.ts.golden"));
  });
});

describe("type checking", () => {
  it("compiles every example's module with tsc --strict --noEmit", () => {
    const dir = join(OUT, "tsc");
    mkdirSync(dir, { recursive: true });
    const files = EXAMPLES.map((f) => {
      const path = join(dir, f.replace(/\.nn$/, ".ts"));
      writeFileSync(path, example(f));
      return path;
    });
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    // A project of its own: the modules alone, strict, with no ambient types but the standard library's.
    const options = { strict: true, noEmit: true, noUnusedLocals: true, noUnusedParameters: true, target: "ES2022", module: "ES2022", lib: ["ES2022", "DOM"], types: [] };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files }));
    const args = [tsc, "-p", join(dir, "tsconfig.json")];
    let output = "";
    try {
      execFileSync(process.execPath, args, { encoding: "utf8" });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe("");
  });
});

describe("the programs allocate nothing", () => {
  it.each(EXAMPLES)("%s: no allocation in forward, loss, gradients, trainStep or the kernels they call", (file) => {
    const code = example(file);
    // The run* functions and update() are the per-call code; the runtime kernels follow the module body.
    const perCall = [...code.matchAll(/^ {2}function (run\w+|update)\(\)?[^\n]*\n([\s\S]*?)^ {2}\}$/gm)].map((m) => m[2]!);
    expect(perCall.length).toBeGreaterThanOrEqual(3);
    // The runtime, and the helper threads' copy of it, without the functions that run once at createModel.
    const runtime = code.slice(code.indexOf("---- runtime"));
    // Types (erased, so they allocate nothing, though a constructor or function type reads like code) go too.
    const kernels = runtime
      .replace(/^(export )?function (\w*(Workspace|Table|Checkpoint|Params)|create\w*|start\w*)\([\s\S]*?^\}$/gm, "")
      .replace(/^(export )?interface \w+ \{[\s\S]*?^\}$/gm, "")
      .replace(/^(export )?type \w+ = [^;]*;$/gm, "");
    for (const body of [...perCall, kernels]) {
      const code = body.split("\n").filter((l) => !/^\s*(\/\/|\/\*\*|\*)/.test(l));
      const allocations = code.filter((l) => /\bnew (?!Error|RangeError|\()|\.slice\(|\.subarray\(|\.map\(|\.concat\(|=> |\[\.\.\./.test(l) && !/throw /.test(l));
      expect(allocations).toEqual([]);
    }
  });
});

const HOSTILE = `# names chosen to collide with JavaScript and with the generated code
model constructor
dim batch
dim gemm = 3
input __proto__: [batch, 4]
input toString: [batch, gemm]
target process: [batch, 2]
param eval: [4, 2]
param f32: [gemm, 2]
param Function: [2]
hasOwnProperty = __proto__ eval + toString f32 + Function
output hasOwnProperty
loss = mse(hasOwnProperty, process)
`;

describe("hostile names", () => {
  it("compile to a module that only computes the model", async () => {
    const code = compile("hostile.nn", HOSTILE);
    // User names appear only inside strings, property keys and comments of the generated part (the
    // runtime that follows it is the same for every model, and itself uses `process` and `eval`).
    for (const line of code.slice(0, code.indexOf("---- runtime")).split("\n")) {
      const stripped = line.replace(/\/\/.*$/, "").replace(/"(?:[^"\\]|\\.)*"/g, '""');
      expect(stripped, line).not.toMatch(/\b(eval|process|Function|toString)\b/);
    }
    const mod = await load("hostile", code);
    const model = mod.createModel({ dims: { batch: 2 }, seed: 3 });
    expect(Object.keys(model.params).sort()).toEqual(["Function", "eval", "f32"]);
    const batch = { ["__proto__"]: new Float32Array(8), toString: new Float32Array(6), process: new Float32Array(4) };
    Object.defineProperty(batch, "__proto__", { value: new Float32Array(8).fill(0.5), enumerable: true });
    const loss = model.trainStep(batch);
    expect(Number.isFinite(loss)).toBe(true);
    expect(typeof globalThis.process.exit).toBe("function");
  });

  it("keeps source text in comments without a carriage return (CRLF files; a CR alone is NNC108)", () => {
    const code = compile("crlf.nn", "dim b\r\ninput x: [b, 2]\r\ny = relu(x)  # \r\noutput y\r\nloss = sum(y)\r\n");
    expect(code).toContain("y = relu(x)");
    expect(code).not.toMatch(/\r/);
    expect(runGrad("cr.nn", "dim b\ninput x: [b, 2]\ny = relu(x)  \r  \noutput y\nloss = sum(y)\n").diagnostics.items.map((d) => d.code)).toEqual(["NNC108"]);
  });
});

describe("the module's API", () => {
  it("names the input and its expected shape when a size is wrong", async () => {
    const mod = await load("mnist_tanh_api", example("mnist_tanh.nn"));
    const model = mod.createModel({ dims: { batch: 2 } });
    expect(() => model.forward({ l0: new Float32Array(10) })).toThrow("l0: expected shape [batch, 784] (1568 values with batch = 2, hidden = 100), got 10 values");
    expect(() => model.forward({})).toThrow("l0: expected a Float32Array of shape [batch, 784], got nothing");
    expect(() => mod.createModel({ dims: {} })).toThrow("dims.batch is required");
    expect(() => model.trainStep({ l0: new Float32Array(1568), y: new Float32Array(20) }, { lr: -1 })).toThrow("lr must be a finite non-negative number");
  });

  it("saves and loads checkpoints, and refuses a checkpoint that does not fit", async () => {
    const mod = await load("mnist_tanh_ckpt", example("mnist_tanh.nn"));
    const a = mod.createModel({ dims: { batch: 2 }, seed: 1 });
    const batch = { l0: new Float32Array(1568).fill(0.1), y: new Float32Array(20) };
    batch.y[3] = 1;
    batch.y[17] = 1;
    a.trainStep(batch, { optimizer: "adam", lr: 0.01 });
    a.trainStep(batch, { optimizer: "adam", lr: 0.01 });
    const bytes: Uint8Array = a.saveCheckpoint();
    const b = mod.createModel({ dims: { batch: 2 }, seed: 99 });
    b.loadCheckpoint(bytes);
    expect(b.step).toBe(2);
    expect(Array.from(b.params.W0)).toEqual(Array.from(a.params.W0));
    // The optimizer state came along: the next steps agree exactly.
    expect(b.trainStep(batch, { optimizer: "adam", lr: 0.01 })).toBe(a.trainStep(batch, { optimizer: "adam", lr: 0.01 }));
    expect(Array.from(b.params.W1)).toEqual(Array.from(a.params.W1));

    const other = mod.createModel({ dims: { batch: 2, hidden: 50 } });
    const before = Array.from(other.params.W0);
    expect(() => other.loadCheckpoint(bytes)).toThrow("param/W0 has shape [784, 100] in the checkpoint but [784, 50] in this model");
    expect(Array.from(other.params.W0)).toEqual(before);
    expect(() => b.loadCheckpoint(bytes.subarray(0, bytes.length - 4))).toThrow("truncated");
    expect(() => b.loadCheckpoint(new Uint8Array(16))).toThrow("not an nnc checkpoint");
  });
});

describe("the memory plan (nnc compile --stats)", () => {
  it("is the arena the module allocates, and smaller than one buffer per value", async () => {
    const r = runGrad("examples/mnist_tanh.nn", readFileSync(join(ROOT, "examples", "mnist_tanh.nn"), "utf8"));
    const g = r.grad!;
    const dims = { batch: 100, hidden: 100 };
    const stats = planStats(g, lower(g), dims);
    // Persistent: l0, y, and W0 and W1 with their gradients and two optimizer states; then the training
    // step's temporaries, the largest program: tanh, l1 (reused backward), the logits, l2 (reused), the loss.
    const persistent = 100 * 784 + 100 * 10 + 4 * (784 * 100) + 4 * (100 * 10);
    const training = 100 * 100 + 100 * 100 + 100 * 10 + 100 * 100 + 1;
    expect(stats.plannedBytes).toBe(4 * (persistent + training));
    expect(stats.naiveBytes).toBeGreaterThan(stats.plannedBytes);
    // The JavaScript kernels' arena is a Float32Array of exactly the planned length.
    const { createModel } = await load("mnist_tanh_plan", emitCpuModule(g));
    const model = createModel({ dims, wasm: false });
    expect(model.params.W0.buffer.byteLength).toBe(stats.plannedBytes);
  });

  it("is printed by nnc compile --stats, with the kernels' packing space", () => {
    const run = spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli.ts"), "compile", "examples/mnist_tanh.nn", "--stats", "--dim", "batch=100", "-o", join(OUT, "stats.ts")], { cwd: ROOT, encoding: "utf8" });
    expect(run.status).toBe(0);
    expect(run.stderr).toBe("memory (batch = 100, hidden = 100): planned 1.63 MiB, one buffer per value 1.85 MiB (12% saved), and 0.63 MiB of packing space per thread for the matrix products\n");
  });
});

describe("long programs", () => {
  it("are split into parts of whole source lines that V8 optimises (no function over PART_LINES lines but a single source line's)", () => {
    const code = example("mnist_resnet.nn");
    const lines = code.split("\n");
    const parts = new Map<string, number>();
    lines.forEach((l, i) => {
      const m = /^ {2}function (run(?:Train|Forward|ForwardTraining|Eval)(\d+))\(\): void \{$/.exec(l);
      if (m) parts.set(m[1]!, lines.indexOf("  }", i) - i - 1);
    });
    expect([...parts.keys()]).toContain("runTrain2");
    for (const [name, length] of parts) {
      // A part longer than the budget holds one source line's code alone: one comment at its top.
      if (length > PART_LINES) expect(lines.slice(lines.findIndex((l) => l.startsWith(`  function ${name}(`)) + 1).slice(0, length).filter((l) => /^ {4}\/\/ mnist_resnet\.nn:/.test(l)).length, name).toBe(1);
    }
    // runTrain calls its parts in order, and nothing else.
    const at = lines.indexOf("  function runTrain(): void {");
    const calls = lines.slice(at + 1, lines.indexOf("  }", at));
    expect(calls).toEqual(calls.map((_, k) => `    runTrain${k + 1}();`));
    expect(calls.length).toBe([...parts.keys()].filter((n) => /^runTrain\d/.test(n)).length);
  });
});
