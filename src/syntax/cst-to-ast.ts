// CST → AST. The CST is what grammar/parser.ts produces; this file gives it
// meaning: spans, numbers, operator order, and the few checks that are purely
// syntactic (a number juxtaposed, an attribute other than `.T`).
import type { CstNode, IToken } from "chevrotain";
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import { joinSpans, type SourceFile, type Span } from "../diag/source.ts";
import type { Argument, BinaryOp, DimSpec, Expr, IndexItem, Name, ShapeSpec, Stmt } from "./ast.ts";

type Children = Record<string, (CstNode | IToken)[] | undefined>;

function kids(node: CstNode): Children {
  return node.children as Children;
}
function nodes(node: CstNode, key: string): CstNode[] {
  return (kids(node)[key] ?? []) as CstNode[];
}
function tokens(node: CstNode, key: string): IToken[] {
  return (kids(node)[key] ?? []) as IToken[];
}
function node(n: CstNode, key: string): CstNode {
  const found = nodes(n, key)[0];
  if (!found) throw new Error(`internal: CST ${n.name} has no ${key}`);
  return found;
}
function token(n: CstNode, key: string): IToken {
  const found = tokens(n, key)[0];
  if (!found) throw new Error(`internal: CST ${n.name} has no ${key}`);
  return found;
}

class Builder {
  constructor(
    readonly file: SourceFile,
    readonly bag: DiagnosticBag,
  ) {}

  span(tok: IToken): Span {
    return this.file.span(tok.startOffset, tok.startOffset + tok.image.length);
  }

  name(tok: IToken): Name {
    return { text: tok.image, span: this.span(tok) };
  }

  statement(cst: CstNode): Stmt | undefined {
    const [inner] = Object.values(kids(cst)).flat() as CstNode[];
    if (!inner) return undefined;
    const all = allTokens(inner);
    const lastTok = all[all.length - 1]!;
    const span = this.file.span(all[0]!.startOffset, lastTok.startOffset + lastTok.image.length);
    switch (inner.name) {
      case "modelStmt":
        return { kind: "model", name: this.name(token(inner, "Ident")), span };
      case "dimStmt": {
        const num = tokens(inner, "Number")[0];
        if (num === undefined) return { kind: "dim", name: this.name(token(inner, "Ident")), span };
        const value = this.dimInt(num);
        return { kind: "dim", name: this.name(token(inner, "Ident")), ...(value !== undefined ? { value: { value, span: this.span(num) } } : {}), span };
      }
      case "dataStmt":
        return {
          kind: "data",
          role: tokens(inner, "Kw_input").length > 0 ? "input" : "target",
          name: this.name(token(inner, "Ident")),
          dtype: tokens(inner, "Kw_int").length > 0 ? "i32" : "f32",
          shape: this.shape(node(inner, "shape")),
          span,
        };
      case "paramStmt": {
        const init = nodes(inner, "expression")[0];
        return {
          kind: "param",
          name: this.name(token(inner, "Ident")),
          shape: this.shape(node(inner, "shape")),
          ...(init ? { init: this.expr(init) } : {}),
          span,
        };
      }
      case "constStmt":
        return { kind: "const", name: this.name(token(inner, "Ident")), value: this.expr(node(inner, "expression")), span };
      case "fnStmt":
        return {
          kind: "fn",
          name: this.name(token(inner, "CallIdent")),
          params: tokens(inner, "Ident").map((t) => this.name(t)),
          body: this.expr(node(inner, "expression")),
          span,
        };
      case "outputStmt":
        return { kind: "output", names: tokens(inner, "Ident").map((t) => this.name(t)), span };
      case "lossStmt":
        return { kind: "loss", keyword: this.span(token(inner, "Kw_loss")), value: this.expr(node(inner, "expression")), span };
      case "trainStmt":
        return {
          kind: "train",
          optimizer: this.name(token(inner, "CallIdent")),
          args: nodes(inner, "argument").map((a) => this.argument(a)),
          span,
        };
      case "layerStmt":
        return {
          kind: "layer",
          name: this.name(token(inner, "CallIdent")),
          params: tokens(inner, "Ident").map((t) => this.name(t)),
          body: [],
          broken: new Set(),
          span,
        };
      case "returnStmt":
        return { kind: "return", keyword: this.span(token(inner, "Kw_return")), value: this.expr(node(inner, "expression")), span };
      case "repeatStmt": {
        const [name, countName] = [...tokens(inner, "Ident")].sort((a, b) => a.startOffset - b.startOffset);
        const num = tokens(inner, "Number")[0];
        const count = num ? { value: this.dimInt(num) ?? 1, span: this.span(num) } : this.name(countName!);
        const call = this.expr(node(inner, "call")) as Extract<Expr, { kind: "call" }>;
        return { kind: "repeat", name: this.name(name!), count, call, span };
      }
      case "defStmt":
        return { kind: "def", name: this.name(token(inner, "Ident")), value: this.expr(node(inner, "expression")), span };
      default:
        throw new Error(`internal: unknown statement ${inner.name}`);
    }
  }

  dimInt(tok: IToken): number | undefined {
    const v = Number(tok.image);
    if (!/^[0-9]+$/.test(tok.image) || v < 1 || v > 2 ** 31 - 1) {
      this.bag.error("NNC105", this.span(tok), `a dimension must be a positive whole number, not \`${tok.image}\``);
      return undefined;
    }
    return v;
  }

  shape(cst: CstNode): ShapeSpec {
    const dims: DimSpec[] = nodes(cst, "dimension").map((d) => {
      const num = tokens(d, "Number")[0];
      if (num) return { kind: "int", value: this.dimInt(num) ?? 1, span: this.span(num) };
      const id = tokens(d, "Ident")[0];
      if (id) return { kind: "name", name: id.image, span: this.span(id) };
      return { kind: "infer", span: this.span(token(d, "Underscore")) };
    });
    return { dims, span: joinSpans(this.span(token(cst, "LBracket")), this.span(token(cst, "RBracket"))) };
  }

  argument(cst: CstNode): Argument {
    const value = this.expr(node(cst, "expression"));
    const kw = tokens(cst, "Ident")[0];
    if (kw) return { keyword: this.name(kw), value, span: joinSpans(this.span(kw), value.span) };
    return { value, span: value.span };
  }

  /** Folds `a op b op c` left to right; operator tokens are matched to operands by offset. */
  leftAssoc(operands: Expr[], ops: IToken[], opName: (t: IToken) => BinaryOp): Expr {
    const sorted = [...ops].sort((a, b) => a.startOffset - b.startOffset);
    let acc = operands[0]!;
    for (let i = 1; i < operands.length; i++) {
      const right = operands[i]!;
      const tok = sorted.find((t) => t.startOffset >= acc.span.end && t.startOffset < right.span.start);
      let op: BinaryOp = tok ? opName(tok) : "juxt";
      const opSpan = tok ? this.span(tok) : this.file.span(acc.span.end, right.span.start);
      // After reporting `2 x`, read it as the suggested `2 * x` so no shape error follows.
      if (op === "juxt" && this.checkJuxtaposition(acc, right)) op = "*";
      acc = { kind: "binary", op, left: acc, right, opSpan, span: joinSpans(acc.span, right.span) };
    }
    return acc;
  }

  /** Reports a number juxtaposed; true if it did. */
  checkJuxtaposition(left: Expr, right: Expr): boolean {
    const num = left.kind === "number" ? left : right.kind === "number" ? right : undefined;
    if (!num) return false;
    const other = num === left ? right : left;
    const otherText = this.file.text.slice(other.span.start, other.span.end);
    const suggestion = num === left ? `${num.text} * ${otherText}` : `${otherText} * ${num.text}`;
    this.bag.error("NNC103", joinSpans(left.span, right.span), "a number cannot be juxtaposed", {
      label: "juxtaposition multiplies matrices",
      hint: `juxtaposition multiplies matrices; use \`${suggestion}\` to scale`,
    });
    return true;
  }

  expr(cst: CstNode): Expr {
    switch (cst.name) {
      case "expression":
        return this.leftAssoc(
          nodes(cst, "multiplicative").map((n) => this.expr(n)),
          [...tokens(cst, "Plus"), ...tokens(cst, "Minus")],
          (t) => (t.image === "+" ? "+" : "-"),
        );
      case "multiplicative":
        return this.leftAssoc(
          nodes(cst, "unary").map((n) => this.expr(n)),
          [...tokens(cst, "Star"), ...tokens(cst, "Slash")],
          (t) => (t.image === "*" ? "*" : "/"),
        );
      case "unary":
      case "exponent":
        return this.negation(cst);
      case "matmul":
        return this.leftAssoc(
          nodes(cst, "power").map((n) => this.expr(n)),
          tokens(cst, "At"),
          () => "@",
        );
      case "power":
        return this.power(cst);
      case "postfix":
        return this.postfix(cst);
      case "primary":
        return this.primary(cst);
      case "call":
        return this.call(cst);
      case "group":
        return this.group(cst);
      case "list":
        return {
          kind: "list",
          items: nodes(cst, "expression").map((n) => this.expr(n)),
          span: joinSpans(this.span(token(cst, "LBracket")), this.span(token(cst, "RBracket"))),
        };
      default:
        throw new Error(`internal: unknown expression rule ${cst.name}`);
    }
  }

  /** `-x` (a `unary`, or an `exponent`, where `2 ^ -1` is allowed), or else the rule below it. */
  negation(cst: CstNode): Expr {
    const minus = tokens(cst, "Minus")[0];
    const inner = nodes(cst, cst.name)[0];
    if (minus && inner) {
      const operand = this.expr(inner);
      return { kind: "unary", op: "-", operand, span: joinSpans(this.span(minus), operand.span) };
    }
    return this.expr(node(cst, cst.name === "unary" ? "matmul" : "power"));
  }

  /** `a ^ b`: right-associative, the exponent being its own rule. */
  power(cst: CstNode): Expr {
    const base = this.expr(node(cst, "postfix"));
    const exp = nodes(cst, "exponent")[0];
    if (!exp) return base;
    const right = this.expr(exp);
    return { kind: "binary", op: "^", left: base, right, opSpan: this.span(token(cst, "Caret")), span: joinSpans(base.span, right.span) };
  }

  /** A primary followed by `.T` and indices. */
  postfix(cst: CstNode): Expr {
    let e = this.expr(node(cst, "primary"));
    // `.T` and indices apply left to right, in the order they are written.
    const ops: (IToken | CstNode)[] = [...tokens(cst, "Ident"), ...nodes(cst, "index")];
    const start = (x: IToken | CstNode) => ("image" in x ? x.startOffset : token(x, "IndexOpen").startOffset);
    for (const op of ops.sort((a, b) => start(a) - start(b))) {
      if (!("image" in op)) {
        e = this.index(e, op);
        continue;
      }
      if (op.image !== "T") {
        this.bag.error("NNC106", this.span(op), `unknown attribute \`.${op.image}\``, {
          hint: "the only attribute is `.T` (transpose)",
        });
      }
      e = { kind: "transpose", operand: e, span: joinSpans(e.span, this.span(op)) };
    }
    return e;
  }

  /** `f(args)`: spans from the name to the closing parenthesis. */
  call(cst: CstNode): Expr {
    const callee = this.name(token(cst, "CallIdent"));
    return {
      kind: "call",
      callee,
      args: nodes(cst, "argument").map((a) => this.argument(a)),
      span: joinSpans(callee.span, this.span(token(cst, "RParen"))),
    };
  }

  /** `(e)`: the inner expression itself. */
  group(cst: CstNode): Expr {
    const inner = this.expr(node(cst, "expression"));
    // The span grows to include the parentheses, so carets cover what the user wrote.
    return { ...inner, span: joinSpans(this.span(token(cst, "LParen")), this.span(token(cst, "RParen"))) } as Expr;
  }

  /** `x[…]`: one item per entry; each item's span covers what was written for it. */
  index(operand: Expr, cst: CstNode): Expr {
    const items = nodes(cst, "indexItem").map((item): IndexItem => {
      const all = allTokens(item);
      const span = this.file.span(all[0]!.startOffset, all[all.length - 1]!.startOffset + all[all.length - 1]!.image.length);
      if (tokens(item, "Ellipsis").length > 0) return { kind: "ellipsis", span };
      const start = nodes(item, "start")[0];
      const end = nodes(item, "end")[0];
      if (tokens(item, "Colon").length === 0) return { kind: "at", index: this.expr(start!), span };
      if (!start && !end) return { kind: "all", span };
      return { kind: "range", ...(start ? { start: this.expr(start) } : {}), ...(end ? { end: this.expr(end) } : {}), span };
    });
    return { kind: "index", operand, items, span: joinSpans(operand.span, this.span(token(cst, "RBracket"))) };
  }

  primary(cst: CstNode): Expr {
    const num = tokens(cst, "Number")[0];
    if (num) {
      const value = Number(num.image);
      if (!Number.isFinite(value)) this.bag.error("NNC105", this.span(num), `the number \`${num.image}\` is too large`);
      return { kind: "number", value: Number.isFinite(value) ? value : 0, text: num.image, span: this.span(num) };
    }
    const str = tokens(cst, "String")[0];
    if (str) return { kind: "string", value: str.image.slice(1, -1), span: this.span(str) };
    const id = tokens(cst, "Ident")[0];
    if (id) return { kind: "name", name: id.image, span: this.span(id) };
    const us = tokens(cst, "Underscore")[0];
    if (us) return { kind: "underscore", span: this.span(us) };
    const [inner] = Object.values(kids(cst)).flat() as CstNode[];
    return this.expr(inner!);
  }
}

function allTokens(n: CstNode): IToken[] {
  const out: IToken[] = [];
  const walk = (c: CstNode | IToken): void => {
    if ("image" in c) out.push(c);
    else for (const v of Object.values(c.children)) for (const x of v) walk(x as CstNode | IToken);
  };
  walk(n);
  return out.sort((a, b) => a.startOffset - b.startOffset);
}

export function cstToStmt(cst: CstNode, file: SourceFile, bag: DiagnosticBag): Stmt | undefined {
  return new Builder(file, bag).statement(cst);
}
