// End to end in a browser: a page built from an emitted WebGPU module
// (bundled with esbuild, served from localhost) trains a few steps in
// Debian's headless Chromium, driven by playwright-core, and reports its
// losses; so does a page built from an emitted CPU module, whose matrix
// products must run on WebAssembly SIMD on the page's main thread (where
// Chromium compiles modules synchronously up to 8 MB, since version 114). Without Chromium the
// tests are skipped with the install command, unless NNC_REQUIRE_WEBGPU=1
// (CI), where that is a failure.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "../src/backend/webgpu/emit-module.ts";
import { runGrad } from "../src/pipeline.ts";
import { REQUIRED, useSoftwareDriverIfPresent } from "./webgpu-device.ts";

const ROOT = join(import.meta.dirname, "..");
const CHROMIUM = process.env["NNC_CHROMIUM"] ?? "/usr/bin/chromium";
const INSTALL = "apt-get install -y --no-install-recommends chromium";
/** Chromium's flags for WebGPU without a GPU, on a closed network (docs/webgpu.md). */
export const CHROMIUM_FLAGS = [
  "--enable-unsafe-webgpu",
  "--enable-features=Vulkan",
  "--no-sandbox",
  "--headless=new",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
  "--disable-quic",
];

if (!existsSync(CHROMIUM) && REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but there is no Chromium at ${CHROMIUM}; install it with \`${INSTALL}\``);

/** The page's script: the emitted module, a few training steps on a fixed batch, the losses into window.result. */
const PAGE_SCRIPT = `
import { createModel } from "./model.ts";
const result = (window as unknown as { result?: unknown });
try {
  const model = await createModel({ dims: { batch: 4 }, seed: 1 });
  const batch = { x: new Float32Array([0, 0, 0, 1, 1, 0, 1, 1]), y: new Float32Array([0, 0, 0, 1]) };
  const losses: number[] = [];
  for (let s = 0; s < 4; s++) losses.push(await model.trainStep(batch));
  model.enqueueTrainStep(batch);
  model.enqueueTrainStep(batch);
  const later = Array.from(await model.readLosses());
  const out = await model.forward(batch);
  result.result = { losses, later, p: Array.from(out.p), step: model.step };
} catch (e) {
  result.result = { error: String(e) };
}
`;

/** The page's script bundled with an emitted module as ./model.ts. */
async function bundle(pageScript: string, code: string): Promise<string> {
  const out = await build({
    stdin: { contents: pageScript, loader: "ts", resolveDir: ROOT, sourcefile: "page.ts" },
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
    plugins: [{ name: "model", setup: (b) => { b.onResolve({ filter: /^\.\/model\.ts$/ }, () => ({ path: "model.ts", namespace: "model" })); b.onLoad({ filter: /.*/, namespace: "model" }, () => ({ contents: code, loader: "ts" })); } }],
  });
  return out.outputFiles[0]!.text;
}

function compiled(file: string) {
  const r = runGrad(file, readFileSync(join(ROOT, file), "utf8"));
  if (!r.grad) throw new Error(`${file} does not compile`);
  return r.grad;
}

function serve(files: Record<string, [string, string]>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const f = files[req.url ?? ""];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { "content-type": f[0] }).end(f[1]);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve({ server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}/` })));
}

/** Serves a page running `script`, opens it in headless Chromium and returns what it put in window.result. */
async function runPage<T>(script: string): Promise<{ result: T & { error?: string }; logs: string[] }> {
  const { server, url } = await serve({
    "/": ["text/html", `<!doctype html><meta charset="utf-8"><title>nnc</title><script type="module" src="/app.js"></script>`],
    "/app.js": ["text/javascript", script],
  });
  const profile = mkdtempSync(join(tmpdir(), "nnc-chromium-"));
  const { chromium } = await import("playwright-core");
  // A fresh profile: playwright passes it as --user-data-dir.
  const browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
  try {
    const page = await browser.newPage();
    const logs: string[] = [];
    page.on("console", (m) => logs.push(m.text()));
    page.on("pageerror", (e) => logs.push(String(e)));
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as unknown as { result?: unknown }).result !== undefined, undefined, { timeout: 150_000 });
    const result = (await page.evaluate(() => (globalThis as unknown as { result: unknown }).result)) as T & { error?: string };
    return { result, logs };
  } finally {
    await browser.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

describe.runIf(existsSync(CHROMIUM))("WebGPU in a browser", () => {
  it("trains a few steps of an emitted module in headless Chromium", { timeout: 180_000 }, async () => {
    useSoftwareDriverIfPresent();
    const script = await bundle(PAGE_SCRIPT, emitWebgpuModule(compiled("examples/perceptron_and.nn")).code);
    const { result, logs } = await runPage<{ losses: number[]; later: number[]; p: number[]; step: number }>(script);
    expect(result.error, logs.join("\n")).toBeUndefined();
    console.log(`browser losses: ${result.losses.map((l) => l.toFixed(5)).join(", ")}; then ${result.later.map((l) => l.toFixed(5)).join(", ")}`);
    expect(result.losses).toHaveLength(4);
    // readLosses: every step since the last call, those trainStep read too.
    expect(result.later).toHaveLength(6);
    expect(result.later.slice(0, 4)).toEqual(result.losses);
    expect(result.step).toBe(6);
    for (const l of [...result.losses, ...result.later]) expect(Number.isFinite(l)).toBe(true);
    expect(result.later[5]!).toBeLessThan(result.losses[0]!); // training lowers the loss
    expect(result.p).toHaveLength(4);
  });
});

/** The CPU page: mnist_tanh at batch 8 on a fixed batch, three steps; the same code runs in Node for comparison. */
const CPU_STEPS = `
const model = createModel({ dims: { batch: 8 }, seed: 3 });
const l0 = Float32Array.from({ length: 8 * 784 }, (_, i) => ((i * 7919) % 255) / 255);
const y = new Float32Array(80);
for (let r = 0; r < 8; r++) y[r * 10 + (r % 10)] = 1;
const losses = [model.trainStep({ l0, y }), model.trainStep({ l0, y }), model.trainStep({ l0, y })];
const run = { wasm: model.wasm, wasmNote: model.wasmNote, threads: model.threads, losses, W1: Array.from(model.params["W1"]) };
`;

describe.runIf(existsSync(CHROMIUM))("the CPU module in a browser", () => {
  it("runs its matrix products on WebAssembly SIMD on the page's main thread, with Node's numbers", { timeout: 180_000 }, async () => {
    const code = emitCpuModule(compiled("examples/mnist_tanh.nn"));
    type Run = { wasm: boolean; wasmNote: string | null; threads: number; losses: number[]; W1: number[] };
    const page = `import { createModel } from "./model.ts";\nconst page = window as unknown as { result: unknown };\ntry {\n${CPU_STEPS}\npage.result = run;\n} catch (e) {\npage.result = { error: String(e) };\n}\n`;
    const { result, logs } = await runPage<Run>(await bundle(page, code));
    expect(result.error, logs.join("\n")).toBeUndefined();
    expect([result.wasm, result.wasmNote, result.threads]).toEqual([true, null, 1]);
    // The same module in Node: the same kernels and the same float32 steps.
    const node = new Function("createModel", `${CPU_STEPS}\nreturn run;`)(((await import(pathToFileURL(writeModule(code)).href)) as { createModel: unknown }).createModel) as Run;
    expect(node.wasm).toBe(true);
    expect(result.losses[2]!).toBeLessThan(result.losses[0]!);
    for (let i = 0; i < 3; i++) expect(Math.abs(result.losses[i]! - node.losses[i]!)).toBeLessThanOrEqual(1e-6 * Math.abs(node.losses[i]!));
    const worst = Math.max(...node.W1.map((w, i) => Math.abs(w - result.W1[i]!)));
    expect(worst).toBeLessThanOrEqual(1e-6);
  });
});

/** Writes an emitted module where Node can import it. */
function writeModule(code: string): string {
  const dir = join(import.meta.dirname, ".generated", "browser");
  mkdirSync(dir, { recursive: true });
  const path = join(dir, "mnist_tanh_cpu.ts");
  writeFileSync(path, code);
  return path;
}

if (!existsSync(CHROMIUM)) {
  describe("WebGPU and the CPU module in a browser", () => {
    it.skip(`skipped: no Chromium at ${CHROMIUM}; install it with \`${INSTALL}\``, () => {});
  });
}
