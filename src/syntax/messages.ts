// Human wording for parse errors: chevrotain's default messages list token
// type names; users should read "expected `)`, found a name".
import type { IParserErrorMessageProvider, IToken, TokenType } from "chevrotain";
import { EOF } from "chevrotain";

const PUNCT: Record<string, string> = {
  LParen: "`(`",
  RParen: "`)`",
  LBracket: "`[`",
  RBracket: "`]`",
  Comma: "`,`",
  Colon: "`:`",
  Equals: "`=`",
  Plus: "`+`",
  Minus: "`-`",
  Star: "`*`",
  Slash: "`/`",
  Caret: "`^`",
  At: "`@`",
  Dot: "`.`",
  Underscore: "`_`",
  Newline: "the end of the line",
  Ident: "a name",
  CallIdent: "a function name",
  Number: "a number",
  String: "a string",
};

export function describeTokenType(t: TokenType): string {
  if (t === EOF) return "the end of the statement";
  if (t.name.startsWith("Kw_")) return `\`${t.name.slice(3)}\``;
  return PUNCT[t.name] ?? t.name;
}

export function describeToken(tok: IToken): string {
  if (tok.tokenType === EOF) return "the end of the statement";
  const t = tok.tokenType.name;
  if (t === "Ident" || t === "CallIdent") return `the name \`${tok.image}\``;
  if (t === "Number") return `the number \`${tok.image}\``;
  if (t === "String") return `the string ${tok.image}`;
  if (t.startsWith("Kw_")) return `the keyword \`${tok.image}\``;
  return describeTokenType(tok.tokenType);
}

const RULE_CONTEXT: Record<string, string> = {
  shape: "a shape",
  dimension: "a shape",
  call: "a call",
  argument: "an argument",
  group: "parentheses",
  list: "a list",
  fnStmt: "a `fn` definition",
  trainStmt: "a `train` statement",
  dataStmt: "a declaration",
  paramStmt: "a `param` declaration",
  dimStmt: "a `dim` declaration",
  modelStmt: "a `model` statement",
  outputStmt: "an `output` statement",
  constStmt: "a `const` declaration",
  layerStmt: "a `layer` header",
  returnStmt: "a `return` statement",
  repeatStmt: "a `repeat` definition",
};

function context(ruleName: string): string {
  const c = RULE_CONTEXT[ruleName];
  return c ? ` in ${c}` : "";
}

function oneOf(types: TokenType[]): string {
  const names = [...new Set(types.map(describeTokenType))];
  if (names.length <= 1) return names[0] ?? "something else";
  return names.slice(0, -1).join(", ") + " or " + names[names.length - 1];
}

export const messageProvider: IParserErrorMessageProvider = {
  buildMismatchTokenMessage({ expected, actual, ruleName }) {
    return `expected ${describeTokenType(expected)}${context(ruleName)}, found ${describeToken(actual)}`;
  },
  buildNotAllInputParsedMessage({ firstRedundant }) {
    return `unexpected ${describeToken(firstRedundant)} after the end of the statement`;
  },
  buildNoViableAltMessage({ expectedPathsPerAlt, actual, ruleName }) {
    const firsts = expectedPathsPerAlt.flatMap((alt) => alt.map((path) => path[0]).filter((t): t is TokenType => t !== undefined));
    const what = ruleName === "statement" ? "a statement" : ruleName === "primary" || ruleName === "unary" || ruleName === "exponent" ? "an expression" : oneOf(firsts);
    return `expected ${what}${context(ruleName)}, found ${describeToken(actual[0]!)}`;
  },
  buildEarlyExitMessage({ expectedIterationPaths, actual, ruleName }) {
    const firsts = expectedIterationPaths.map((p) => p[0]).filter((t): t is TokenType => t !== undefined);
    return `expected ${oneOf(firsts)}${context(ruleName)}, found ${describeToken(actual[0]!)}`;
  },
};
