// The tokens of the `.nn` language. Pure data: no semantic actions here.
import { createToken, Lexer, type IToken, type TokenType } from "chevrotain";

// Identifiers are ASCII only, so no name can carry anything but [A-Za-z0-9_]
// into emitted code.
export const Ident = createToken({ name: "Ident", pattern: /[A-Za-z_][A-Za-z0-9_]*/ });
// A name directly followed by `(` is a call: `f(x)` calls, `f (x)` multiplies.
export const CallIdent = createToken({
  name: "CallIdent",
  pattern: /[A-Za-z_][A-Za-z0-9_]*(?=\()/,
  start_chars_hint: [..."ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"],
  line_breaks: false,
});

function keyword(word: string): TokenType {
  return createToken({ name: `Kw_${word}`, pattern: new RegExp(`${word}\\b`), longer_alt: Ident });
}

export const Model = keyword("model");
export const Dim = keyword("dim");
export const Input = keyword("input");
export const Target = keyword("target");
export const Param = keyword("param");
export const Const = keyword("const");
export const Fn = keyword("fn");
export const Output = keyword("output");
export const Loss = keyword("loss");
export const Train = keyword("train");
export const Int = keyword("int");
export const Float = keyword("float");
export const Layer = keyword("layer");
export const Return = keyword("return");
export const Repeat = keyword("repeat");

export const KEYWORDS: readonly TokenType[] = [Model, Dim, Input, Target, Param, Const, Fn, Output, Loss, Train, Int, Float, Layer, Return, Repeat];
/** Keywords as written, for diagnostics ("`input` is a keyword"). */
export const KEYWORD_WORDS: ReadonlySet<string> = new Set(KEYWORDS.map((k) => k.name.slice(3)));

export const Underscore = createToken({ name: "Underscore", pattern: /_(?![A-Za-z0-9_])/ });
export const Number = createToken({ name: "Number", pattern: /(?:\d+\.\d+|\d+)(?:[eE][+-]?\d+)?/ });
export const StringLit = createToken({ name: "String", pattern: /"[^"\n]*"/ });
export const Newline = createToken({ name: "Newline", pattern: /\r?\n/, line_breaks: true });
export const Whitespace = createToken({ name: "Whitespace", pattern: /[ \t\r]+/, group: Lexer.SKIPPED });
export const Comment = createToken({ name: "Comment", pattern: /#[^\n]*/, group: Lexer.SKIPPED });

export const LParen = createToken({ name: "LParen", pattern: "(" });
export const RParen = createToken({ name: "RParen", pattern: ")" });
export const LBracket = createToken({ name: "LBracket", pattern: "[" });
export const RBracket = createToken({ name: "RBracket", pattern: "]" });
export const Comma = createToken({ name: "Comma", pattern: "," });
export const Colon = createToken({ name: "Colon", pattern: ":" });
export const Equals = createToken({ name: "Equals", pattern: "=" });
export const Plus = createToken({ name: "Plus", pattern: "+" });
export const Minus = createToken({ name: "Minus", pattern: "-" });
export const Star = createToken({ name: "Star", pattern: "*" });
export const Slash = createToken({ name: "Slash", pattern: "/" });
export const Caret = createToken({ name: "Caret", pattern: "^" });
export const At = createToken({ name: "At", pattern: "@" });
export const Dot = createToken({ name: "Dot", pattern: "." });
/** `...` in an index: every axis not named (`x[..., 0]`). */
export const Ellipsis = createToken({ name: "Ellipsis", pattern: "..." });

/**
 * `[` directly after a name, `)` or `]` opens an index: `x[:, -1]` indexes,
 * `x [1]` is juxtaposition with a list (as `f(x)` calls and `f (x)`
 * multiplies). After a keyword (`int[2, 3]`) it stays a shape's bracket.
 */
export const IndexOpen = createToken({
  name: "IndexOpen",
  pattern: {
    exec: (text: string, offset: number, matched: readonly IToken[]) => {
      if (text[offset] !== "[") return null;
      const prev = matched[matched.length - 1];
      if (!prev || prev.startOffset + prev.image.length !== offset || !INDEXABLE.has(prev.tokenType.name)) return null;
      return ["["] as unknown as RegExpExecArray;
    },
  },
  start_chars_hint: ["["],
  line_breaks: false,
});
/** The tokens an index may follow: a name, a call or group's `)`, an index's `]`. */
const INDEXABLE = new Set(["Ident", "RParen", "RBracket"]);

/** Order matters: keywords before names, calls before plain names, `_` before names. */
export const ALL_TOKENS: readonly TokenType[] = [
  Whitespace,
  Comment,
  Newline,
  ...KEYWORDS,
  CallIdent,
  Underscore,
  Ident,
  Number,
  StringLit,
  LParen,
  RParen,
  IndexOpen,
  LBracket,
  RBracket,
  Comma,
  Colon,
  Equals,
  Plus,
  Minus,
  Star,
  Slash,
  Caret,
  At,
  Ellipsis,
  Dot,
];

export const nnLexer = new Lexer([...ALL_TOKENS], { positionTracking: "onlyOffset", ensureOptimizations: false });
