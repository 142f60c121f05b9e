// Expressions → IR nodes: name lookup, operators, built-in calls with their
// attributes, and `fn` expansion. Every failure is reported once and yields
// undefined, which callers propagate silently so one mistake is one error.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { Span } from "../diag/source.ts";
import { didYouMean } from "../diag/suggest.ts";
import { COMPOSITES } from "../ops/composites.ts";
import { BUILTINS, OPS } from "../ops/registry.ts";
import type { DiagCode } from "../diag/codes.ts";
import type { AttrSpec, Init, OpAttrs, OpName, ReshapeDim } from "../ops/types.ts";
import type { Expr } from "../syntax/ast.ts";
import { bindArgs, evalConst } from "./consts.ts";
import type { Node, NodeId } from "./graph.ts";

export type Symbol =
  | { readonly kind: "dim"; readonly span: Span }
  | { readonly kind: "value"; readonly role: "input" | "target" | "param" | "const" | "def"; readonly span: Span; node?: NodeId }
  | { readonly kind: "fn"; readonly span: Span; readonly params: readonly { text: string; span: Span }[]; readonly body: Expr }
  /** Defined by a statement that did not parse: uses are silently unknown. */
  | { readonly kind: "broken"; readonly span: Span };

const MAX_EXPANSION_DEPTH = 64;

/** Where running statistics (batchnorm's) are declared: the graph builder's params. */
export interface StatSink {
  /** A param of shape [_] named from `suffix`, its node made by `add`; `update` is its value after a training step. */
  declare(suffix: string, span: Span, add: (name: string) => NodeId, update: (stat: NodeId) => NodeId): NodeId;
}

export class ExprBuilder {
  readonly nodes: Node[] = [];
  private expansion: { name: string; call: Span }[] = [];
  /** Where a call to batchnorm declares its running statistics. */
  stats: StatSink | undefined;

  constructor(
    readonly symbols: ReadonlyMap<string, Symbol>,
    readonly consts: ReadonlyMap<string, number>,
    readonly bag: DiagnosticBag,
  ) {}

  add<K extends OpName>(op: K, args: readonly NodeId[], attrs: OpAttrs[K], span: Span, argSpans: readonly Span[] = [], name?: string): NodeId {
    const id = this.nodes.length;
    const expandedFrom = this.expansion.length > 0 ? this.expansion.map((e) => e.call).reverse() : undefined;
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
        this.bag.error("NNC214", e.span, "a list is not a value", { hint: "lists give shapes, as in reshape(x, [batch, 28, 28, 1])" });
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
    }
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
    const op = BUILTINS.get(fname);
    const composite = COMPOSITES.get(fname);
    const def = op !== undefined ? OPS[op] : composite;
    if (def === undefined) {
      const candidates = [...BUILTINS.keys(), ...COMPOSITES.keys(), ...[...this.symbols].filter(([, s]) => s.kind === "fn").map(([k]) => k)];
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
      const op = <K extends OpName>(k: K, args: readonly NodeId[], attrs: OpAttrs[K]) => this.add(k, args, attrs, e.span, args.map((a) => spanOf.get(a) ?? e.span));
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
    return this.add(op, bound.args, bound.attrs as OpAttrs[typeof op], e.span, bound.argSpans);
  }

  /** The tensor arguments (built) and attributes (read) of a call to a built-in or composite. */
  private bindCall(
    fname: string,
    def: { readonly tensors: readonly string[]; readonly attrs: object },
    e: Extract<Expr, { kind: "call" }>,
    locals: ReadonlyMap<string, NodeId>,
  ): { args: NodeId[]; argSpans: Span[]; attrs: Record<string, unknown> } | undefined {
    const attrNames = Object.keys(def.attrs);
    const specs = def.attrs as Record<string, AttrSpec<unknown>>;
    const optional = new Set(attrNames.filter((a) => specs[a]!.default !== undefined));
    const bound = bindArgs(fname, [...def.tensors, ...attrNames], e.args, e.span, this.bag, optional);
    if (!bound) return undefined;
    const args: NodeId[] = [];
    const argSpans = def.tensors.map((t) => bound.get(t)!.span);
    let ok = true;
    for (const t of def.tensors) {
      const id = this.expr(bound.get(t)!, locals);
      if (id === undefined) ok = false;
      else args.push(id);
    }
    const attrs: Record<string, unknown> = {};
    for (const a of attrNames) {
      const spec = specs[a]!;
      const given = bound.get(a);
      const v = given === undefined ? spec.default : this.attr(fname, a, spec, given);
      if (v === undefined) ok = false;
      attrs[a] = v;
    }
    return ok ? { args, argSpans, attrs } : undefined;
  }

  /** Reads one non-tensor argument according to its spec. */
  private attr(fname: string, name: string, spec: AttrSpec<unknown>, e: Expr): unknown {
    const what = `\`${name}\` of ${fname}`;
    switch (spec.kind) {
      case "number":
        return evalConst(e, this.consts, this.bag, what);
      case "int":
      case "int?": {
        const v = evalConst(e, this.consts, this.bag, what);
        if (v === undefined) return undefined;
        if (!Number.isInteger(v)) {
          this.bag.error("NNC214", e.span, `${what} must be a whole number, got ${v}`);
          return undefined;
        }
        return v;
      }
      case "bool":
        if (e.kind === "name" && (e.name === "true" || e.name === "false")) return e.name === "true";
        this.bag.error("NNC214", e.span, `${what} must be \`true\` or \`false\``);
        return undefined;
      case "string": {
        if (e.kind !== "string") {
          this.bag.error("NNC214", e.span, `${what} must be a string${spec.oneOf ? ": " + spec.oneOf.map((s) => `"${s}"`).join(" or ") : ""}`);
          return undefined;
        }
        if (spec.oneOf && !spec.oneOf.includes(e.value)) {
          const hint = didYouMean(e.value, spec.oneOf, (s) => `"${s}"`);
          this.bag.error("NNC214", e.span, `${what} must be ${spec.oneOf.map((s) => `"${s}"`).join(" or ")}, not "${e.value}"`, hint ? { hint } : {});
          return undefined;
        }
        return e.value;
      }
      case "dims":
        return this.dims(e, what);
    }
  }

  private dims(e: Expr, what: string): ReshapeDim[] | undefined {
    if (e.kind !== "list") {
      this.bag.error("NNC214", e.span, `${what} must be a list of sizes, such as [batch, 28, 28, 1]`);
      return undefined;
    }
    const out: ReshapeDim[] = [];
    for (const item of e.items) {
      if (item.kind === "name" && this.symbols.get(item.name)?.kind === "dim") {
        out.push(item.name);
        continue;
      }
      if (item.kind === "name" && !this.consts.has(item.name)) {
        const hint = didYouMean(item.name, [...this.symbols].filter(([, s]) => s.kind === "dim").map(([k]) => k));
        this.bag.error("NNC203", item.span, `unknown dim \`${item.name}\``, hint ? { hint } : { hint: `declare it: dim ${item.name}` });
        return undefined;
      }
      const v = evalConst(item, this.consts, this.bag, "a size");
      if (v === undefined) return undefined;
      if (!(Number.isInteger(v) && (v >= 1 || v === -1))) {
        this.bag.error("NNC216", item.span, `a size must be a positive whole number or -1, got ${v}`);
        return undefined;
      }
      out.push(v);
    }
    return out;
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
    this.expansion.push({ name, call: e.span });
    try {
      return this.expr(sym.body, inner);
    } finally {
      this.expansion.pop();
    }
  }
}
