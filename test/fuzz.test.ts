// Whatever the bytes, the front end ends in success or in diagnostics with
// valid spans: never an exception, never a hang. 10,000 inputs per run:
// random token streams, and random mutations of the examples.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { renderDiagnostics, diagnosticToJson } from "../src/diag/render.ts";
import { UNSAFE_CHAR } from "../src/diag/unsafe-chars.ts";
import { printGraph } from "../src/ir/print.ts";
import { verifyGraph } from "../src/ir/verify.ts";
import { runFrontEnd } from "../src/pipeline.ts";

const RUNS_PER_PROPERTY = 5_000;

/** Runs the front end and checks every promise it makes about its output. */
function assertWellBehaved(text: string): void {
  const r = runFrontEnd("fuzz.nn", text);
  for (const d of r.diagnostics.items) {
    for (const span of [d.span, ...d.notes.flatMap((n) => (n.span ? [n.span] : []))]) {
      if (!(span.start >= 0 && span.start <= span.end && span.end <= text.length + 1)) {
        throw new Error(`bad span ${span.start}..${span.end} in ${d.code} for ${JSON.stringify(text)}`);
      }
    }
    expect(d.message.length).toBeGreaterThan(0);
  }
  // No printed diagnostic can break a terminal line or reorder it, whatever the file held.
  const printed = renderDiagnostics(r.diagnostics.items);
  if (new RegExp(UNSAFE_CHAR.source).test(printed)) throw new Error(`an unsafe character printed for ${JSON.stringify(text)}`);
  r.diagnostics.items.forEach(diagnosticToJson);
  if (!r.diagnostics.hasErrors) {
    if (!r.shaped) throw new Error(`no errors but no shaped graph for ${JSON.stringify(text)}`);
    expect(verifyGraph(r.shaped)).toEqual([]);
    printGraph(r.shaped);
  }
}

const TOKENS = [
  "model", "dim", "input", "target", "param", "const", "fn", "output", "loss", "train", "int", "float", "layer", "return", "repeat", "block(", "  ",
  "x", "W0", "batch", "l1", "_", "constructor", "__proto__", "toString", "T", "true",
  "relu", "relu(", "softmax(", "sum(", "reshape(", "conv2d(", "embed(", "dropout(", "mse(", "f(", "uniform(", "sgd(",
  "0", "1", "2.5", "-1", "784", "1e9", "99999999999999999999", "1e400",
  "(", ")", "[", "]", ",", ":", "=", "+", "-", "*", "/", "^", "@", ".", ".T",
  '"same"', '"', "'", "#", "# comment", "\n", "\n", "\n", " ", "\t", "\r\n", "$", "é", "λ", "\u0000", "🙂",
  // Characters that end a line in emitted TypeScript or WGSL, or reorder text (NNC108).
  "\r", "\u0085", "\u2028", "\u2029", "\u202e", "\u2066", "\f",
];

// Half the streams follow a valid prelude, so that they reach name resolution and shape inference.
const PRELUDE = "dim batch\ninput x: [batch, 3]\ntarget y: [batch, 2]\nparam W: [3, _]\nparam b: [_]\nh = relu(x W + b)\nlayer block(a):\n  param V: [_, _]\n  return a + relu(a V)\n";
const tokenStream = fc
  .tuple(fc.boolean(), fc.array(fc.constantFrom(...TOKENS), { maxLength: 60 }))
  .map(([prelude, ts]) => (prelude ? PRELUDE : "") + ts.join(" "));

function examples(): string[] {
  const dir = join(import.meta.dirname, "..", "examples");
  const files = readdirSync(dir).filter((f) => f.endsWith(".nn"));
  expect(files.length).toBeGreaterThan(0);
  return files.map((f) => readFileSync(join(dir, f), "utf8"));
}

/** One edit to a text: delete, insert, duplicate or swap a slice. */
const edit = fc.record({
  kind: fc.constantFrom("delete", "insert", "duplicate", "swap"),
  at: fc.nat(),
  len: fc.integer({ min: 1, max: 12 }),
  insert: fc.oneof(fc.constantFrom(...TOKENS), fc.string({ maxLength: 4 })),
});

function applyEdits(text: string, edits: { kind: string; at: number; len: number; insert: string }[]): string {
  let t = text;
  for (const e of edits) {
    const at = t.length === 0 ? 0 : e.at % t.length;
    const slice = t.slice(at, at + e.len);
    if (e.kind === "delete") t = t.slice(0, at) + t.slice(at + e.len);
    else if (e.kind === "insert") t = t.slice(0, at) + e.insert + t.slice(at);
    else if (e.kind === "duplicate") t = t.slice(0, at) + slice + t.slice(at);
    else {
      const other = (e.at * 7919) % Math.max(1, t.length);
      t = t.slice(0, at) + t.slice(other, other + e.len) + t.slice(at + e.len);
    }
  }
  return t;
}

describe("the front end on hostile input", () => {
  it(`survives ${RUNS_PER_PROPERTY} random token streams`, () => {
    fc.assert(fc.property(tokenStream, (text) => assertWellBehaved(text)), { numRuns: RUNS_PER_PROPERTY, seed: 42 });
  }, 120_000);

  it(`survives ${RUNS_PER_PROPERTY} mutations of the examples`, () => {
    const sources = examples();
    const mutated = fc.tuple(fc.nat({ max: sources.length - 1 }), fc.array(edit, { minLength: 1, maxLength: 4 })).map(([i, edits]) => applyEdits(sources[i]!, edits));
    fc.assert(fc.property(mutated, (text) => assertWellBehaved(text)), { numRuns: RUNS_PER_PROPERTY });
  }, 120_000);

  it("handles deep nesting and long lines without blowing up", () => {
    const nested = (n: number) => runFrontEnd("deep.nn", "dim b\ninput x: [b, 2]\ny = " + "(".repeat(n) + "x" + ")".repeat(n) + "\noutput y\n");
    expect(nested(150).shaped).toBeDefined();
    expect(nested(2000).diagnostics.items.map((d) => d.code)).toEqual(["NNC102"]);
    expect(runFrontEnd("neg.nn", "dim b\ninput x: [b, 2]\ny = " + "-".repeat(150) + "x\noutput y\n").shaped).toBeDefined();
    assertWellBehaved("dim b\ninput x: [b, 2]\ny = " + "x + ".repeat(5000) + "x\noutput y\n");
    assertWellBehaved("y = " + "f(".repeat(3000));
    assertWellBehaved("fn f(a) = g(a)\nfn g(a) = f(a)\ndim b\ninput x: [b]\ny = f(x)\noutput y\n");
  });
});
