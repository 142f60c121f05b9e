// The example models and the error gallery. Every examples/*.nn must compile
// with no diagnostics at all; every examples/errors/*.nn states what it should
// report with comments on the line where each diagnostic's span starts:
//   `# expect: NNC201`, `# expect: NNC203 NNC203`, `# expect-warning: NNC212`.
// Both directories are read at run time, so a new file is covered by adding it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { Diagnostic } from "../src/diag/diagnostic.ts";
import { renderDiagnostics } from "../src/diag/render.ts";
import { spanLine } from "../src/diag/source.ts";
import { verifyGraph } from "../src/ir/verify.ts";
import { runFrontEnd } from "../src/pipeline.ts";

const EXAMPLES = fileURLToPath(new URL("../examples/", import.meta.url));
const ERRORS = join(EXAMPLES, "errors");

function nnFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isFile() && e.name.endsWith(".nn"))
    .map((e) => e.name)
    .sort();
}

/** Runs the front end on a file, with its path as the tests print it. */
function compile(dir: string, name: string) {
  const rel = dir === ERRORS ? `examples/errors/${name}` : `examples/${name}`;
  return runFrontEnd(rel, readFileSync(join(dir, name), "utf8"));
}

/** One expected or reported diagnostic, as a sortable key: "error NNC201 @ line 9". */
function key(severity: Diagnostic["severity"], code: string, line: number): string {
  return `${severity} ${code} @ line ${String(line).padStart(4, " ")}`;
}

const EXPECT = /#\s*expect(-warning)?:\s*((?:NNC\d{3}\b\s*)+)/g;

/** The expectations written in a file's comments, one key per code. */
function parseExpectations(text: string): string[] {
  const keys: string[] = [];
  text.split("\n").forEach((lineText, i) => {
    for (const m of lineText.matchAll(EXPECT)) {
      const severity = m[1] ? "warning" : "error";
      for (const code of m[2]!.trim().split(/\s+/)) keys.push(key(severity, code, i + 1));
    }
  });
  return keys.sort();
}

const models = nnFiles(EXAMPLES);
const errorFiles = nnFiles(ERRORS);

describe("example models", () => {
  it("has at least 11 of them", () => {
    expect(models.length).toBeGreaterThanOrEqual(11);
  });

  it.each(models)("%s compiles with no diagnostics and a well-formed shaped graph", (name) => {
    const r = compile(EXAMPLES, name);
    const diags = r.diagnostics.sorted();
    expect(diags, `${name} reported diagnostics:\n${renderDiagnostics(diags)}`).toEqual([]);
    expect(r.shaped, `${name} produced no shaped graph`).toBeDefined();
    expect(verifyGraph(r.shaped!)).toEqual([]);
    expect(r.shaped!.loss, `${name} has no loss`).toBeDefined();
    expect(r.shaped!.outputs.length, `${name} has no output`).toBeGreaterThan(0);
  });

  it.each(models)("%s starts with a header comment", (name) => {
    const text = readFileSync(join(EXAMPLES, name), "utf8");
    expect(text.startsWith("# "), `${name} should start with a comment saying what it is`).toBe(true);
  });
});

describe("error examples", () => {
  it("has at least 25 of them", () => {
    expect(errorFiles.length).toBeGreaterThanOrEqual(25);
  });

  it.each(errorFiles)("%s reports exactly what its comments expect", (name) => {
    const text = readFileSync(join(ERRORS, name), "utf8");
    const expected = parseExpectations(text);
    expect(expected.length, `${name} has no \`# expect: NNCxxx\` comment`).toBeGreaterThan(0);
    expect(text.startsWith("# "), `${name} should start with a comment saying what mistake it shows`).toBe(true);

    const r = compile(ERRORS, name);
    const diags = r.diagnostics.sorted();
    const actual = diags.map((d) => key(d.severity, d.code, spanLine(d.span))).sort();
    expect(actual, `${name}: reported diagnostics differ from the expectations.\nReported:\n${renderDiagnostics(diags)}`).toEqual(expected);
  });
});

describe("expectation comments", () => {
  it("are read per line, several codes at once, errors apart from warnings", () => {
    const text = ["# header", "x = a b   # expect: NNC201", "y = c   # expect: NNC203 NNC204", "param b: [1]   # expect-warning: NNC212", "z = 1"].join("\n");
    expect(parseExpectations(text)).toEqual(
      [key("error", "NNC201", 2), key("error", "NNC203", 3), key("error", "NNC204", 3), key("warning", "NNC212", 4)].sort(),
    );
  });
});
