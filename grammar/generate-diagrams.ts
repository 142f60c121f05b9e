// Writes grammar/diagrams.html: railroad diagrams of every rule of the `.nn`
// grammar, drawn by chevrotain from the parser's serialized productions.
//
//   npm run diagrams                      # regenerate grammar/diagrams.html (committed)
//   npm run diagrams -- --offline         # a copy that loads its scripts from node_modules
//   npm run diagrams -- --offline --out FILE
//
// The committed page loads chevrotain's diagram scripts and stylesheet from
// unpkg, pinned to the installed chevrotain version, so it needs the network
// when opened. `--offline` writes a page (outside the repository by default)
// whose <script>/<link> tags point at node_modules/chevrotain/diagrams by
// absolute file:// URL instead: nothing is fetched from the network.
//
// The output is a pure function of the grammar and the chevrotain version
// (no dates, no paths in the committed page), so regenerating an unchanged
// grammar gives a byte-identical file; test/grammar-artifacts.test.ts checks
// that the committed page is up to date.
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createSyntaxDiagramsCode, VERSION } from "chevrotain";
import { NnParser } from "./parser.ts";

const HERE = fileURLToPath(new URL(".", import.meta.url));
export const DIAGRAMS_PATH = join(HERE, "diagrams.html");

export interface DiagramsOptions {
  /** Base URL (ending in `/`) of chevrotain's `diagrams/` folder. Default: unpkg, pinned to chevrotain's VERSION. */
  readonly resourceBase?: string;
  /** URL of the stylesheet. Default: `${resourceBase}diagrams.css`. */
  readonly css?: string;
}

/** The CDN the committed page uses, pinned to the exact chevrotain version installed. */
export function cdnResourceBase(): string {
  return `https://unpkg.com/chevrotain@${VERSION}/diagrams/`;
}

/** The local copy of chevrotain's diagram resources, as a file:// URL ending in `/`. */
export function localResourceBase(): string {
  const dir = resolve(HERE, "..", "node_modules", "chevrotain", "diagrams");
  return `${pathToFileURL(dir).href}/`;
}

/** The HTML of the syntax diagrams of the `.nn` grammar. Deterministic. */
export function generateDiagramsHtml(options: DiagramsOptions = {}): string {
  const resourceBase = options.resourceBase ?? cdnResourceBase();
  const css = options.css ?? `${resourceBase}diagrams.css`;
  const parser = new NnParser();
  const html = createSyntaxDiagramsCode(parser.getSerializedGastProductions(), { resourceBase, css });
  // chevrotain leaves trailing spaces on a line; strip them so editors and
  // `git diff --check` leave the committed file alone, and end with one newline.
  return `${html.replace(/[ \t]+$/gm, "").trim()}\n`;
}

function main(argv: readonly string[]): void {
  const offline = argv.includes("--offline");
  const outIndex = argv.indexOf("--out");
  const unknown = argv.filter((a, i) => a !== "--offline" && a !== "--out" && !(outIndex >= 0 && i === outIndex + 1));
  if ((outIndex >= 0 && argv[outIndex + 1] === undefined) || unknown.length > 0) {
    console.error("usage: tsx grammar/generate-diagrams.ts [--offline] [--out FILE]");
    process.exitCode = 2;
    return;
  }
  const out =
    outIndex >= 0
      ? resolve(argv[outIndex + 1]!)
      : offline
        ? join(tmpdir(), "nn-diagrams.html")
        : DIAGRAMS_PATH;
  const html = generateDiagramsHtml(offline ? { resourceBase: localResourceBase() } : {});
  writeFileSync(out, html);
  console.log(`wrote ${out}${offline ? ` (open it as ${pathToFileURL(out).href})` : ""}`);
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
