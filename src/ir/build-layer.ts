// Layers: `layer NAME(args):` with params of its own, instantiated at each use.
// A use is a definition, `b1 = block(x)`, and its params are named after it
// (`b1.W`), nested uses after both (`b1.attn.Wq`), `repeat` uses after their
// index (`h.0.W`, `h.1.W`, …). Each use declares its params afresh, so every
// `_` in their shapes is a new unknown, solved by that use alone.
//
// A layer's body is checked once, where it is defined (validateLayer); a use
// only builds it, so a mistake in a layer is reported once, not once per use.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { Span } from "../diag/source.ts";
import type { IDim, IShape } from "../ops/types.ts";
import type { Expr, LayerStmt, Name, ShapeSpec, Stmt } from "../syntax/ast.ts";
import { bindArgs } from "./consts.ts";
import type { ExprBuilder, Symbol } from "./build-expr.ts";
import type { NodeId } from "./graph.ts";

/** What the names inside one layer use (or the top level) resolve to, beyond the global symbols. */
export interface Scope {
  /** Tensor arguments, params and definitions of the layer use, by their short names. */
  readonly locals: Map<string, NodeId>;
  /** Size arguments (the arguments its params' shapes name), by name. */
  readonly sizes: ReadonlyMap<string, IDim>;
  /** What this scope's names are prefixed with in the graph: "" at the top level, "b1." in a use. */
  readonly prefix: string;
}

export const TOP_LEVEL: () => Scope = () => ({ locals: new Map(), sizes: new Map(), prefix: "" });

/** What the graph builder lends to layer instantiation. */
export interface LayerHost {
  readonly builder: ExprBuilder;
  readonly symbols: ReadonlyMap<string, Symbol>;
  readonly consts: ReadonlyMap<string, number>;
  readonly bag: DiagnosticBag;
  /** A declared shape; `sizes` are the size arguments in scope. */
  shapeOf(spec: ShapeSpec, owner: string, allowInfer: boolean, sizes?: ReadonlyMap<string, IDim>): IShape | undefined;
  /** Declares a param named `fullName` from a `param` statement (in a layer body). */
  declareParam(fullName: string, stmt: Extract<Stmt, { kind: "param" }>, shape: IShape | undefined): NodeId;
  /** The full name of the definition being built: running statistics (batchnorm's) are named after it. */
  defining: string;
}

/** Layers inside layers nest at most this deep (recursion is caught before). */
const MAX_LAYER_DEPTH = 32;

/**
 * Uses stop once the graph has this many nodes: `repeat 1000000 block(x)`, or
 * layers that each use the next twice, would otherwise grow it without bound.
 */
const MAX_NODES = 100_000;

/** Layers found to use themselves, reported once. */
const RECURSIVE = new WeakSet<LayerStmt>();

/** Builds `name = value` in a scope: a layer use instantiates the layer, anything else is an expression. */
export function defineIn(host: LayerHost, name: Name, value: Expr, scope: Scope): NodeId | undefined {
  if (value.kind === "call" && !scope.locals.has(value.callee.text)) {
    const sym = host.symbols.get(value.callee.text);
    if (sym?.kind === "layer") return instantiate(host, sym, value, scope.prefix + name.text, scope);
  }
  host.defining = scope.prefix + name.text;
  return host.builder.expr(value, scope.locals);
}

/** `name = repeat n layer(x, …)`: the layer applied n times, each use's result the next one's first argument. */
export function repeatIn(host: LayerHost, s: Extract<Stmt, { kind: "repeat" }>, scope: Scope): NodeId | undefined {
  const { bag } = host;
  const count = "text" in s.count ? host.consts.get(s.count.text) : s.count.value;
  if (count === undefined || !Number.isInteger(count) || count < 1) {
    bag.error("NNC244", s.count.span, "`repeat` needs a whole number of times, at least 1", {
      hint: "write a number, or the name of a `const` that holds one: `repeat 3 block(h)`",
    });
    return undefined;
  }
  const lname = s.call.callee.text;
  const sym = host.symbols.get(lname);
  if (sym?.kind === "broken") return undefined;
  if (sym?.kind !== "layer") {
    bag.error("NNC244", s.call.callee.span, `\`repeat\` repeats a layer, and \`${lname}\` is not one`, {
      hint: sym?.kind === "fn" ? `a \`fn\` has no params to make afresh; apply it again by nesting calls, ${lname}(${lname}(x)), or make it a \`layer\`` : "define it with `layer NAME(x):`",
    });
    return undefined;
  }
  const first = sym.def.params[0];
  if (first === undefined || sizeParams(sym.def).has(first.text)) {
    bag.error("NNC244", s.call.span, `\`repeat\` feeds each result of \`${lname}\` to its first argument, which must be a tensor`, {
      notes: [{ message: `layer \`${lname}\` is defined here`, span: sym.def.name.span }],
    });
    return undefined;
  }
  let result: NodeId | undefined;
  for (let k = 0; k < count; k++) {
    const prefix = `${scope.prefix}${s.name.text}.${k}`;
    result = instantiate(host, sym, s.call, prefix, scope, result);
    if (result === undefined) return undefined;
    // The last result takes the defined name (its params keep their index).
    const node = host.builder.nodes[result]!;
    if (k === count - 1 && node.name === prefix) host.builder.nodes[result] = { ...node, name: scope.prefix + s.name.text };
  }
  return result;
}

/** The arguments a layer's param shapes name: they are sizes, the others tensors. */
export function sizeParams(def: LayerStmt): Set<string> {
  const args = new Set(def.params.map((p) => p.text));
  const out = new Set<string>();
  for (const s of def.body) if (s.kind === "param") for (const d of s.shape.dims) if (d.kind === "name" && args.has(d.name)) out.add(d.name);
  return out;
}

/**
 * One use of a layer: its arguments bound in the caller's scope, its params
 * declared as `prefix.NAME`, its body built. `first`, from `repeat`, replaces
 * the first argument with the previous use's result.
 */
function instantiate(
  host: LayerHost,
  sym: Extract<Symbol, { kind: "layer" }>,
  call: Extract<Expr, { kind: "call" }>,
  prefix: string,
  caller: Scope,
  first?: NodeId,
): NodeId | undefined {
  const def = sym.def;
  if (!canExpand(host, def, call)) return undefined;
  const scope = bindScope(host, def, call, prefix, caller, first);
  if (!scope) return undefined;
  const lname = def.name.text;
  const stack = host.builder.expansion;
  stack.push({ name: lname, span: call.span, note: `in \`${prefix}\`, a use of layer \`${lname}\`` });
  try {
    return buildBody(host, def, prefix, scope);
  } finally {
    stack.pop();
  }
}

/**
 * Whether another use of `def` may be expanded here: not inside itself (or
 * too deep), and not past the graph's size limit. Reports why not.
 */
function canExpand(host: LayerHost, def: LayerStmt, call: Extract<Expr, { kind: "call" }>): boolean {
  const { bag, builder } = host;
  const lname = def.name.text;
  const stack = builder.expansion;
  if (stack.some((x) => x.name === lname) || stack.length >= MAX_LAYER_DEPTH) {
    // Every use of the layer would meet the same cycle: report it once.
    if (RECURSIVE.has(def)) return false;
    RECURSIVE.add(def);
    bag.error("NNC242", call.span, `layer \`${lname}\` uses itself`, {
      notes: [
        { message: `layer \`${lname}\` is defined here`, span: def.name.span },
        ...stack.filter((x) => x.note.includes("layer")).map((x) => ({ message: x.note, span: x.span })),
      ],
      hint: "each use of a layer makes its params, so a layer cannot contain itself; to apply it several times, `h = repeat 3 block(x)`",
    });
    return false;
  }
  if (builder.nodes.length > MAX_NODES) {
    bag.error("NNC247", call.span, `the layers' uses make a graph of more than ${MAX_NODES.toLocaleString("en-US")} nodes`, {
      notes: [{ message: `layer \`${lname}\` is defined here`, span: def.name.span }],
      hint: "use fewer layers or fewer repeats; a model this large would not compile in reasonable time",
    });
    return false;
  }
  return true;
}

/**
 * The use's scope: each argument bound, built in the caller's scope, as a
 * size or a tensor. Undefined (reported) where an argument is wrong.
 */
function bindScope(
  host: LayerHost,
  def: LayerStmt,
  call: Extract<Expr, { kind: "call" }>,
  prefix: string,
  caller: Scope,
  first: NodeId | undefined,
): Scope | undefined {
  const { bag, builder } = host;
  const lname = def.name.text;
  const names = def.params.map((p) => p.text);
  // Arguments are part of this use's definition (`b1 = block(batchnorm(x, g, b))` makes `b1.running_mean`).
  host.defining = prefix;
  const bound = bindArgs(lname, names, call.args, call.span, bag, new Set(), def.span);
  if (!bound) return undefined;
  const sizes = sizeParams(def);
  const scope: Scope = { locals: new Map(), sizes: new Map(), prefix: prefix + "." };
  let ok = true;
  names.forEach((arg, k) => {
    const e = bound.get(arg)!;
    // An argument given as a size (a whole number, a `dim`, a `const`, a size
    // argument in scope) may size the layer's params, and is its value too.
    const size = k === 0 && first !== undefined ? undefined : sizeOf(host, e, caller);
    if (size !== undefined) {
      (scope.sizes as Map<string, IDim>).set(arg, size);
      if (def.body.some((s) => s.kind !== "param" && mentions(s, arg))) {
        scope.locals.set(arg, typeof size === "number" ? builder.add("const", [], { value: size }, e.span) : builder.add("dimval", [], { dim: size as string }, e.span));
      }
      return;
    }
    if (sizes.has(arg)) {
      bag.error("NNC243", e.span, `\`${arg}\` of layer \`${lname}\` is a size, so this must be a positive whole number, a \`dim\` or a \`const\``, {
        label: "not a size",
        notes: [{ message: `\`${arg}\` is a size because a param's shape uses it`, span: shapeUse(def, arg) ?? def.name.span }],
      });
      ok = false;
      return;
    }
    const id = k === 0 && first !== undefined ? first : builder.expr(e, caller.locals);
    if (id === undefined) ok = false;
    else scope.locals.set(arg, id);
  });
  return ok ? scope : undefined;
}

/** The layer's body built in the use's scope: params declared, lines defined in order, the `return`'s value. */
function buildBody(host: LayerHost, def: LayerStmt, prefix: string, scope: Scope): NodeId | undefined {
  const builder = host.builder;
  for (const s of def.body) {
    if (s.kind === "param") {
      const full = scope.prefix + s.name.text;
      const id = host.declareParam(full, s, host.shapeOf(s.shape, full, true, scope.sizes));
      scope.locals.set(s.name.text, id);
      continue;
    }
    let id: NodeId | undefined;
    if (s.kind === "def") id = defineIn(host, s.name, s.value, scope);
    else if (s.kind === "repeat") id = repeatIn(host, s, scope);
    else if (s.kind === "return") {
      // The returned value is the use's own definition: a batchnorm in it is `prefix.running_mean`.
      host.defining = prefix;
      return nameResult(builder, builder.expr(s.value, scope.locals), prefix);
    }
    // One failed line ends the use: what follows would only repeat the error.
    if (id === undefined) return undefined;
    const node = builder.nodes[id]!;
    const local = (s as { name: Name }).name.text;
    if (node.name === undefined) builder.nodes[id] = { ...node, name: scope.prefix + local };
    scope.locals.set(local, id);
  }
  return undefined; // validateLayer made sure there is a `return`
}

/**
 * A use's result is named after the use (`b1`, not the `b1.m` it returns),
 * unless it is a value from outside the use (`return x` names nothing new).
 */
function nameResult(builder: ExprBuilder, id: NodeId | undefined, prefix: string): NodeId | undefined {
  if (id === undefined) return undefined;
  const node = builder.nodes[id]!;
  if (node.name === undefined || node.name.startsWith(prefix + ".")) builder.nodes[id] = { ...node, name: prefix };
  return id;
}

/** The size an argument gives, if it is one: a whole number, a `dim`, a `const`, or a size argument of the layer it is in. */
function sizeOf(host: LayerHost, e: Expr, caller: Scope): IDim | undefined {
  if (e.kind === "number" && Number.isInteger(e.value) && e.value >= 1) return e.value;
  if (e.kind !== "name") return undefined;
  const outer = caller.sizes.get(e.name);
  if (outer !== undefined) return outer;
  if (caller.locals.has(e.name)) return undefined;
  if (host.symbols.get(e.name)?.kind === "dim") return e.name;
  const c = host.consts.get(e.name);
  return c !== undefined && Number.isInteger(c) && c >= 1 ? c : undefined;
}

/** Where a param shape of the layer names `arg` first. */
function shapeUse(def: LayerStmt, arg: string): Span | undefined {
  for (const s of def.body) if (s.kind === "param") for (const d of s.shape.dims) if (d.kind === "name" && d.name === arg) return d.span;
  return undefined;
}

/** Whether a statement's expressions mention `name` (a layer's size argument used as a value). */
function mentions(s: Stmt, name: string): boolean {
  const walk = (e: Expr): boolean => {
    switch (e.kind) {
      case "name":
        return e.name === name;
      case "list":
        return e.items.some(walk);
      case "call":
        return e.args.some((a) => walk(a.value));
      case "unary":
      case "transpose":
        return walk(e.operand);
      case "binary":
        return walk(e.left) || walk(e.right);
      default:
        return false;
    }
  };
  if (s.kind === "def" || s.kind === "return") return walk(s.value);
  if (s.kind === "repeat") return walk(s.call) || ("text" in s.count && s.count.text === name);
  return false;
}

/**
 * Checks a layer's definition once: its body holds params, definitions and
 * `repeat`s, then one `return`, each name once, none shadowing a top-level
 * name (so that `E` in a layer means one thing). False after an error.
 */
export function validateLayer(def: LayerStmt, symbols: ReadonlyMap<string, Symbol>, bag: DiagnosticBag): boolean {
  if (def.broken.size > 0) return false; // a body line did not parse, and was reported
  let ok = true;
  const seen = new Map<string, Span>();
  const claim = (n: Name, what: string): void => {
    const prior = seen.get(n.text);
    if (prior) {
      bag.error("NNC205", n.span, `\`${n.text}\` is defined twice in layer \`${def.name.text}\``, {
        notes: [{ message: "first defined here", span: prior }],
        hint: "every name in a layer is defined once; choose a new name",
      });
      ok = false;
      return;
    }
    seen.set(n.text, n.span);
    const outer = symbols.get(n.text);
    if (what !== "argument" && outer && outer.kind !== "broken") {
      bag.error("NNC241", n.span, `${what} \`${n.text}\` of layer \`${def.name.text}\` has the name of a top-level ${outer.kind === "value" ? "value" : outer.kind}`, {
        notes: [{ message: `the top-level \`${n.text}\` is defined here`, span: outer.span }],
        hint: `inside the layer \`${n.text}\` would hide it; rename the ${what} (a layer may use top-level params, as in weight tying, by their names)`,
      });
      ok = false;
    }
  };
  for (const p of def.params) claim(p, "argument");
  const returns = def.body.filter((s) => s.kind === "return");
  def.body.forEach((s, k) => {
    if (s.kind === "param") claim(s.name, "param");
    else if (s.kind === "def" || s.kind === "repeat") claim(s.name, "definition");
    else if (s.kind === "return") {
      if (k !== def.body.length - 1) {
        bag.error("NNC245", s.span, "`return` must be the last line of a layer", { hint: "move the lines after it above it, or delete them" });
        ok = false;
      }
    } else {
      bag.error("NNC246", s.span, `a layer's body holds params, definitions and one \`return\`; \`${statementWord(s)}\` cannot appear in it`, {
        notes: [{ message: `in layer \`${def.name.text}\``, span: def.name.span }],
        hint: "declare it at the top level (not indented), where the layer can use it",
      });
      ok = false;
    }
  });
  if (returns.length === 0) {
    bag.error("NNC245", def.span, `layer \`${def.name.text}\` has no \`return\``, {
      hint: "end its indented body with `return EXPR`, the layer's value",
    });
    ok = false;
  }
  return ok;
}

function statementWord(s: Stmt): string {
  return s.kind === "data" ? s.role : s.kind;
}
