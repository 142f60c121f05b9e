// The grammar and the CST → AST step: precedence, associativity, calls vs
// juxtaposition, line handling and syntax errors.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DiagnosticBag } from "../src/diag/diagnostic.ts";
import { SourceFile } from "../src/diag/source.ts";
import type { Expr, Stmt } from "../src/syntax/ast.ts";
import { parseProgram } from "../src/syntax/parse.ts";
import { renderDiagnostics } from "../src/diag/render.ts";
import { codes, frontEnd, namedShapes, only, spanText } from "./helpers.ts";

function parse(text: string): { stmts: readonly Stmt[]; bag: DiagnosticBag } {
  const bag = new DiagnosticBag();
  const program = parseProgram(new SourceFile("t.nn", text), bag);
  return { stmts: program.stmts, bag };
}

/** A compact Lisp-like form of an expression, to assert structure. */
function sexpr(e: Expr): string {
  switch (e.kind) {
    case "number":
      return e.text;
    case "string":
      return JSON.stringify(e.value);
    case "name":
      return e.name;
    case "underscore":
      return "_";
    case "list":
      return `[${e.items.map(sexpr).join(" ")}]`;
    case "call":
      return `(${e.callee.text} ${e.args.map((a) => (a.keyword ? `${a.keyword.text}=` : "") + sexpr(a.value)).join(" ")})`;
    case "unary":
      return `(neg ${sexpr(e.operand)})`;
    case "transpose":
      return `(T ${sexpr(e.operand)})`;
    case "binary":
      return `(${e.op === "juxt" ? "@" : e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case "index":
      return `(index ${sexpr(e.operand)} ${e.items
        .map((i) => (i.kind === "all" ? ":" : i.kind === "ellipsis" ? "..." : i.kind === "at" ? sexpr(i.index) : `${i.start ? sexpr(i.start) : ""}:${i.end ? sexpr(i.end) : ""}`))
        .join(" ")})`;
  }
}

function expr(text: string): string {
  const { stmts, bag } = parse(`x = ${text}\n`);
  expect(bag.items.map((d) => d.message)).toEqual([]);
  const s = stmts[0]!;
  if (s.kind !== "def") throw new Error("not a definition");
  return sexpr(s.value);
}

describe("expression precedence", () => {
  it.each([
    ["a b c", "(@ (@ a b) c)"],
    ["a @ b c", "(@ (@ a b) c)"],
    ["a + b * c", "(+ a (* b c))"],
    ["a - b - c", "(- (- a b) c)"],
    ["-a b", "(neg (@ a b))"],
    ["a * -b", "(* a (neg b))"],
    ["a ^ b ^ c", "(^ a (^ b c))"],
    ["a ^ -1", "(^ a (neg 1))"],
    ["-x ^ 2", "(neg (^ x 2))"],
    ["a b ^ 2", "(@ a (^ b 2))"],
    ["a b * c", "(* (@ a b) c)"],
    ["W.T x", "(@ (T W) x)"],
    ["f(x).T", "(T (f x))"],
    ["(a + b) c", "(@ (+ a b) c)"],
    ["relu(l0 W0) W1", "(@ (relu (@ l0 W0)) W1)"],
    ["f (x)", "(@ f x)"],
    ["softmax(x, axis = -1)", "(softmax x axis=(neg 1))"],
    ['conv2d(x, k, padding = "same")', '(conv2d x k padding="same")'],
    ["reshape(x, [batch, 28, 28, 1])", "(reshape x [batch 28 28 1])"],
    ["1.5e-3 * x", "(* 1.5e-3 x)"],
    // Indexing: `[` right after a value indexes; after a space it is a list (juxtaposition).
    ["x[:, -1]", "(index x : (neg 1))"],
    ["x[..., 2:5]", "(index x ... 2:5)"],
    ["x[1:, :n - 1]", "(index x 1: :(- n 1))"],
    ["f(x)[0].T", "(T (index (f x) 0))"],
    ["x.T[0][1]", "(index (index (T x) 0) 1)"],
    ["a b[0]", "(@ a (index b 0))"],
    ["x [0]", "(@ x [0])"],
    ["-x[0] ^ 2", "(neg (^ (index x 0) 2))"],
  ])("%s", (src, want) => {
    expect(expr(src)).toBe(want);
  });

  it("keeps `int[…]` a shape: no index after a keyword", () => {
    const { stmts, bag } = parse("input ids: int[4, 2]\n");
    expect(bag.items).toEqual([]);
    expect(stmts[0]!.kind).toBe("data");
  });

  it("continues a statement across lines inside brackets", () => {
    expect(expr("f(a,\n  b) + (c\n * d)")).toBe("(+ (f a b) (* c d))");
  });
});

describe("statements", () => {
  it("reads every statement form", () => {
    const { stmts, bag } = parse(
      [
        "model m",
        "dim batch",
        "dim hidden = 100",
        "input ids: int[batch, 20]",
        "target y: [batch, 1]",
        "param W: [_, hidden] = normal(0, 0.01)",
        "const c = 2 * 3",
        "fn f(a, b) = a b",
        "h = f(x, W)",
        "output h, y",
        "loss = mean(h)",
        "train adam(lr = 0.001, beta1 = 0.9)",
        "",
      ].join("\n"),
    );
    expect(bag.items).toEqual([]);
    expect(stmts.map((s) => s.kind)).toEqual(["model", "dim", "dim", "data", "data", "param", "const", "fn", "def", "output", "loss", "train"]);
    const data = stmts[3]!;
    expect(data.kind === "data" && data.dtype).toBe("i32");
    const param = stmts[5]!;
    expect(param.kind === "param" && param.shape.dims.map((d) => d.kind)).toEqual(["infer", "name"]);
  });

  it("gives every node a span that covers its text", () => {
    const { stmts } = parse("l1 = relu(l0 W0)   # comment\n");
    const s = stmts[0]!;
    expect(s.span.file.text.slice(s.span.start, s.span.end)).toBe("l1 = relu(l0 W0)");
    if (s.kind !== "def" || s.value.kind !== "call") throw new Error("shape");
    const arg = s.value.args[0]!.value;
    expect(arg.span.file.text.slice(arg.span.start, arg.span.end)).toBe("l0 W0");
  });
});

describe("syntax errors", () => {
  it("reports one error per bad line and keeps going", () => {
    const r = frontEnd("x = (a\ny = b +\nz = ]\n");
    expect(codes(r)).toEqual(["NNC102", "NNC102", "NNC102"]);
  });

  it("points at the end of the statement when something is missing", () => {
    const d = only(frontEnd("dim batch\ninput x: [batch, 2]\ny = relu(x\noutput y\n"), "NNC102");
    expect(d.message).toMatch(/expected `\)`/);
    expect(d.span.file.lineCol(d.span.start)).toEqual({ line: 3, col: 11 });
  });

  it("says when a keyword is used as a name", () => {
    const d = only(frontEnd("input = 3\n"), "NNC107");
    expect(d.message).toBe("`input` is a keyword and cannot be used as a name");
  });

  it("rejects a number juxtaposed, suggesting `*`", () => {
    const d = only(frontEnd("dim b\ninput x: [b, 2]\ny = 2 x\noutput y\n"), "NNC103");
    expect(d.hint).toBe("juxtaposition multiplies matrices; use `2 * x` to scale");
    expect(spanText(d)).toBe("2 x");
  });

  it("reports an unterminated string and a stray character", () => {
    expect(codes(frontEnd('x = "abc\ny = a $ b\n'))).toEqual(["NNC104", "NNC101"]);
  });

  it("knows only the `.T` attribute", () => {
    expect(only(frontEnd("dim b\ninput x: [b, 2]\ny = x.shape\noutput y\n"), "NNC106").hint).toMatch(/\.T/);
  });

  it("does not let an unclosed bracket swallow the following declarations", () => {
    const r = frontEnd("y = f(x,\nparam W: [2, 2]\nz = W W\noutput z\n");
    expect(codes(r)).toEqual(["NNC102"]);
  });
});

// Issue 17.1: a comment is copied into emitted TypeScript and WGSL, so no
// character of a .nn file may end a line there, nor hide or reorder text.
// The list is written out here from the languages' definitions, not taken
// from the lexer's own table, so that a character dropped there fails here.
const RANGE = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
const UNSAFE = [
  ...RANGE(0x00, 0x08), 0x0b, 0x0c, 0x0d, ...RANGE(0x0e, 0x1f), // C0 controls but TAB and LF (CR alone)
  ...RANGE(0x7f, 0x9f), // DEL and the C1 controls, NEL (U+0085) among them
  0x2028, 0x2029, // JavaScript's and WGSL's line and paragraph separators
  0x061c, 0x200e, 0x200f, ...RANGE(0x202a, 0x202e), ...RANGE(0x2066, 0x2069), // bidirectional controls
];
const MODEL = ["dim batch", "input x: [batch, 3]", "param W: [3, 2]", "h = tanh(x W)   # COMMENT", 'c = conv2d(reshape(h, [batch, 1, 2, 1]), W2, padding = "same")', "param W2: [1, 1, 1, 1]", "output c"];
/** Where a character is put: [line index, text before it on that line]. */
const PLACES: readonly (readonly [number, string])[] = [
  [3, "h = tanh(x W)   # COM"], // in a comment
  [3, "h = tanh(x W)   #"], // right after the `#`
  [4, 'c = conv2d(reshape(h, [batch, 1, 2, 1]), W2, padding = "sa'], // in a string
  [3, "h = ta"], // in a name
  [3, "h = tanh(x W)"], // between tokens
  [0, ""], // at the start of the file
];

function hex(code: number): string {
  return `U+${code.toString(16).toUpperCase().padStart(4, "0")}`;
}

describe("characters that could end a comment in generated code (NNC108)", () => {
  it("accepts the model they are put into", () => {
    expect(codes(frontEnd(MODEL.join("\n") + "\n"))).toEqual([]);
  });

  it("rejects each of them anywhere, naming the code point at its line and column", () => {
    const place = fc.tuple(fc.constantFrom(...UNSAFE), fc.nat({ max: PLACES.length - 1 }));
    fc.assert(
      fc.property(place, ([code, p]) => {
        const [line, before] = PLACES[p]!;
        const lines = [...MODEL];
        lines[line] = before + String.fromCharCode(code) + lines[line]!.slice(before.length);
        const r = frontEnd(lines.join("\n") + "\n", "m.nn");
        const d = only(r, "NNC108");
        expect(d.message).toContain(hex(code));
        expect(d.span.file.lineCol(d.span.start)).toEqual({ line: line + 1, col: before.length + 1 });
        // The printed diagnostic shows the line with the character masked.
        const printed = renderDiagnostics([d]);
        expect(printed).toContain(`m.nn:${line + 1}:${before.length + 1}`);
        expect(printed.includes(String.fromCharCode(code))).toBe(false);
      }),
      { numRuns: 1000, seed: 17 },
    );
    // Every code point in every place, once.
    for (const code of UNSAFE) for (const [line, before] of PLACES) {
      const lines = [...MODEL];
      lines[line] = before + String.fromCharCode(code) + lines[line]!.slice(before.length);
      expect(codes(frontEnd(lines.join("\n") + "\n")), hex(code)).toEqual(["NNC108"]);
    }
  });

  it("allows any other text in comments and strings' neighbourhood", () => {
    const safe = fc.string({ unit: "grapheme", maxLength: 20 }).filter((s) => ![...s].some((ch) => UNSAFE.includes(ch.codePointAt(0)!)) && !s.includes("\n") && !s.includes("\r"));
    fc.assert(
      fc.property(safe, (text) => {
        const lines = [...MODEL];
        lines[3] = `h = tanh(x W)   # ${text}`;
        expect(codes(frontEnd(lines.join("\n") + "\n"))).toEqual([]);
      }),
      { numRuns: 500, seed: 17 },
    );
  });

  it("keeps CRLF line endings working, comments included", () => {
    const lf = frontEnd(MODEL.join("\n") + "\n");
    const crlf = frontEnd(MODEL.join("\r\n") + "\r\n");
    expect(codes(crlf)).toEqual([]);
    expect(namedShapes(crlf)).toEqual(namedShapes(lf));
  });

  it("reports a carriage return alone, as in old Mac files, with how lines end", () => {
    const d = only(frontEnd("dim b\rinput x: [b, 2]\n"), "NNC108");
    expect(d.message).toBe("U+000D (CARRIAGE RETURN) is not allowed in a .nn file, not even in a comment or string");
    expect(d.hint).toMatch(/LF or CRLF/);
  });

  it("names other invisible characters by code point when they are merely unexpected", () => {
    expect(only(frontEnd("dim b\ny = b\u00a0+ 1\noutput y\n"), "NNC101").message).toBe("unexpected character U+00A0");
    expect(only(frontEnd("dim b\ny = b \u00d7 2\noutput y\n"), "NNC101").message).toBe("unexpected character `×`");
  });
});
