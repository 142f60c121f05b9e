// The README's screenshots of the playground (docs/img/playground-*.png):
// `npx tsx scripts/playground-screenshots.ts` builds the page, serves it and
// drives Debian's headless Chromium through the three views they show.
import { join } from "node:path";
import { chromium } from "playwright-core";
import { servePlayground } from "../src/playground/serve.ts";
import { buildPlayground } from "./build-playground.ts";

const IMG = join(import.meta.dirname, "..", "docs", "img");
const { server, url } = await servePlayground(await buildPlayground(), 0);
const browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--headless=new"], headless: true });
const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
await page.goto(url);
await page.waitForFunction("playground.analyses > 0");
await page.click("text=Backward graph");
await page.locator(".cm-line", { hasText: "l2 = softmax" }).click();
await page.waitForTimeout(300);
await page.screenshot({ path: join(IMG, "playground-graph.png") });
// A shape error typed into W1's declaration: its 10 becomes 12.
await page.locator(".cm-line", { hasText: "param W1" }).click();
const line = await page.locator(".cm-line", { hasText: "param W1" }).textContent();
await page.keyboard.press("Home");
for (let i = 0; i < line!.indexOf("10]"); i++) await page.keyboard.press("ArrowRight");
await page.keyboard.press("Delete");
await page.keyboard.press("Delete");
await page.keyboard.type("12");
await page.waitForFunction("playground.diagnostics.length > 0");
await page.click("text=Forward graph");
await page.waitForTimeout(300);
await page.screenshot({ path: join(IMG, "playground-error.png") });
await page.keyboard.press("Control+Z");
await page.waitForFunction("playground.diagnostics.length === 0");
await page.click("#train");
await page.waitForFunction("playground.losses.length >= 300", undefined, { timeout: 120000 });
await page.click("#stop");
await page.waitForSelector("#resume:not([disabled])");
await page.waitForTimeout(500);
await page.screenshot({ path: join(IMG, "playground-training.png") });
await browser.close();
server.close();
