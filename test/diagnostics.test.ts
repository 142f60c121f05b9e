// How diagnostics look: the rustc-style text, the JSON form, and the code table.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIAG_CODES } from "../src/diag/codes.ts";
import { diagnosticToJson, renderDiagnostic } from "../src/diag/render.ts";
import { frontEnd, only } from "./helpers.ts";

const SRC = ["dim batch", "input l0: [batch, 784]", "param W0: [128, 10]", "param W1: [10, 10]", "l2 = softmax(relu(l0 W0) W1)", "output l2", ""].join("\n");

describe("rendering", () => {
  it("prints the header, location, source line, carets, notes and help", () => {
    const d = only(frontEnd(SRC, "examples/mlp.nn"), "NNC201");
    expect(renderDiagnostic(d)).toBe(
      [
        "error[NNC201]: cannot multiply [batch, 784] by [128, 10]: 784 ≠ 128",
        " --> examples/mlp.nn:5:19",
        "  |",
        "5 | l2 = softmax(relu(l0 W0) W1)",
        "  |                   ^^^^^ inner dimensions differ",
        "  = note: `l0` is declared as [batch, 784] here",
        " --> examples/mlp.nn:2:1",
        "  |",
        "2 | input l0: [batch, 784]",
        "  | ^^^^^^^^^^^^^^^^^^^^^^",
        "  = note: `W0` is declared as [128, 10] here",
        " --> examples/mlp.nn:3:1",
        "  |",
        "3 | param W0: [128, 10]",
        "  | ^^^^^^^^^^^^^^^^^^^",
      ].join("\n"),
    );
  });

  it("colours only when asked", () => {
    const d = only(frontEnd(SRC), "NNC201");
    expect(renderDiagnostic(d)).not.toContain("\x1b[");
    expect(renderDiagnostic(d, { color: true })).toContain("\x1b[1;31merror[NNC201]");
  });

  it("lines carets up under tabs and marks a span that runs past its line", () => {
    const d = only(frontEnd("dim b\ninput x: [b, 2]\ny =\tsoftmax(x,\n  axis = 5)\noutput y\n"), "NNC208");
    const text = renderDiagnostic(d);
    expect(text).toContain("3 | y = softmax(x,\n  |     ^^^^^^^^^^");
  });
});

describe("JSON", () => {
  it("carries code, severity, message, span with line and column, notes and hint", () => {
    const d = only(frontEnd("dim b\ninput x: [b, 2]\ny = rleu(x)\noutput y\n", "m.nn"), "NNC204");
    expect(diagnosticToJson(d)).toEqual({
      severity: "error",
      code: "NNC204",
      message: "unknown function `rleu`",
      span: { file: "m.nn", start: 26, end: 30, line: 3, column: 5, endLine: 3, endColumn: 9 },
      notes: [],
      hint: "did you mean `relu`?",
    });
  });
});

describe("the code table", () => {
  it("documents every code in docs/diagnostics.md", () => {
    const doc = readFileSync(join(import.meta.dirname, "..", "docs", "diagnostics.md"), "utf8");
    for (const code of Object.keys(DIAG_CODES)) expect(doc, code).toContain(`| ${code} |`);
  });

  it("keeps codes in their ranges", () => {
    for (const code of Object.keys(DIAG_CODES)) expect(code).toMatch(/^NNC[1-5]\d\d$/);
  });
});
