// Text → tokens → CST (grammar/) → AST. Statements are parsed one at a time so
// that one bad line yields one diagnostic and the next line is still checked.
import type { CstNode, IToken, IRecognitionException } from "chevrotain";
import { nnLexer, Newline, LParen, RParen, LBracket, RBracket, IndexOpen, KEYWORDS, KEYWORD_WORDS, Layer } from "../../grammar/tokens.ts";
import { NnParser } from "../../grammar/parser.ts";
import { DiagnosticBag } from "../diag/diagnostic.ts";
import type { SourceFile } from "../diag/source.ts";
import { describeCodePoint, UNSAFE_CHAR } from "../diag/unsafe-chars.ts";
import { messageProvider } from "./messages.ts";
import { cstToStmt } from "./cst-to-ast.ts";
import type { Program, Stmt } from "./ast.ts";

let sharedParser: NnParser | undefined;
function parser(): NnParser {
  sharedParser ??= new NnParser(messageProvider);
  return sharedParser;
}

const KEYWORD_SET = new Set(KEYWORDS);
const OPENERS = new Set([LParen, LBracket, IndexOpen]);
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

/** Why each kind of unsafe character is refused, as the hint says it. */
function unsafeHint(code: number): string {
  if (code === 0x0d) return "end lines with LF or CRLF: a carriage return alone is not a line break in a .nn file";
  if ([0x0b, 0x0c, 0x85, 0x2028, 0x2029].includes(code)) {
    return "delete it: JavaScript or WGSL reads it as a line break, so it would end a comment copied into the generated code";
  }
  if (code === 0x061c || (code >= 0x200e && code <= 0x206f)) {
    return "delete it: it reorders how the line is displayed, so the text you read would not be the text nnc compiles";
  }
  return "delete it: control characters are not allowed, not even in comments and strings";
}

/**
 * Reports every unsafe character (src/diag/unsafe-chars.ts), wherever it is,
 * and returns their offsets and the text with each one blanked out, so that
 * lexing goes on and offsets stay those of the file.
 */
function rejectUnsafeChars(file: SourceFile, bag: DiagnosticBag): { text: string; offsets: number[] } {
  const offsets: number[] = [];
  const text = file.text.replace(UNSAFE_CHAR, (ch: string, offset: number) => {
    const code = ch.charCodeAt(0);
    offsets.push(offset);
    bag.error("NNC108", file.span(offset, offset + 1), `${describeCodePoint(code)} is not allowed in a .nn file, not even in a comment or string`, {
      label: "here",
      hint: unsafeHint(code),
    });
    return " ";
  });
  return { text, offsets };
}

function reportLexError(file: SourceFile, offset: number, length: number, bag: DiagnosticBag): void {
  const ch = file.text[offset] ?? "";
  if (ch === '"') {
    bag.error("NNC104", file.span(offset, offset + Math.max(1, length)), "unterminated string", {
      hint: 'strings are written on one line: "valid"',
    });
    return;
  }
  const code = file.text.codePointAt(offset) ?? 0;
  // Spaces and marks that print as nothing are named by code point (U+00A0).
  const char = String.fromCodePoint(code);
  const shown = /^[\p{L}\p{N}\p{P}\p{S}]$/u.test(char) ? `\`${char}\`` : describeCodePoint(code);
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
  const { text, offsets } = rejectUnsafeChars(file, bag);
  const lexed = nnLexer.tokenize(text);
  for (const e of lexed.errors) reportLexError(file, e.offset, e.length, bag);
  // A statement with a bad character in it is not parsed: its tokens are
  // incomplete, or (an unsafe character blanked inside a name or a string) wrong.
  const bad = [...offsets.filter((o) => breaksToken(lexed.tokens, o)), ...lexed.errors.map((e) => e.offset)];
  const badLines = new Set(bad.map((o) => file.lineCol(o).line));
  const stmts: Stmt[] = [];
  const broken = new Set<string>();
  const parseOne = (tokens: IToken[], brokenNames: Set<string>): Stmt | undefined => {
    const first = file.lineCol(tokens[0]!.startOffset).line;
    const last = file.lineCol(tokens[tokens.length - 1]!.startOffset).line;
    const fail = (): undefined => {
      const name = guessDefinedName(tokens);
      if (name !== undefined) brokenNames.add(name);
      return undefined;
    };
    if ([...badLines].some((l) => l >= first && l <= last)) return fail();
    const depth = nestingDepth(tokens);
    if (depth > MAX_NESTING) {
      bag.error("NNC102", file.span(tokens[0]!.startOffset, tokens[0]!.startOffset + tokens[0]!.image.length), `this statement nests ${depth} levels deep; the limit is ${MAX_NESTING}`, {
        hint: "split it into several named definitions",
      });
      return fail();
    }
    const p = parser();
    p.input = tokens;
    const cst: CstNode = p.statement();
    if (p.errors.length > 0) {
      reportParseError(file, p.errors[0]!, tokens, bag);
      return fail();
    }
    return cstToStmt(cst, file, bag);
  };
  const groups = splitStatements(lexed.tokens);
  const column = (tokens: IToken[]) => file.lineCol(tokens[0]!.startOffset).col;
  for (let i = 0; i < groups.length; i++) {
    const tokens = groups[i]!;
    if (tokens[0]!.tokenType !== Layer) {
      const stmt = parseOne(tokens, broken);
      if (stmt) stmts.push(stmt);
      continue;
    }
    // A layer's body is the lines below its header indented further than it.
    const indent = column(tokens);
    const body: IToken[][] = [];
    while (i + 1 < groups.length && column(groups[i + 1]!) > indent) body.push(groups[++i]!);
    const header = parseOne(tokens, broken);
    // A header that did not parse takes its body with it: its lines mean nothing at the top level.
    if (header?.kind !== "layer") continue;
    const bodyBroken = new Set<string>();
    const bodyStmts = body.map((t) => parseOne(t, bodyBroken)).filter((x): x is Stmt => x !== undefined);
    stmts.push({ ...header, body: bodyStmts, broken: bodyBroken });
  }
  return { stmts, broken };
}

/** Whether the character at `offset` lay inside a token, or between two it would have joined (tokens in order). */
function breaksToken(tokens: readonly IToken[], offset: number): boolean {
  // The last token starting before `offset`, by binary search: hostile files may hold many such characters.
  let lo = -1;
  let hi = tokens.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (tokens[mid]!.startOffset < offset) lo = mid;
    else hi = mid - 1;
  }
  const before = tokens[lo];
  if (!before) return false;
  const end = before.startOffset + before.image.length;
  return end > offset || (end === offset && tokens[lo + 1]?.startOffset === offset + 1);
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
