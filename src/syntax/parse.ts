// Text → tokens → CST (grammar/) → AST. Statements are parsed one at a time so
// that one bad line yields one diagnostic and the next line is still checked.
import type { CstNode, IToken, IRecognitionException } from "chevrotain";
import { nnLexer, Newline, LParen, RParen, LBracket, RBracket, KEYWORDS, KEYWORD_WORDS } from "../../grammar/tokens.ts";
import { NnParser } from "../../grammar/parser.ts";
import { DiagnosticBag } from "../diag/diagnostic.ts";
import type { SourceFile } from "../diag/source.ts";
import { messageProvider } from "./messages.ts";
import { cstToStmt } from "./cst-to-ast.ts";
import type { Program, Stmt } from "./ast.ts";

let sharedParser: NnParser | undefined;
function parser(): NnParser {
  sharedParser ??= new NnParser(messageProvider);
  return sharedParser;
}

const KEYWORD_SET = new Set(KEYWORDS);
const OPENERS = new Set([LParen, LBracket]);
const CLOSERS = new Set([RParen, RBracket]);

/** Whether the line after a newline inside brackets starts a new statement rather than continuing. */
function startsStatement(prev: IToken | undefined, next: IToken | undefined, after: IToken | undefined): boolean {
  if (!next) return true;
  if (KEYWORD_SET.has(next.tokenType)) return true;
  // `name =` after a complete-looking line is a new definition; after `,` or `(` it is a keyword argument.
  const continues = prev !== undefined && (prev.image === "," || OPENERS.has(prev.tokenType));
  return next.tokenType.name === "Ident" && after?.image === "=" && !continues;
}

/**
 * Splits tokens into statements at newlines outside brackets. Inside brackets
 * a newline continues the statement, unless the next line plainly starts a new
 * one (a keyword, or `name =` after a complete line): then an unclosed bracket
 * ends its statement there, so that it cannot swallow the rest of the file.
 */
function splitStatements(tokens: IToken[]): IToken[][] {
  const out: IToken[][] = [];
  let current: IToken[] = [];
  let depth = 0;
  for (let i = 0; i < tokens.length; i++) {
    const tok = tokens[i]!;
    if (tok.tokenType === Newline) {
      if (depth > 0 && !startsStatement(current[current.length - 1], tokens[i + 1], tokens[i + 2])) continue;
      if (current.length > 0) out.push(current);
      current = [];
      depth = 0;
      continue;
    }
    if (OPENERS.has(tok.tokenType)) depth++;
    else if (CLOSERS.has(tok.tokenType)) depth = Math.max(0, depth - 1);
    current.push(tok);
  }
  if (current.length > 0) out.push(current);
  return out;
}

function reportLexError(file: SourceFile, offset: number, length: number, bag: DiagnosticBag): void {
  const ch = file.text[offset] ?? "";
  if (ch === '"') {
    bag.error("NNC104", file.span(offset, offset + Math.max(1, length)), "unterminated string", {
      hint: 'strings are written on one line: "valid"',
    });
    return;
  }
  const code = ch.codePointAt(0) ?? 0;
  const shown = code < 32 || code === 127 ? `U+${code.toString(16).toUpperCase().padStart(4, "0")}` : `\`${ch}\``;
  bag.error("NNC101", file.span(offset, offset + Math.max(1, length)), `unexpected character ${shown}`, {
    ...(ch === "'" ? { hint: 'strings use double quotes: "same"' } : {}),
    ...(ch === "." ? { hint: "a number needs a digit before the point: 0.5" } : {}),
    ...(ch === "×" || ch === "·" ? { hint: "write `*` to multiply elementwise, or juxtapose for a matrix product" } : {}),
  });
}

function reportParseError(file: SourceFile, err: IRecognitionException, stmt: IToken[], bag: DiagnosticBag): void {
  const tok = err.token;
  const last = stmt[stmt.length - 1]!;
  // At the end of the statement chevrotain reports the virtual EOF token: point just past the last token.
  const atEnd = tok.tokenType.name === "EOF" || Number.isNaN(tok.startOffset);
  const start = atEnd ? last.startOffset + last.image.length : tok.startOffset;
  const end = atEnd ? start + 1 : tok.startOffset + tok.image.length;
  const span = file.span(start, end);
  const first = stmt[0]!;
  if (KEYWORD_SET.has(first.tokenType) && stmt[1]?.image === "=" && first.image !== "loss") {
    bag.error("NNC107", file.span(first.startOffset, first.startOffset + first.image.length), `\`${first.image}\` is a keyword and cannot be used as a name`, {
      hint: `choose another name, such as \`${first.image}_\``,
    });
    return;
  }
  if (!atEnd && KEYWORD_SET.has(tok.tokenType) && /expected a name/.test(err.message)) {
    bag.error("NNC107", span, `\`${tok.image}\` is a keyword and cannot be used as a name`, {
      hint: `choose another name, such as \`${tok.image}_\``,
    });
    return;
  }
  bag.error("NNC102", span, err.message);
}

export function parseProgram(file: SourceFile, bag: DiagnosticBag): Program {
  const lexed = nnLexer.tokenize(file.text);
  for (const e of lexed.errors) reportLexError(file, e.offset, e.length, bag);
  // A statement with a bad character in it is not parsed: its tokens are incomplete.
  const badLines = new Set(lexed.errors.map((e) => file.lineCol(e.offset).line));
  const stmts: Stmt[] = [];
  const broken = new Set<string>();
  const p = parser();
  for (const tokens of splitStatements(lexed.tokens)) {
    const first = file.lineCol(tokens[0]!.startOffset).line;
    const last = file.lineCol(tokens[tokens.length - 1]!.startOffset).line;
    if ([...badLines].some((l) => l >= first && l <= last)) {
      const name = guessDefinedName(tokens);
      if (name !== undefined) broken.add(name);
      continue;
    }
    const depth = nestingDepth(tokens);
    if (depth > MAX_NESTING) {
      bag.error("NNC102", file.span(tokens[0]!.startOffset, tokens[0]!.startOffset + tokens[0]!.image.length), `this statement nests ${depth} levels deep; the limit is ${MAX_NESTING}`, {
        hint: "split it into several named definitions",
      });
      const name = guessDefinedName(tokens);
      if (name !== undefined) broken.add(name);
      continue;
    }
    p.input = tokens;
    const cst: CstNode = p.statement();
    if (p.errors.length > 0) {
      reportParseError(file, p.errors[0]!, tokens, bag);
      const name = guessDefinedName(tokens);
      if (name !== undefined) broken.add(name);
      continue;
    }
    const stmt = cstToStmt(cst, file, bag);
    if (stmt) stmts.push(stmt);
  }
  return { stmts, broken };
}

/** The parser and the later passes recurse once per level of nesting; this bounds their stack. */
const MAX_NESTING = 200;

/** Brackets open at once, plus unary minus and `^` (each a level of recursion). */
function nestingDepth(tokens: IToken[]): number {
  let depth = 0;
  let max = 0;
  let chained = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    if (OPENERS.has(t.tokenType)) depth++;
    else if (CLOSERS.has(t.tokenType)) depth = Math.max(0, depth - 1);
    else if (t.image === "^") chained++;
    else if (t.image === "-") {
      const prev = tokens[i - 1];
      if (!prev || /^[-+*/^@=(,\[]$/.test(prev.image)) chained++;
    }
    max = Math.max(max, depth + chained);
  }
  return max;
}

/** `x = …`, `param x: …`, `fn f(…`, `loss = …`: the name a statement would have defined. */
function guessDefinedName(tokens: IToken[]): string | undefined {
  const [first, second] = tokens;
  if (!first) return undefined;
  if (first.tokenType.name === "Kw_loss") return "loss";
  if (KEYWORD_SET.has(first.tokenType)) {
    return second && (second.tokenType.name === "Ident" || second.tokenType.name === "CallIdent") ? second.image : undefined;
  }
  return first.tokenType.name === "Ident" && second?.image === "=" ? first.image : undefined;
}

export { KEYWORD_WORDS };
