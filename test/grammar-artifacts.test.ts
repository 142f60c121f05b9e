// The generated and hand-written artifacts in grammar/: the syntax-diagram page
// must match the parser it is generated from, and the TextMate grammar must
// highlight what the language has (tokenized for real with vscode-textmate).
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import vm from "node:vm";
import { VERSION } from "chevrotain";
import vsctm from "vscode-textmate";
import oniguruma from "vscode-oniguruma";
import { beforeAll, describe, expect, it } from "vitest";
import { cdnResourceBase, DIAGRAMS_PATH, generateDiagramsHtml, localResourceBase } from "../grammar/generate-diagrams.ts";
import { NnParser } from "../grammar/parser.ts";
import { KEYWORDS } from "../grammar/tokens.ts";
import type { OptimizerName } from "../src/ir/graph.ts";
import { BUILTINS, INITIALIZERS } from "../src/ops/registry.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const GRAMMAR_PATH = `${ROOT}grammar/nn.tmLanguage.json`;
const ONIG_WASM = `${ROOT}node_modules/vscode-oniguruma/release/onig.wasm`;

const KEYWORD_WORDS = KEYWORDS.map((k) => {
  expect(k.name).toMatch(/^Kw_[a-z]+$/);
  return k.name.slice("Kw_".length);
});
const BUILTIN_NAMES = [...BUILTINS.keys()];
// A new optimizer in OptimizerName fails to type-check here until it is listed
// (and then fails the test until the grammar highlights it).
const OPTIMIZERS = Object.keys({ sgd: 0, momentum: 0, rmsprop: 0, adam: 0, adamw: 0, adagrad: 0 } satisfies Record<OptimizerName, 0>);

/** The serialized grammar embedded in a diagrams page. */
function embeddedGrammar(html: string): { name: string }[] {
  const m = /window\.serializedGrammar = ([\s\S]*?);\n<\/script>/.exec(html);
  if (!m) throw new Error("no serializedGrammar in the page");
  return JSON.parse(m[1]!) as { name: string }[];
}

describe("grammar/diagrams.html", () => {
  const committed = readFileSync(DIAGRAMS_PATH, "utf8");
  const ruleNames = Object.keys(new NnParser().getGAstProductions());

  it("is up to date with the parser (regenerate with `npm run diagrams`)", () => {
    expect(committed).toBe(generateDiagramsHtml());
  });

  it("is deterministic", () => {
    expect(generateDiagramsHtml()).toBe(generateDiagramsHtml());
  });

  it("draws every rule of the parser", () => {
    expect(ruleNames.length).toBeGreaterThan(10);
    expect(embeddedGrammar(committed).map((r) => r.name).sort()).toEqual([...ruleNames].sort());
    for (const rule of ruleNames) expect(committed).toContain(`"name": "${rule}"`);
  });

  it("loads chevrotain's diagram resources pinned to the installed version, which exist locally too", () => {
    const base = cdnResourceBase();
    expect(base).toBe(`https://unpkg.com/chevrotain@${VERSION}/diagrams/`);
    const urls = [...committed.matchAll(/(?:src|href)='([^']+)'/g)].map((m) => m[1]!);
    expect(urls.length).toBe(5);
    for (const url of urls) {
      expect(url.startsWith(base)).toBe(true);
      expect(existsSync(fileURLToPath(new URL(url.slice(base.length), localResourceBase())))).toBe(true);
    }
    const offline = generateDiagramsHtml({ resourceBase: localResourceBase() });
    expect(offline).not.toContain("https://");
    expect(embeddedGrammar(offline)).toEqual(embeddedGrammar(committed));
  });

  it("renders an SVG per rule with chevrotain's own diagram builder", () => {
    // The page's scripts are browser globals (UMD); run them in a bare context.
    const ctx = vm.createContext({}) as { diagrams_builder?: { buildSyntaxDiagramsText(g: unknown): string } };
    for (const file of ["vendor/railroad-diagrams.js", "src/diagrams_builder.js"]) {
      vm.runInContext(readFileSync(fileURLToPath(new URL(file, localResourceBase())), "utf8"), ctx, { filename: file });
    }
    const svg = ctx.diagrams_builder!.buildSyntaxDiagramsText(embeddedGrammar(committed));
    expect(svg.match(/<svg /g)?.length).toBe(ruleNames.length);
    for (const rule of ruleNames) expect(svg).toContain(`<h2 class="diagramHeader">${rule}</h2>`);
  });
});

interface Token {
  readonly text: string;
  readonly scopes: readonly string[];
}

describe("grammar/nn.tmLanguage.json", () => {
  const raw = readFileSync(GRAMMAR_PATH, "utf8");
  const json = JSON.parse(raw) as Record<string, unknown>;
  let grammar: vsctm.IGrammar;

  beforeAll(async () => {
    const wasm = readFileSync(ONIG_WASM);
    await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
    const registry = new vsctm.Registry({
      onigLib: Promise.resolve({
        createOnigScanner: (patterns: string[]) => new oniguruma.OnigScanner(patterns),
        createOnigString: (s: string) => new oniguruma.OnigString(s),
      }),
      loadGrammar: async (scopeName: string) =>
        scopeName === "source.nn" ? vsctm.parseRawGrammar(raw, GRAMMAR_PATH) : null,
    });
    const loaded = await registry.loadGrammar("source.nn");
    if (!loaded) throw new Error("source.nn did not load");
    grammar = loaded;
  });

  /** Tokenizes lines in order, carrying the rule stack from line to line. */
  function tokenize(...lines: string[]): Token[][] {
    let state = vsctm.INITIAL;
    return lines.map((line) => {
      const r = grammar.tokenizeLine(line, state);
      state = r.ruleStack;
      return r.tokens.map((t) => ({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes }));
    });
  }

  /** The token that starts at the `nth` occurrence of `needle` in `line`; it must span exactly `needle`. */
  function tokenOf(line: string, needle: string, nth = 0, tokens = tokenize(line)[0]!): Token {
    let at = -1;
    for (let i = 0; i <= nth; i++) {
      at = line.indexOf(needle, at + 1);
      if (at < 0) throw new Error(`no ${JSON.stringify(needle)} in ${JSON.stringify(line)}`);
    }
    let offset = 0;
    for (const t of tokens) {
      if (offset === at) {
        expect(t.text, `token at ${JSON.stringify(needle)} in ${JSON.stringify(line)}`).toBe(needle);
        return t;
      }
      offset += t.text.length;
    }
    throw new Error(`no token starts at ${JSON.stringify(needle)} in ${JSON.stringify(line)}: ${JSON.stringify(tokens)}`);
  }

  /** The innermost (most specific) scope of a token. */
  function scopeOf(line: string, needle: string, nth = 0): string {
    return tokenOf(line, needle, nth).scopes.at(-1)!;
  }

  it("is a TextMate grammar for .nn files", () => {
    expect(json.scopeName).toBe("source.nn");
    expect(json.fileTypes).toEqual(["nn"]);
    expect(grammar).toBeDefined();
  });

  it("scopes comments, whole-line and trailing", () => {
    const line = "# mnist_tanh.nn: a 784-100-10 classifier";
    expect(tokenize(line)[0]!.every((t) => t.scopes.includes("comment.line.number-sign.nn"))).toBe(true);
    const trailing = "dim batch                   # bound when instantiated";
    expect(scopeOf(trailing, "#")).toBe("punctuation.definition.comment.nn");
    expect(scopeOf(trailing, " bound when instantiated")).toBe("comment.line.number-sign.nn");
    expect(scopeOf("l1 = relu(l0 W0) # relu here", " relu here")).toBe("comment.line.number-sign.nn");
  });

  it("scopes declarations: keywords and the names they declare", () => {
    expect(scopeOf("model mnist_tanh", "model")).toBe("keyword.other.nn");
    expect(scopeOf("model mnist_tanh", "mnist_tanh")).toBe("entity.name.type.model.nn");
    expect(scopeOf("dim hidden = 100", "dim")).toBe("keyword.other.nn");
    expect(scopeOf("dim hidden = 100", "hidden")).toBe("entity.name.constant.dim.nn");
    expect(scopeOf("dim hidden = 100", "100")).toBe("constant.numeric.integer.nn");
    expect(scopeOf("const eps = 1e-8", "eps")).toBe("entity.name.constant.const.nn");
    expect(scopeOf("input ids: int[batch, 20]", "input")).toBe("keyword.other.nn");
    expect(scopeOf("input ids: int[batch, 20]", "ids")).toBe("entity.name.variable.input.nn");
    expect(scopeOf("input ids: int[batch, 20]", "int")).toBe("storage.type.nn");
    expect(scopeOf("input ids: int[batch, 20]", "batch")).toBe("variable.other.constant.dim.nn");
    expect(scopeOf("input x: float[batch, 20]", "float")).toBe("storage.type.nn");
    expect(scopeOf("target y:  [batch, 10]", "y")).toBe("entity.name.variable.target.nn");
    expect(scopeOf("param W0: [784, hidden] = uniform(-0.01, 0.01)", "W0")).toBe("entity.name.variable.param.nn");
    expect(scopeOf("fn dense(x, W) = relu(x W)", "fn")).toBe("keyword.other.nn");
    expect(scopeOf("fn dense(x, W) = relu(x W)", "dense")).toBe("entity.name.function.nn");
    expect(scopeOf("fn dense(x, W) = relu(x W)", "W")).toBe("variable.parameter.nn");
    expect(scopeOf("output l2, l1", "l1")).toBe("variable.other.output.nn");
    expect(scopeOf("loss = cross_entropy(l2, y)", "loss")).toBe("keyword.other.nn");
    expect(scopeOf("l1 = dropout(tanh(l0 W0), 0.5)", "l1")).toBe("entity.name.variable.definition.nn");
  });

  it("scopes shapes, initializers and the optimizer", () => {
    const param = "param b: [_, 10] = zeros";
    expect(scopeOf(param, "_")).toBe("constant.language.inferred.nn");
    expect(scopeOf(param, "10")).toBe("constant.numeric.integer.nn");
    expect(scopeOf(param, "zeros")).toBe("support.function.initializer.nn");
    expect(scopeOf("param W0: [784, hidden] = uniform(-0.01, 0.01)", "uniform")).toBe("support.function.initializer.nn");
    expect(scopeOf("param W0: [784, hidden] = normal(0, 0.1)", "normal")).toBe("support.function.initializer.nn");
    const train = "train adam(lr = 0.001, batch = 100, epochs = 3)";
    expect(scopeOf(train, "train")).toBe("keyword.other.nn");
    expect(scopeOf(train, "adam")).toBe("support.function.optimizer.nn");
    expect(scopeOf(train, "lr")).toBe("variable.parameter.keyword.nn");
    expect(scopeOf(train, "batch")).toBe("variable.parameter.keyword.nn");
    expect(scopeOf(train, "0.001")).toBe("constant.numeric.float.nn");
  });

  it("scopes expressions: calls, names, numbers, strings, operators and .T", () => {
    const l1 = "l1 = dropout(tanh(l0 W0), 0.5)";
    expect(scopeOf(l1, "dropout")).toBe("support.function.builtin.nn");
    expect(scopeOf(l1, "tanh")).toBe("support.function.builtin.nn");
    expect(scopeOf(l1, "l0")).toBe("variable.other.nn");
    expect(scopeOf(l1, "0.5")).toBe("constant.numeric.float.nn");
    expect(scopeOf(l1, "=")).toBe("keyword.operator.assignment.nn");

    const h = "h = dense(l0, W0).T @ W1 ^ 2 - b / 2.5e-3 * c + d";
    expect(scopeOf(h, "dense")).toBe("entity.name.function.call.nn");
    expect(tokenOf(h, "dense").scopes).toContain("meta.function-call.nn");
    expect(scopeOf(h, ".")).toBe("punctuation.accessor.nn");
    expect(scopeOf(h, "T")).toBe("keyword.operator.transpose.nn");
    expect(scopeOf(h, "@")).toBe("keyword.operator.matmul.nn");
    expect(scopeOf(h, "^")).toBe("keyword.operator.power.nn");
    for (const op of ["-", "/", "*", "+"]) expect(scopeOf(h, op)).toBe("keyword.operator.arithmetic.nn");
    expect(scopeOf(h, "2")).toBe("constant.numeric.integer.nn");
    expect(scopeOf(h, "2.5e-3")).toBe("constant.numeric.float.nn");
    expect(scopeOf("x = 1E+10 * y", "1E+10")).toBe("constant.numeric.float.nn");

    const conv = 'c = conv2d(x, k, padding = "same")';
    expect(scopeOf(conv, "padding")).toBe("variable.parameter.keyword.nn");
    expect(tokenOf(conv, '"').scopes).toContain("string.quoted.double.nn");
    expect(scopeOf(conv, "same")).toBe("string.quoted.double.nn");

    const l2 = "l2 = softmax(l1 W1, axis = -1)";
    expect(scopeOf(l2, "softmax")).toBe("support.function.builtin.nn");
    expect(scopeOf(l2, "axis")).toBe("variable.parameter.keyword.nn");
    expect(scopeOf(l2, "-")).toBe("keyword.operator.arithmetic.nn");
    expect(scopeOf(l2, "1", 2)).toBe("constant.numeric.integer.nn");
  });

  it("follows the language where it is subtle", () => {
    // `f (x)` multiplies: not a call.
    expect(scopeOf("y = relu (x)", "relu")).toBe("variable.other.nn");
    // Longer names are not cut at a builtin's name, and names merely containing one are user calls.
    expect(scopeOf("y = softmax_cross_entropy(z, t)", "softmax_cross_entropy")).toBe("support.function.builtin.nn");
    expect(scopeOf("y = my_relu(x)", "my_relu")).toBe("entity.name.function.call.nn");
    // Initializer and optimizer names are ordinary names elsewhere.
    expect(scopeOf("he = 3", "he")).toBe("entity.name.variable.definition.nn");
    expect(scopeOf("y = adam + he", "adam")).toBe("variable.other.nn");
    // Keywords are whole words only; digits inside names are not numbers.
    expect(scopeOf("dims = W0 x2", "dims")).toBe("entity.name.variable.definition.nn");
    expect(scopeOf("dims = W0 x2", "W0")).toBe("variable.other.nn");
    expect(scopeOf("y = x_ + _x", "x_")).toBe("variable.other.nn");
    // Statements are one line: an unclosed call does not leak into the next line.
    const [, next] = tokenize("l1 = relu(l0 W0", "dim n # c");
    expect(tokenOf("dim n # c", "dim", 0, next).scopes).toEqual(["source.nn", "keyword.other.nn"]);
  });

  it("gives every word of a whole model a scope", () => {
    const model = [
      "# mnist_tanh.nn: a 784-100-10 classifier with dropout",
      "model mnist_tanh",
      "dim batch                   # bound when the model is instantiated",
      "dim hidden = 100",
      "input  l0: [batch, 784]",
      "target y:  [batch, 10]",
      "param W0: [784, hidden] = uniform(-0.01, 0.01)",
      "param W1: [hidden, 10]  = xavier",
      "const wd = 1e-4",
      "fn dense(x, W) = x @ W",
      "l1 = dropout(tanh(dense(l0, W0)), 0.5)",
      "l2 = softmax(l1 W1.T.T)",
      "output l2",
      "loss = cross_entropy(l2, y) + wd * sumsq(W0) ^ 1",
      "train sgd(lr = 2, batch = 100, epochs = 300)",
    ];
    const bare = tokenize(...model)
      .flat()
      .filter((t) => t.text.trim() !== "" && t.scopes.length < 2);
    expect(bare).toEqual([]);
  });

  /** Every regex source (match / begin / end) in the grammar. */
  function regexSources(node: unknown, out: string[] = []): string[] {
    if (Array.isArray(node)) for (const n of node) regexSources(n, out);
    else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        if ((k === "match" || k === "begin" || k === "end") && typeof v === "string") out.push(v);
        else regexSources(v, out);
      }
    }
    return out;
  }
  /** Whether `word` occurs as a whole word in some pattern (e.g. as one alternative of `\b(relu|tanh)`). */
  function inPatterns(word: string): boolean {
    const whole = new RegExp(`(?:^|[^A-Za-z0-9_])${word}(?:[^A-Za-z0-9_]|$)`);
    return regexSources(json).some((src) => whole.test(src.replaceAll("\\b", " ")));
  }

  it("covers every keyword of grammar/tokens.ts", () => {
    expect(KEYWORD_WORDS).toContain("param");
    for (const word of KEYWORD_WORDS) {
      expect(inPatterns(word), `keyword \`${word}\` in nn.tmLanguage.json`).toBe(true);
      expect(scopeOf(`${word} x`, word), `keyword \`${word}\``).toMatch(/^(keyword\.other|storage\.type)\.nn$/);
    }
  });

  it("covers every builtin of src/ops/registry.ts", () => {
    expect(BUILTIN_NAMES.length).toBeGreaterThan(20);
    for (const name of BUILTIN_NAMES) {
      expect(inPatterns(name), `builtin \`${name}\` in nn.tmLanguage.json`).toBe(true);
      expect(scopeOf(`y = ${name}(x)`, name), `builtin \`${name}\``).toBe("support.function.builtin.nn");
    }
  });

  it("covers every initializer and optimizer", () => {
    for (const name of INITIALIZERS) {
      expect(scopeOf(`param W: [2, 2] = ${name}`, name), `initializer \`${name}\``).toBe("support.function.initializer.nn");
      expect(scopeOf(`param W: [2, 2] = ${name}(0, 1)`, name), `initializer \`${name}\``).toBe("support.function.initializer.nn");
    }
    for (const name of OPTIMIZERS) {
      expect(scopeOf(`train ${name}(lr = 1)`, name), `optimizer \`${name}\``).toBe("support.function.optimizer.nn");
    }
  });
});
