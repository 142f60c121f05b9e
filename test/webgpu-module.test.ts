// The emitted WebGPU module as a product, without a device: golden module
// and WGSL files for every example, deterministic bytes, strict type
// checking against @webgpu/types, hostile names, no allocation per step, and
// the compile-time checks against WebGPU's limits.
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { checkWebgpuLimits } from "../src/backend/webgpu/limits.ts";
import { renderDiagnostics } from "../src/diag/render.ts";
import { runGrad } from "../src/pipeline.ts";
import { rendered } from "./helpers.ts";
import { WIDE } from "./webgpu-models.ts";

const ROOT = join(import.meta.dirname, "..");
const OUT = join(import.meta.dirname, ".generated", "webgpu-module");
const EXAMPLES = readdirSync(join(ROOT, "examples")).filter((f) => f.endsWith(".nn")).sort();

function compile(path: string, text: string) {
  const r = runGrad(path, text);
  if (!r.grad) throw new Error(rendered(r));
  return emitWebgpuModule(r.grad);
}
const example = (file: string) => compile(`examples/${file}`, readFileSync(join(ROOT, "examples", file), "utf8"));

describe("golden WebGPU modules and WGSL", () => {
  it.each(EXAMPLES)("%s", async (file) => {
    const { code, wgsl } = example(file);
    expect(example(file).code).toBe(code); // same source, same bytes
    const dir = join(ROOT, "test", "golden", file.replace(/\.nn$/, ""));
    await expect(code).toMatchFileSnapshot(join(dir, "webgpu.ts.golden"));
    await expect(wgsl).toMatchFileSnapshot(join(dir, "webgpu.wgsl.golden"));
  });

  it("says in each shader which source line it computes, with the user's names", () => {
    const { wgsl } = example("mnist_tanh.nn");
    expect(wgsl).toContain("// mnist_tanh.nn:18  l1 = dropout(tanh(l0 W0), 0.5)");
    expect(wgsl).toMatch(/var<storage, read> v_W0: array<f32>;/);
    expect(wgsl).toMatch(/var<storage, read> v_l0: array<f32>;/);
  });
});

describe("type checking", () => {
  it("compiles every example's WebGPU module with tsc --strict --noEmit and @webgpu/types", () => {
    const dir = join(OUT, "tsc");
    mkdirSync(dir, { recursive: true });
    const files = EXAMPLES.map((f) => {
      const path = join(dir, f.replace(/\.nn$/, ".ts"));
      writeFileSync(path, example(f).code);
      return path;
    });
    const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
    const options = {
      strict: true,
      noEmit: true,
      noUnusedLocals: true,
      noUnusedParameters: true,
      target: "ES2022",
      module: "ES2022",
      lib: ["ES2022", "DOM"],
      types: ["@webgpu/types"],
      typeRoots: [join(ROOT, "node_modules")],
    };
    writeFileSync(join(dir, "tsconfig.json"), JSON.stringify({ compilerOptions: options, files }));
    let output = "";
    try {
      execFileSync(process.execPath, [tsc, "-p", join(dir, "tsconfig.json")], { encoding: "utf8" });
    } catch (e) {
      output = String((e as { stdout?: string }).stdout ?? e);
    }
    expect(output).toBe("");
  });
});

describe("a step allocates nothing on the GPU", () => {
  it.each(EXAMPLES)("%s: buffers, bind groups and pipelines are made only in createModel", (file) => {
    const { code } = example(file);
    const body = code.slice(code.indexOf("export async function createModel"), code.indexOf("---- runtime"));
    const setup = body.slice(0, body.indexOf("let step = 0;"));
    const perStep = body.slice(body.indexOf("let step = 0;"));
    // readLosses returns a new array of the losses read: the only allocation, and on the host.
    const made = perStep.split("\n").filter((l) => /createBuffer|storageBuffer\(|uniformBuffer\(|bindGroup\(|computePipeline\(|createBindGroup|createShaderModule|new (Float32Array|Uint32Array|Int32Array|ArrayBuffer)\(/.test(l) && !l.includes("new Float32Array(count)"));
    expect(made).toEqual([]);
    expect(setup).toContain("computePipeline(");
  });
});

const HOSTILE = `# names chosen to collide with WGSL and with the generated code
model constructor
dim batch
dim gemm = 3
input __proto__: [batch, 4]
input let: [batch, gemm]
target struct: [batch, 2]
param array: [4, 2]
param f32: [gemm, 2]
param i: [2]
loop = relu(__proto__ array + let f32 + i)
output loop
loss = mse(loop, struct)
`;

describe("hostile names", () => {
  it("stay inside strings, comments and prefixed WGSL names", () => {
    const { code, plan } = compile("hostile.nn", HOSTILE);
    const wgsl = plan.shaders.map((s) => s.wgsl).join("\n"); // the optimizers' shaders name their buffers p, g, m, v
    // Every buffer is named v_NAME (a user's value) or t_ID (a temporary), never a bare user name.
    const names = [...wgsl.matchAll(/var<storage, read(?:_write)?> (\w+):/g)].map((m) => m[1]!);
    expect(names.length).toBeGreaterThan(0);
    for (const n of names) expect(n).toMatch(/^(v|t)_/);
    expect(names).toEqual(expect.arrayContaining(["v_array", "v_let", "v_f32", "v_i", "v___proto__"]));
    expect(code.slice(0, code.indexOf("---- runtime")).split("\n").filter((l) => /\bconstructor\b/.test(l.replace(/\/\/.*$/, "").replace(/"(?:[^"\\]|\\.)*"/g, '""')))).toEqual([]);
  });
});


describe("WebGPU limits", () => {
  it("splits a fused chain that needs more than 8 storage buffers, each part within the limit", () => {
    const { plan, wgsl } = compile("wide.nn", WIDE);
    expect(wgsl).toContain("(part 1 of 2)");
    for (const kernels of plan.kernels.values()) for (const { kernel: k } of kernels) expect(k.bindings.filter((b) => b.access !== "uniform").length).toBeLessThanOrEqual(8);
    const r = runGrad("wide.nn", WIDE);
    expect(checkWebgpuLimits(r.grad!).items).toEqual([]);
  });

  it("names the kernel, its line and the limit when a buffer is too large, and has no fallback", () => {
    const text = "model big\ndim batch\ninput x: [batch, 100000]\ntarget y: [batch, 400]\nparam W: [100000, 400]\np = x W\noutput p\nloss = mse(p, y)\n";
    const r = runGrad("big.nn", text);
    const bag = checkWebgpuLimits(r.grad!);
    expect(bag.items.length).toBeGreaterThan(0);
    const out = renderDiagnostics(bag.items, { color: false });
    expect(out).toContain("error[NNC401]: the WebGPU kernel of big.nn:6 (matrix product) binds a buffer of 160000000 bytes; WebGPU guarantees 134217728 per storage buffer binding (maxStorageBufferBindingSize)");
    expect(out).toContain("--> big.nn:6:5");
  });

  it("checks storage buffers, workgroup sizes and workgroup memory against the limits given", () => {
    const r = runGrad("examples/mnist_tanh.nn", readFileSync(join(ROOT, "examples", "mnist_tanh.nn"), "utf8"));
    const tight = { maxStorageBuffersPerShaderStage: 2, maxStorageBufferBindingSize: 1 << 30, maxComputeInvocationsPerWorkgroup: 64, maxComputeWorkgroupSizeX: 64, maxComputeWorkgroupSizeY: 64, maxComputeWorkgroupStorageSize: 1024 };
    const messages = checkWebgpuLimits(r.grad!, tight).items.map((d) => d.message);
    expect(messages.some((m) => m.includes("storage buffers; WebGPU guarantees 2 per shader stage (maxStorageBuffersPerShaderStage)"))).toBe(true);
    expect(messages.some((m) => m.includes("has workgroups of 16 × 16 invocations; WebGPU guarantees 64 (maxComputeInvocationsPerWorkgroup)"))).toBe(true);
    expect(messages.some((m) => m.includes("bytes of workgroup memory; WebGPU guarantees 1024 (maxComputeWorkgroupStorageSize)"))).toBe(true);
  });
});

describe("without an adapter", () => {
  // Linux only: there, no Vulkan driver means no adapter (elsewhere Dawn has other backends).
  it.runIf(process.platform === "linux")("createModel says so, and how to get a software driver", () => {
    const dir = join(OUT, "no-adapter");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "model.ts"), example("perceptron_and.nn").code);
    writeFileSync(join(dir, "main.ts"), `import { createModel } from "./model.ts";\ncreateModel({ dims: { batch: 4 } }).then(() => console.log("made"), (e: Error) => console.log(e.message));\n`);
    // No Vulkan driver at all: Dawn finds no adapter.
    const env = { ...process.env, VK_ICD_FILENAMES: join(dir, "no-such-driver.json") };
    const out = execFileSync(process.execPath, ["--import", "tsx", join(dir, "main.ts")], { cwd: ROOT, encoding: "utf8", env, stdio: ["ignore", "pipe", "ignore"] });
    expect(out).toContain("createModel: no WebGPU adapter");
    expect(out).toContain("npm run setup:webgpu");
  });
});

describe("nnc compile --target webgpu", () => {
  const cli = (args: string[]) => spawnSync(process.execPath, ["--import", "tsx", join(ROOT, "src", "cli.ts"), ...args], { cwd: ROOT, encoding: "utf8" });

  it("writes the module and, with --wgsl, its kernels", () => {
    const dir = join(OUT, "cli");
    mkdirSync(dir, { recursive: true });
    const r = cli(["compile", "examples/perceptron_and.nn", "--target", "webgpu", "-o", join(dir, "and.ts"), "--wgsl", join(dir, "and.wgsl")]);
    expect(r.status, r.stderr).toBe(0);
    const { code, wgsl } = example("perceptron_and.nn");
    expect(readFileSync(join(dir, "and.ts"), "utf8")).toBe(code);
    expect(readFileSync(join(dir, "and.wgsl"), "utf8")).toBe(wgsl);
  });

  it("refuses a model over WebGPU's limits with NNC401 at the line", () => {
    const dir = join(OUT, "cli");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "big.nn"), "model big\ndim batch\ninput x: [batch, 100000]\ntarget y: [batch, 400]\nparam W: [100000, 400]\np = x W\noutput p\nloss = mse(p, y)\n");
    const r = cli(["compile", join(dir, "big.nn"), "--target", "webgpu", "--no-color"]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("error[NNC401]: the WebGPU kernel of big.nn:6 (matrix product)");
    expect(r.stderr).toContain("big.nn:6:5");
    expect(r.stdout).toBe("");
  });

  it("says --wgsl needs --target webgpu", () => {
    const r = cli(["compile", "examples/perceptron_and.nn", "--wgsl", "x.wgsl"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("--wgsl needs --target webgpu");
  });
});

describe("bind groups", () => {
  it.each(EXAMPLES)("%s: one per distinct pipeline and buffers, shared by the steps (and programs) that bind the same", (file) => {
    const { code } = example(file);
    const groups = [...code.matchAll(/const (bg\d+) = bindGroup\(device, (k\d+), \[([^\]]*)\]\);/g)];
    const keys = groups.map((m) => `${m[2]} ${m[3]}`);
    expect(new Set(keys).size).toBe(keys.length);
    const dispatches = [...code.matchAll(/dispatch\(pass, (k\d+), (bg\d+), grid_\w+\)/g)];
    // Each dispatch binds a group made for its own pipeline, and every group is used.
    const pipelineOf = new Map(groups.map((m) => [m[1]!, m[2]!]));
    for (const d of dispatches) expect(pipelineOf.get(d[2]!)).toBe(d[1]);
    expect(new Set(dispatches.map((d) => d[2]))).toEqual(new Set(pipelineOf.keys()));
    // The forward steps recur in the loss and training programs: fewer groups than dispatches.
    expect(groups.length).toBeLessThan(dispatches.length);
  });
});
