// Shape inference: Graph → ShapedGraph. Nodes are visited in order; each op's
// rule computes its result from its arguments' shapes, solving `_` unknowns by
// unification. A node whose argument failed is skipped silently, so one
// mistake gives one error.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { Span } from "../diag/source.ts";
import type { Graph, Node, ShapedGraph } from "../ir/graph.ts";
import { OPS } from "../ops/registry.ts";
import { formatShape } from "../ops/shape-rules.ts";
import { isVar, type ArgInfo, type Dim, type DType, type IDim, type IShape, type OpDef, type OpName, type Shape, type ShapeCtx } from "../ops/types.ts";

class Unifier {
  private readonly binding = new Map<number, { dim: IDim; span: Span }>();

  resolve = (d: IDim): IDim => {
    let cur = d;
    for (let guard = 0; isVar(cur) && guard < 10_000; guard++) {
      const b = this.binding.get(cur.var);
      if (!b) return cur;
      cur = b.dim;
    }
    return cur;
  };

  /** Where an unknown got its value, for "inferred from here" notes. */
  boundAt(v: number): Span | undefined {
    return this.binding.get(v)?.span;
  }

  unify(a: IDim, b: IDim, at: Span, conflict: (a: Dim, b: Dim) => void): boolean {
    const x = this.resolve(a);
    const y = this.resolve(b);
    if (isVar(x) && isVar(y)) {
      if (x.var !== y.var) this.binding.set(x.var, { dim: y, span: at });
      return true;
    }
    if (isVar(x)) {
      this.binding.set(x.var, { dim: y, span: at });
      return true;
    }
    if (isVar(y)) {
      this.binding.set(y.var, { dim: x, span: at });
      return true;
    }
    if (x === y) return true;
    conflict(x, y);
    return false;
  }
}

export function inferShapes(graph: Graph, bag: DiagnosticBag): ShapedGraph | undefined {
  const u = new Unifier();
  const shapes: (IShape | undefined)[] = [];
  const dtypes: DType[] = [];
  const file = graph.file;

  const argInfo = (id: number, useSpan: Span): ArgInfo | undefined => {
    const shape = shapes[id];
    if (!shape) return undefined;
    const n = graph.nodes[id]!;
    const declared = n.op === "input" || n.op === "param";
    const origin = n.name !== undefined && n.op !== "const" ? { origin: { span: n.span, declared } } : {};
    return { shape, dtype: dtypes[id]!, span: useSpan, ...(n.name !== undefined ? { name: n.name } : {}), ...origin };
  };

  for (const node of graph.nodes) {
    const def = OPS[node.op] as unknown as OpDef<OpName>;
    if (def.kind === "source") {
      const declared = graph.declaredShapes.get(node.id);
      shapes[node.id] = node.op === "const" || node.op === "dimval" ? [] : declared?.shape;
      dtypes[node.id] = declared?.dtype ?? "f32";
      continue;
    }
    const args = node.args.map((a, i) => argInfo(a, node.argSpans[i] ?? node.span));
    if (args.some((a) => a === undefined)) continue;
    const infos = args as ArgInfo[];
    if (!checkTypes(node, def, infos, bag)) continue;
    const ctx = makeCtx(node, u, graph.unknowns, bag);
    const out = def.shape(infos, node.attrs as never, ctx);
    shapes[node.id] = out;
    dtypes[node.id] = def.dtype === "first" ? infos[0]!.dtype : (def.dtype ?? "f32");
  }

  // Every `_` must have been solved by some use (unless the use itself failed).
  if (bag.errorCount === 0) graph.unknowns.forEach((unk, v) => {
    const r = u.resolve({ var: v });
    if (isVar(r)) {
      bag.error("NNC210", unk.span, `cannot infer this \`_\` in \`${unk.owner}\`'s shape`, {
        ...(unk.use ? { notes: [{ message: unk.use.note, span: unk.use.span }] } : {}),
        hint: "no use of the param fixes this size; write it out",
      });
    }
  });

  if (graph.loss) {
    const s = shapes[graph.loss.node];
    if (s && s.length > 0) {
      const lossNode = graph.nodes[graph.loss.node]!;
      bag.error("NNC209", lossNode.span, `the loss must be a scalar, but it has shape ${formatShape(s.map(u.resolve))}`, {
        label: "not a scalar",
        hint: "reduce it, e.g. `mean(...)` or `sum(...)`, or use a loss function such as mse(p, y)",
      });
    }
  }

  if (bag.hasErrors) return undefined;
  const final: Shape[] = shapes.map((s) => (s ?? []).map((d) => u.resolve(d) as Dim));
  const { stage: _stage, ...rest } = graph;
  void file;
  return { ...rest, stage: "shaped", shapes: final, dtypes };
}

function checkTypes(node: Node, def: OpDef<OpName>, args: readonly ArgInfo[], bag: DiagnosticBag): boolean {
  const want = def.argTypes ?? args.map(() => "f32" as const);
  for (let i = 0; i < args.length; i++) {
    const w = want[i] ?? (def.variadic ? want[want.length - 1] : undefined) ?? "f32";
    const a = args[i]!;
    if (a.dtype === w || w === "any") continue;
    const what = a.name ? `\`${a.name}\`` : "this argument";
    if (w === "f32" && (def.kind === "loss" || def.kind === "metric") && i > 0) {
      // Integer class ids as the target of a loss that compares two float tensors.
      bag.error("NNC233", a.span, `${def.callName ?? node.op} compares float tensors, but its target ${what} holds integer class ids`, {
        ...(a.origin ? { notes: [{ message: `\`${a.name}\` is ${a.origin.declared ? "declared" : "defined"} here`, span: a.origin.span }] } : {}),
        // (accuracy, the one metric, takes class ids itself)
        hint: "for class ids, use `sparse_cross_entropy(logits, labels)` on the logits (no softmax); or declare a one-hot float target `[batch, classes]`",
      });
      return false;
    }
    bag.error("NNC215", a.span, w === "i32" ? `${def.callName ?? node.op} needs integer ids, but ${what} holds floats` : `${def.callName ?? opSymbol(node.op)} needs float values, but ${what} holds integers`, {
      ...(a.origin ? { notes: [{ message: `\`${a.name}\` is ${a.origin.declared ? "declared" : "defined"} here`, span: a.origin.span }] } : {}),
      hint: w === "i32" ? "declare the input as `int[...]`" : "integer inputs feed embed and one_hot; convert with one_hot(ids, n)",
    });
    return false;
  }
  return true;
}

function opSymbol(op: OpName): string {
  const symbols: Partial<Record<OpName, string>> = { add: "`+`", sub: "`-`", mul: "`*`", div: "`/`", pow: "`^`", neg: "negation", matmul: "the matrix product" };
  return symbols[op] ?? op;
}

function makeCtx(node: Node, u: Unifier, unknowns: Graph["unknowns"], bag: DiagnosticBag): ShapeCtx {
  const withExpansion = (notes: { message: string; span?: Span }[]) => [
    ...notes,
    ...(node.expandedFrom ?? []).map((use) => ({ message: use.note, span: use.span })),
  ];
  return {
    span: node.span,
    error: (code, message, opts = {}) => {
      const { span, notes, ...rest } = opts;
      bag.error(code, span ?? node.span, message, { ...rest, notes: withExpansion([...(notes ?? [])]) });
    },
    unify: (a, b, conflict) => {
      const ra = u.resolve(a);
      const rb = u.resolve(b);
      return u.unify(ra, rb, node.span, (x, y) => {
        // When a `_` was solved by an earlier use, show both origins of the conflict.
        const solved = [a, b].find((d): d is { var: number } => isVar(d) && u.boundAt(d.var) !== undefined);
        if (!solved) {
          conflict(x, y);
          return;
        }
        const unk = unknowns[solved.var]!;
        const value = u.resolve(solved);
        const other = value === x ? y : x;
        bag.error("NNC211", node.span, `conflicting sizes for a \`_\` in \`${unk.owner}\`: ${value} from an earlier use, ${other} here`, {
          notes: withExpansion([
            { message: `inferred as ${value} here`, span: u.boundAt(solved.var)! },
            { message: `the \`_\` is declared here`, span: unk.span },
          ]),
        });
      });
    },
    resolve: u.resolve,
    text: (span) => span.file.text.slice(span.start, span.end),
  };
}
