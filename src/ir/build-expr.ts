// Expressions → IR nodes: name lookup, operators, built-in calls with their
// attributes, and `fn` expansion. Every failure is reported once and yields
// undefined, which callers propagate silently so one mistake is one error.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { Span } from "../diag/source.ts";
import { didYouMean } from "../diag/suggest.ts";
import { COMPOSITES } from "../ops/composites.ts";
import { BUILTINS, OPS } from "../ops/registry.ts";
import type { DiagCode } from "../diag/codes.ts";
import type { AttrSpec, Init, OpAttrs, OpName } from "../ops/types.ts";
import type { Expr, LayerStmt } from "../syntax/ast.ts";
import { AttrReader } from "./build-attr.ts";
import { bindArgs, evalConst } from "./consts.ts";
import type { Expansion, Node, NodeId } from "./graph.ts";

export type Symbol =
  | { readonly kind: "dim"; readonly span: Span }
  | { readonly kind: "value"; readonly role: "input" | "target" | "param" | "const" | "def"; readonly span: Span; node?: NodeId }
  | { readonly kind: "fn"; readonly span: Span; readonly params: readonly { text: string; span: Span }[]; readonly body: Expr }
  /** A layer: instantiated (with fresh params) by a definition that names its use, `b1 = block(x)`. */
  | { readonly kind: "layer"; readonly span: Span; readonly def: LayerStmt }
  /** Defined by a statement that did not parse: uses are silently unknown. */
  | { readonly kind: "broken"; readonly span: Span };

const MAX_EXPANSION_DEPTH = 64;

/** The reductions that take a list of axes (`sum(x, axis = [1, 2])`), expanded by addOp. */
const MULTI_AXIS: ReadonlySet<OpName> = new Set(["sum", "mean", "max"]);

/** The tensor parameters of a variadic op's call with n positional arguments: its own names, then x3, x4, …. */
function variadicNames(names: readonly string[], n: number): string[] {
  return Array.from({ length: Math.max(n, names.length) }, (_, k) => names[k] ?? `x${k + 1}`);
}

/** Where running statistics (batchnorm's) are declared: the graph builder's params. */
export interface StatSink {
  /** A param of shape [_] named from `suffix`, its node made by `add`; `update` is its value after a training step. */
  declare(suffix: string, span: Span, add: (name: string) => NodeId, update: (stat: NodeId) => NodeId): NodeId;
}

export class ExprBuilder {
  readonly nodes: Node[] = [];
  /** The `fn`s and layers being expanded, outermost first. */
  readonly expansion: (Expansion & { readonly name: string })[] = [];
  /** Where a call to batchnorm declares its running statistics. */
  stats: StatSink | undefined;

  constructor(
    readonly symbols: ReadonlyMap<string, Symbol>,
    readonly consts: ReadonlyMap<string, number>,
    readonly bag: DiagnosticBag,
  ) {}

  add<K extends OpName>(op: K, args: readonly NodeId[], attrs: OpAttrs[K], span: Span, argSpans: readonly Span[] = [], name?: string): NodeId {
    const id = this.nodes.length;
    const expandedFrom = this.expansion.length > 0 ? this.expansion.map(({ span, note }) => ({ span, note })).reverse() : undefined;
    this.nodes.push({ id, op, args, argSpans, attrs, span, ...(name !== undefined ? { name } : {}), ...(expandedFrom ? { expandedFrom } : {}) } as Node);
    return id;
  }

  /** Builds an expression; `locals` are the parameters of the `fn` being expanded. */
  expr(e: Expr, locals: ReadonlyMap<string, NodeId>): NodeId | undefined {
    switch (e.kind) {
      case "number":
        return this.add("const", [], { value: e.value }, e.span);
      case "string":
        this.bag.error("NNC214", e.span, "a string is not a value", { hint: 'strings are only options, such as padding = "same"' });
        return undefined;
      case "underscore":
        this.bag.error("NNC218", e.span, "`_` stands only in a param's shape, for a size to infer");
        return undefined;
      case "list":
        this.bag.error("NNC214", e.span, "a list is not a value", { hint: "lists give shapes, as in reshape(x, [batch, 28, 28, 1]); to index, write `[` right after the value, with no space: x[:, 0]" });
        return undefined;
      case "name":
        return this.name(e.name, e.span, locals);
      case "unary": {
        const x = this.expr(e.operand, locals);
        return x === undefined ? undefined : this.add("neg", [x], {}, e.span, [e.operand.span]);
      }
      case "transpose": {
        const x = this.expr(e.operand, locals);
        return x === undefined ? undefined : this.add("transpose", [x], {}, e.span, [e.operand.span]);
      }
      case "binary": {
        const a = this.expr(e.left, locals);
        const b = this.expr(e.right, locals);
        if (a === undefined || b === undefined) return undefined;
        const op = ({ "+": "add", "-": "sub", "*": "mul", "/": "div", "^": "pow", "@": "matmul", juxt: "matmul" } as const)[e.op];
        return this.add(op, [a, b], {}, e.span, [e.left.span, e.right.span]);
      }
      case "call":
        return this.call(e, locals);
      case "index":
        return this.index(e, locals);
    }
  }

  /**
   * `x[…]` as slice and take, one per entry that is not `:`: entries before
   * `...` (or all, without one) name axes 0, 1, … and entries after it the
   * last axes (…, −2, −1). take drops its axis, so the entries counted from
   * the end are applied first, from the leftmost, then those counted from the
   * start, from the rightmost: each axis number stays true as the others go.
   * Each op's span is its entry's, so a bad bound points at what was written.
   */
  private index(e: Extract<Expr, { kind: "index" }>, locals: ReadonlyMap<string, NodeId>): NodeId | undefined {
    const dots = e.items.filter((i) => i.kind === "ellipsis");
    if (dots.length > 1) {
      this.bag.error("NNC226", dots[1]!.span, "an index can have only one `...`", { hint: "`...` stands for every axis not named, once" });
      return undefined;
    }
    const cut = e.items.findIndex((i) => i.kind === "ellipsis");
    const front = cut < 0 ? e.items : e.items.slice(0, cut);
    const back = cut < 0 ? [] : e.items.slice(cut + 1);
    const entries = [...back.map((item, k) => ({ item, axis: k - back.length })), ...front.map((item, k) => ({ item, axis: k })).reverse()];
    let x = this.expr(e.operand, locals);
    if (x === undefined) return undefined;
    const int = (v: Expr, what: string): number | undefined => {
      const n = evalConst(v, this.consts, this.bag, what);
      if (n !== undefined && !Number.isInteger(n)) {
        this.bag.error("NNC226", v.span, `${what} must be a whole number, got ${n}`);
        return undefined;
      }
      return n;
    };
    for (const { item, axis } of entries) {
      const argSpans = [e.operand.span];
      if (item.kind === "at") {
        const index = int(item.index, "an index");
        if (index === undefined) return undefined;
        x = this.add("take", [x], { index, axis }, item.span, argSpans);
      } else if (item.kind === "range") {
        const start = item.start ? int(item.start, "the start of a slice") : 0;
        const end = item.end ? int(item.end, "the end of a slice") : null;
        if (start === undefined || end === undefined) return undefined;
        x = this.add("slice", [x], { start, end, axis }, item.span, argSpans);
      }
    }
    return x;
  }

  private name(name: string, span: Span, locals: ReadonlyMap<string, NodeId>): NodeId | undefined {
    const local = locals.get(name);
    if (local !== undefined) return local;
    const sym = this.symbols.get(name);
    if (sym?.kind === "value") {
      if (sym.node !== undefined) return sym.node;
      this.bag.error("NNC213", span, `\`${name}\` is used before its definition`, {
        notes: [{ message: `\`${name}\` is defined here`, span: sym.span }],
        hint: "definitions are read top to bottom; move this line below it",
      });
      return undefined;
    }
    if (sym?.kind === "dim") return this.add("dimval", [], { dim: name }, span);
    if (sym?.kind === "broken") return undefined;
    if (sym?.kind === "fn") {
      this.bag.error("NNC203", span, `\`${name}\` is a function, not a value`, { hint: `call it: ${name}(...)` });
      return undefined;
    }
    if (sym?.kind === "layer") {
      this.bag.error("NNC203", span, `\`${name}\` is a layer, not a value`, { hint: `use it by naming its result: ${name}1 = ${name}(...)` });
      return undefined;
    }
    if (BUILTINS.has(name)) {
      this.bag.error("NNC203", span, `\`${name}\` is a built-in function, not a value`, { hint: `call it with its argument directly after the name: ${name}(x)` });
      return undefined;
    }
    const visible = [...this.symbols.keys(), ...locals.keys()].filter((k) => this.symbols.get(k)?.kind !== "fn");
    const hint = didYouMean(name, visible);
    this.bag.error("NNC203", span, `unknown name \`${name}\``, hint ? { hint } : {});
    return undefined;
  }

  private call(e: Extract<Expr, { kind: "call" }>, locals: ReadonlyMap<string, NodeId>): NodeId | undefined {
    const fname = e.callee.text;
    const sym = this.symbols.get(fname);
    if (sym?.kind === "fn") return this.expandFn(fname, sym, e, locals);
    if (sym?.kind === "broken") return undefined;
    if (sym?.kind === "layer") {
      // Its params are named after the value its use defines, so a use must define one.
      const ownParam = sym.def.body.find((s) => s.kind === "param")?.name.text;
      this.bag.error("NNC240", e.span, `a use of layer \`${fname}\` must be a definition of its own`, {
        label: "inside an expression",
        notes: [{ message: `layer \`${fname}\` is defined here`, span: sym.span }],
        hint: `name the result, and so its params: \`${fname}1 = ${fname}(...)\`${ownParam ? ` owns \`${fname}1.${ownParam}\`` : ""}; then use \`${fname}1\``,
      });
      return undefined;
    }
    const op = BUILTINS.get(fname);
    const composite = COMPOSITES.get(fname);
    const def = op !== undefined ? OPS[op] : composite;
    if (def === undefined) {
      const candidates = [...BUILTINS.keys(), ...COMPOSITES.keys(), ...[...this.symbols].filter(([, s]) => s.kind === "fn" || s.kind === "layer").map(([k]) => k)];
      const hint = didYouMean(fname, candidates);
      const isValue = sym !== undefined || locals.has(fname);
      this.bag.error("NNC204", e.callee.span, `unknown function \`${fname}\``, {
        ...(hint ? { hint } : isValue ? { hint: `\`${fname}\` is a value; to multiply, put a space before the parenthesis: ${fname} (...)` } : {}),
      });
      return undefined;
    }
    const bound = this.bindCall(fname, def, e, locals);
    if (!bound) return undefined;
    if (op === undefined) {
      // A composite's parts all stand at the call, so their diagnostics point at it (or at the user's argument).
      const spanOf = new Map(bound.args.map((a, k) => [a, bound.argSpans[k]!]));
      const op = <K extends OpName>(k: K, args: readonly NodeId[], attrs: OpAttrs[K]) => this.addOp(k, args, attrs, e.span, args.map((a) => spanOf.get(a) ?? e.span));
      const parts = {
        op,
        runningStat: (suffix: string, init: Init, update: (stat: NodeId) => NodeId) => {
          if (!this.stats) throw new Error("internal: running statistics outside a model's definitions");
          return this.stats.declare(suffix, e.span, (name) => this.add("param", [], { name, init }, e.span, [], name), update);
        },
        error: (code: DiagCode, message: string) => this.bag.error(code, e.span, message),
      };
      return composite!.expand(parts, bound.args, bound.attrs as never);
    }
    // Each dropout draws its own random stream, numbered in the order they are built.
    if (op === "dropout") bound.attrs["stream"] = this.nodes.filter((n) => n.op === "dropout").length;
    if (Array.isArray(bound.attrs["axis"]) && !MULTI_AXIS.has(op)) {
      const given = e.args.find((a) => a.keyword?.text === "axis")?.value.span ?? e.span;
      this.bag.error("NNC227", given, `${fname} takes one axis, not a list`, { hint: `only ${[...MULTI_AXIS].join(", ")}, var and logsumexp reduce over several axes` });
      return undefined;
    }
    return this.addOp(op, bound.args, bound.attrs as OpAttrs[typeof op], e.span, bound.argSpans);
  }

  /**
   * Adds an op; a reduction over a list of axes becomes one reduction per
   * axis, each keeping its axis (so the others keep their numbers, negative
   * or not), then a squeeze of them all unless keepdims: sums, means and
   * maxima compose, so the result is the reduction over all of them at once.
   */
  addOp<K extends OpName>(op: K, args: readonly NodeId[], attrs: OpAttrs[K], span: Span, argSpans: readonly Span[]): NodeId {
    const many = (attrs as { axis?: unknown }).axis;
    if (!(MULTI_AXIS.has(op) && Array.isArray(many))) return this.add(op, args, attrs, span, argSpans);
    const axes = many as number[];
    let v = args[0]!;
    for (const axis of axes) v = this.add(op as "sum", [v], { axis, keepdims: true }, span, [v === args[0] ? argSpans[0]! : span]);
    return (attrs as OpAttrs["sum"]).keepdims ? v : this.add("squeeze", [v], { axes }, span, [span]);
  }

  /** The tensor arguments (built) and attributes (read) of a call to a built-in or composite. */
  private bindCall(
    fname: string,
    def: { readonly tensors: readonly string[]; readonly variadic?: boolean; readonly attrs: object },
    e: Extract<Expr, { kind: "call" }>,
    locals: ReadonlyMap<string, NodeId>,
  ): { args: NodeId[]; argSpans: Span[]; attrs: Record<string, unknown> } | undefined {
    const attrNames = Object.keys(def.attrs);
    const specs = def.attrs as Record<string, AttrSpec<unknown>>;
    const optional = new Set(attrNames.filter((a) => specs[a]!.default !== undefined));
    const tensors = def.variadic ? variadicNames(def.tensors, e.args.filter((a) => !a.keyword).length) : def.tensors;
    const bound = bindArgs(fname, [...tensors, ...attrNames], e.args, e.span, this.bag, optional);
    if (!bound) return undefined;
    const args: NodeId[] = [];
    const argSpans = tensors.map((t) => bound.get(t)!.span);
    let ok = true;
    for (const t of tensors) {
      const id = this.expr(bound.get(t)!, locals);
      if (id === undefined) ok = false;
      else args.push(id);
    }
    const attrs: Record<string, unknown> = {};
    for (const a of attrNames) {
      const spec = specs[a]!;
      const given = bound.get(a);
      const v = given === undefined ? spec.default : new AttrReader(this.symbols, this.consts, this.bag).read(fname, a, spec, given);
      if (v === undefined) ok = false;
      attrs[a] = v;
    }
    return ok ? { args, argSpans, attrs } : undefined;
  }

  private expandFn(name: string, sym: Extract<Symbol, { kind: "fn" }>, e: Extract<Expr, { kind: "call" }>, locals: ReadonlyMap<string, NodeId>): NodeId | undefined {
    if (this.expansion.some((x) => x.name === name) || this.expansion.length >= MAX_EXPANSION_DEPTH) {
      this.bag.error("NNC217", e.span, `\`${name}\` calls itself`, {
        notes: [{ message: `\`${name}\` is defined here`, span: sym.span }],
        hint: "a `fn` is expanded where it is called, so it cannot be recursive",
      });
      return undefined;
    }
    const params = sym.params.map((p) => p.text);
    const bound = bindArgs(name, params, e.args, e.span, this.bag);
    if (!bound) return undefined;
    const inner = new Map<string, NodeId>();
    let ok = true;
    for (const p of params) {
      const id = this.expr(bound.get(p)!, locals);
      if (id === undefined) ok = false;
      else inner.set(p, id);
    }
    if (!ok) return undefined;
    this.expansion.push({ name, span: e.span, note: "in the `fn` expanded here" });
    try {
      return this.expr(sym.body, inner);
    } finally {
      this.expansion.pop();
    }
  }
}
