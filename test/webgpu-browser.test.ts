// End to end in a browser: a page built from an emitted WebGPU module
// (bundled with esbuild, served from localhost) trains a few steps in
// Debian's headless Chromium, driven by playwright-core, and reports its
// losses. Without Chromium the test is skipped with the install command,
// unless NNC_REQUIRE_WEBGPU=1 (CI), where that is a failure.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { build } from "esbuild";
import { describe, expect, it } from "vitest";
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

async function bundle(): Promise<string> {
  const file = "examples/perceptron_and.nn";
  const r = runGrad(file, readFileSync(join(ROOT, file), "utf8"));
  const code = emitWebgpuModule(r.grad!).code;
  const out = await build({
    stdin: { contents: PAGE_SCRIPT, loader: "ts", resolveDir: ROOT, sourcefile: "page.ts" },
    bundle: true,
    format: "esm",
    target: "es2022",
    write: false,
    logLevel: "silent",
    plugins: [{ name: "model", setup: (b) => { b.onResolve({ filter: /^\.\/model\.ts$/ }, () => ({ path: "model.ts", namespace: "model" })); b.onLoad({ filter: /.*/, namespace: "model" }, () => ({ contents: code, loader: "ts" })); } }],
  });
  return out.outputFiles[0]!.text;
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

describe.runIf(existsSync(CHROMIUM))("WebGPU in a browser", () => {
  it("trains a few steps of an emitted module in headless Chromium", { timeout: 180_000 }, async () => {
    useSoftwareDriverIfPresent();
    const script = await bundle();
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
      const result = (await page.evaluate(() => (globalThis as unknown as { result: unknown }).result)) as { error?: string; losses: number[]; later: number[]; p: number[]; step: number };
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
    } finally {
      await browser.close();
      server.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });
});

if (!existsSync(CHROMIUM)) {
  describe("WebGPU in a browser", () => {
    it.skip(`skipped: no Chromium at ${CHROMIUM}; install it with \`${INSTALL}\``, () => {});
  });
}
