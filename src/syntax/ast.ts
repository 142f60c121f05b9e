// The AST: what the user wrote, as discriminated unions, every node with its span.
import type { Span } from "../diag/source.ts";

export interface Name {
  readonly text: string;
  readonly span: Span;
}

export type Expr =
  | { readonly kind: "number"; readonly value: number; readonly text: string; readonly span: Span }
  | { readonly kind: "string"; readonly value: string; readonly span: Span }
  | { readonly kind: "name"; readonly name: string; readonly span: Span }
  | { readonly kind: "underscore"; readonly span: Span }
  | { readonly kind: "list"; readonly items: readonly Expr[]; readonly span: Span }
  | { readonly kind: "call"; readonly callee: Name; readonly args: readonly Argument[]; readonly span: Span }
  | { readonly kind: "unary"; readonly op: "-"; readonly operand: Expr; readonly span: Span }
  | {
      readonly kind: "binary";
      readonly op: BinaryOp;
      readonly left: Expr;
      readonly right: Expr;
      /** The operator token; for juxtaposition, the gap between the operands. */
      readonly opSpan: Span;
      readonly span: Span;
    }
  | { readonly kind: "transpose"; readonly operand: Expr; readonly span: Span }
  /** `x[:, 2:5]`: desugared by the IR builder into slice and take, one per entry. */
  | { readonly kind: "index"; readonly operand: Expr; readonly items: readonly IndexItem[]; readonly span: Span };

/** One entry of an index, for one axis (or, `...`, for every axis not named). */
export type IndexItem =
  | { readonly kind: "all"; readonly span: Span }
  | { readonly kind: "ellipsis"; readonly span: Span }
  | { readonly kind: "at"; readonly index: Expr; readonly span: Span }
  | { readonly kind: "range"; readonly start?: Expr; readonly end?: Expr; readonly span: Span };

/** `juxt` is matrix product by juxtaposition (`a b`); `@` the explicit one. */
export type BinaryOp = "+" | "-" | "*" | "/" | "^" | "@" | "juxt";

export interface Argument {
  readonly keyword?: Name;
  readonly value: Expr;
  readonly span: Span;
}

export type DimSpec =
  | { readonly kind: "int"; readonly value: number; readonly span: Span }
  | { readonly kind: "name"; readonly name: string; readonly span: Span }
  | { readonly kind: "infer"; readonly span: Span };

export interface ShapeSpec {
  readonly dims: readonly DimSpec[];
  readonly span: Span;
}

export type ElemType = "f32" | "i32";

export type Stmt =
  | { readonly kind: "model"; readonly name: Name; readonly span: Span }
  | { readonly kind: "dim"; readonly name: Name; readonly value?: { value: number; span: Span }; readonly span: Span }
  | {
      readonly kind: "data";
      readonly role: "input" | "target";
      readonly name: Name;
      readonly dtype: ElemType;
      readonly shape: ShapeSpec;
      readonly span: Span;
    }
  | { readonly kind: "param"; readonly name: Name; readonly shape: ShapeSpec; readonly init?: Expr; readonly span: Span }
  | { readonly kind: "const"; readonly name: Name; readonly value: Expr; readonly span: Span }
  | { readonly kind: "fn"; readonly name: Name; readonly params: readonly Name[]; readonly body: Expr; readonly span: Span }
  | { readonly kind: "output"; readonly names: readonly Name[]; readonly span: Span }
  | { readonly kind: "loss"; readonly keyword: Span; readonly value: Expr; readonly span: Span }
  | { readonly kind: "train"; readonly optimizer: Name; readonly args: readonly Argument[]; readonly span: Span }
  | { readonly kind: "def"; readonly name: Name; readonly value: Expr; readonly span: Span }
  | LayerStmt
  | { readonly kind: "return"; readonly keyword: Span; readonly value: Expr; readonly span: Span }
  | {
      readonly kind: "repeat";
      readonly name: Name;
      /** `repeat 3` or `repeat n` (a const). */
      readonly count: { readonly value: number; readonly span: Span } | Name;
      readonly call: Extract<Expr, { kind: "call" }>;
      readonly span: Span;
    };

/** `layer NAME(a, b):` and the indented statements below it. */
export interface LayerStmt {
  readonly kind: "layer";
  readonly name: Name;
  readonly params: readonly Name[];
  readonly body: readonly Stmt[];
  /** Names the body's unparsable statements seemed to define. */
  readonly broken: ReadonlySet<string>;
  /** The header line, `layer NAME(a, b):`. */
  readonly span: Span;
}

export interface Program {
  readonly stmts: readonly Stmt[];
  /** Names the unparsable statements seemed to define: later stages stay quiet about them. */
  readonly broken: ReadonlySet<string>;
}
