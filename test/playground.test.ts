// The playground (src/playground), in a real browser: the page built by
// scripts/build-playground.ts and served by `nnc playground`'s server, driven
// in Debian's headless Chromium by playwright-core. A model with a shape error
// is typed in and nnc's diagnostic appears where `nnc check` puts it; once
// fixed, both graphs and the backward math appear, linked to the source; the
// model trains 20 steps on the CPU (WebAssembly) with a falling loss, then on
// WebGPU where the browser has an adapter. Also ELK's layout of
// `nnc grad --format svg`, which the page shares.
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildPlayground } from "../scripts/build-playground.ts";
import { emitCpuModule } from "../src/backend/cpu/emit-module.ts";
import { renderDiagnostic } from "../src/diag/render.ts";
import { toSvg } from "../src/ir/draw.ts";
import { printGrad } from "../src/ir/print-grad.ts";
import { main } from "../src/cli.ts";
import { servePlayground } from "../src/playground/serve.ts";
import { runFrontEnd, runGrad } from "../src/pipeline.ts";
import { REQUIRED, useSoftwareDriverIfPresent } from "./webgpu-device.ts";

const ROOT = join(import.meta.dirname, "..");
const CHROMIUM = process.env["NNC_CHROMIUM"] ?? "/usr/bin/chromium";
const INSTALL = "apt-get install -y --no-install-recommends chromium";
/** As test/browser.test.ts: WebGPU without a GPU, on a closed network. */
const FLAGS = ["--enable-unsafe-webgpu", "--enable-features=Vulkan", "--no-sandbox", "--headless=new", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"];

const FIXED = `model tiny

dim batch
input  x: [batch, 784]
target y: [batch, 10]

param W0: [784, 32] = uniform(-0.05, 0.05)
param W1: [32, 10]  = uniform(-0.1, 0.1)

h = tanh(x W0)
p = softmax(h W1)

output p
loss = cross_entropy(p, y)

train sgd(lr = 0.5, batch = 32)
`;
/** The same model with W1's rows disagreeing with h's columns. */
const BROKEN = FIXED.replace("[32, 10]", "[30, 10]");

describe("nnc grad --format svg (ELK's layout, shared with the playground)", () => {
  const g = runGrad("examples/mnist_tanh.nn", readFileSync(join(ROOT, "examples/mnist_tanh.nn"), "utf8")).grad!;
  const boxes = (svg: string) => [...svg.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => m.slice(1).map(Number));

  it("draws every node once, without overlaps, and every edge, the same way every time", async () => {
    const svg = await toSvg(g);
    expect(await toSvg(g)).toBe(svg);
    const shown = g.nodes.filter((n) => n.op !== "const" && n.op !== "dimval");
    const r = boxes(svg);
    expect(r).toHaveLength(shown.length);
    for (let i = 0; i < r.length; i++)
      for (let j = i + 1; j < r.length; j++) {
        const [a, b] = [r[i]!, r[j]!];
        const apart = a[0]! + a[2]! <= b[0]! || b[0]! + b[2]! <= a[0]! || a[1]! + a[3]! <= b[1]! || b[1]! + b[3]! <= a[1]!;
        expect(apart, `boxes ${i} and ${j} overlap`).toBe(true);
      }
    const edges = shown.reduce((s, n) => s + n.args.filter((a) => shown.some((m) => m.id === a)).length, 0);
    expect(svg.match(/<polyline /g)).toHaveLength(edges);
    // Forward and backward nodes are told apart, and each names its source line.
    expect(svg.match(/class="node backward"/g)!.length).toBe(shown.filter((n) => n.id >= g.forwardCount).length);
    const w1 = g.nodes.find((n) => n.name === "W1")!;
    expect(svg).toContain(`data-node="${w1.id}" data-line="${g.file.lineCol(w1.span.start).line}"`);
  });
});

describe("nnc playground", () => {
  it("refuses a port that is not one, as a usage error", async () => {
    for (const port of ["abc", "70000", "-1"]) expect(await main(["playground", "--port", port]), port).toBe(2);
  });
});

type State = { analyses: number; analyzed: string; diagnostics: { code: string; from: number; to: number; message: string; rendered: string }[]; losses: number[]; backend: string; module: string; error: string };

/** The steps below share one page, in order: each leaves it as the next expects. */
describe.runIf(existsSync(CHROMIUM))("the playground in headless Chromium", () => {
  let dir: string;
  let stop: () => void;
  let url: string;
  let browser: Browser;
  let page: Page;
  const errors: string[] = [];
  const state = () => page.evaluate(() => (globalThis as unknown as { playground: State }).playground);
  const g = runGrad("model.nn", FIXED).grad!;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "nnc-playground-"));
    await buildPlayground(dir);
    const s = await servePlayground(dir, 0);
    url = s.url;
    stop = () => s.server.close();
    useSoftwareDriverIfPresent();
    const { chromium } = await import("playwright-core");
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true });
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(url);
    await page.waitForFunction("document.body.dataset.ready !== undefined && playground.analyses > 0");
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    stop?.();
    rmSync(dir, { recursive: true, force: true });
    expect(errors).toEqual([]);
  });

  /** Replaces the editor's text by typing, and waits for the compiler Worker's answer. */
  /** Types a model and waits for the analysis of that text: an answer about the text before it may still arrive in between. */
  async function typeModel(text: string): Promise<void> {
    await page.click(".cm-content");
    await page.keyboard.press("Control+A");
    await page.keyboard.insertText(text);
    await page.waitForFunction((t) => (globalThis as unknown as { playground: State }).playground.analyzed === t, text);
  }

  /** Waits until the page has `n` losses (or an error) from a training run on `backend`. */
  async function trainUntil(n: number, backend: string): Promise<void> {
    await page.waitForFunction(([n, b]) => { const p = (globalThis as unknown as { playground: State }).playground; return (p.backend === b && p.losses.length >= n) || p.error !== ""; }, [n, backend] as const, { timeout: 90_000 });
    await page.click("#stop");
    await page.waitForSelector("#resume:not([disabled])");
    expect((await state()).error).toBe("");
  }

  it("serves only the page's own files", async () => {
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(`${url}mnist.bin`)).status).toBe(200);
    for (const bad of ["../package.json", "%2e%2e%2fpackage.json", "nope.js", "index.html/"]) expect((await fetch(url + bad)).status, bad).toBe(404);
  });

  it("loads an example from the menu", async () => {
    await page.selectOption("#examples", "perceptron_and");
    await page.waitForFunction('document.querySelector(".cm-content").textContent.includes("model perceptron_and")');
  });

  it("shows a shape error as you type: nnc check's diagnostics, at the same span", async () => {
    await typeModel(BROKEN);
    const expected = runFrontEnd("model.nn", BROKEN).diagnostics.sorted();
    expect(expected.length).toBeGreaterThan(0);
    const shown = (await state()).diagnostics;
    expect(shown.map((d) => [d.code, d.from, d.to, d.message, d.rendered])).toEqual(expected.map((d) => [d.code, d.span.start, d.span.end, d.message, renderDiagnostic(d)]));
    expect(await page.textContent("#diagnostics")).toContain(renderDiagnostic(expected[0]!));
    expect(await page.locator(".cm-lintRange-error").first().textContent()).toBe(BROKEN.slice(expected[0]!.span.start, expected[0]!.span.end));
  });

  it("once fixed, draws both graphs linked to the source, the backward math and the shapes", async () => {
    await typeModel(FIXED);
    expect((await state()).diagnostics).toEqual([]);
    expect(await page.textContent("#diagnostics")).toBe("model.nn: ok");
    expect(await page.locator("#forward g.node").count()).toBe(g.nodes.filter((n) => n.id < g.forwardCount && n.op !== "const" && n.op !== "dimval").length);
    expect(await page.locator("#backward g.node.backward").count()).toBeGreaterThan(0);
    expect(await page.textContent("#math")).toBe(printGrad(g));
    await page.locator(".cm-line", { hasText: "h = tanh(x W0)" }).hover({ position: { x: 3, y: 6 } });
    expect(await page.locator(".nn-shape").textContent({ timeout: 5000 })).toBe("h: [batch, 32] f32");
    // A node selects its line; the cursor's line marks its nodes.
    await page.locator('#forward g.node[data-line="8"]').first().click();
    expect(await page.evaluate("getSelection().toString()")).toBe("param W1: [32, 10]  = uniform(-0.1, 0.1)");
    expect(await page.locator('#forward g.node.active[data-line="8"]').count()).toBe(1);
  });

  it("keeps the model in the URL, so a link opens it", async () => {
    expect(page.url()).toMatch(/#model=[A-Za-z0-9_-]+$/);
    const again = await browser.newPage();
    await again.goto(page.url());
    await again.waitForSelector(".cm-content");
    expect(await again.textContent(".cm-content")).toContain("param W1: [32, 10]");
    await again.close();
  });

  it("trains 20 steps on the CPU (WebAssembly) with a falling loss; stops, resumes, downloads", { timeout: 120_000 }, async () => {
    await page.click("#train");
    await trainUntil(20, "CPU, WebAssembly SIMD");
    const cpu = await state();
    const losses = cpu.losses;
    console.log(`playground CPU losses: ${losses[0]!.toFixed(3)} … ${losses.slice(15, 20).map((l) => l.toFixed(3)).join(", ")}`);
    expect(losses.slice(15, 20).reduce((a, b) => a + b, 0) / 5).toBeLessThan(losses[0]! * 0.9);
    expect(await page.locator("#grid figure").count()).toBe(24);
    // The helper threads' JavaScript is the one part that differs: sucrase strips its types in the browser, esbuild in Node.
    const outsideHelper = (m: string) => m.replace(/const GEMM_HELPER_SOURCE = `[\s\S]*?[^\\]`;\n/, "");
    expect(outsideHelper(cpu.module)).toBe(outsideHelper(emitCpuModule(g)));
    // Resume goes on from the step it stopped at.
    await page.click("#resume");
    await trainUntil(losses.length + 1, cpu.backend);
    expect(await page.textContent("#train-status")).toMatch(new RegExp(`stopped at step ${(await state()).losses.length};`));
    const download = page.waitForEvent("download");
    await page.click("#download-checkpoint");
    const bytes = readFileSync((await (await download).path())!);
    expect(String.fromCharCode(...bytes.subarray(0, 4))).toBe("NNCK");
  });

  it("trains on WebGPU where the browser has an adapter", { timeout: 120_000 }, async (ctx) => {
    if ((await page.getAttribute("body", "data-ready")) !== "webgpu") {
      if (REQUIRED) throw new Error("NNC_REQUIRE_WEBGPU=1 but the browser has no WebGPU adapter");
      console.log("playground: the WebGPU step is skipped: this Chromium has no WebGPU adapter");
      ctx.skip();
    }
    await page.selectOption("#target", "webgpu");
    await page.click("#train");
    await trainUntil(10, "WebGPU");
    const gpu = await state();
    console.log(`playground WebGPU losses: ${gpu.losses.slice(0, 10).map((l) => l.toFixed(3)).join(", ")}`);
    for (const l of gpu.losses) expect(Number.isFinite(l)).toBe(true);
    expect(gpu.losses[9]!).toBeLessThan(gpu.losses[0]!);
  });
});

if (!existsSync(CHROMIUM)) {
  if (REQUIRED) throw new Error(`NNC_REQUIRE_WEBGPU=1 but there is no Chromium at ${CHROMIUM}; install it with \`${INSTALL}\``);
  describe("the playground in headless Chromium", () => {
    it.skip(`skipped: no Chromium at ${CHROMIUM}; install it with \`${INSTALL}\``, () => {});
  });
}
