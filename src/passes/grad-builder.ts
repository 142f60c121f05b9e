// Builds backward nodes for derivative rules: every node is shaped by its
// op's own shape rule, simplified, and hash-consed against the nodes already
// there (forward ones included), which is where common subexpressions merge.
import type { Span } from "../diag/source.ts";
import type { Node, NodeId } from "../ir/graph.ts";
import { OPS } from "../ops/registry.ts";
import { formatShape } from "../ops/shape-rules.ts";
import type { ArgInfo, Dim, DType, GradBuilder, OpAttrs, OpDef, OpName, Ref, Shape, ShapeCtx } from "../ops/types.ts";
import { nodeKey, rewrite, type NodeView } from "./simplify.ts";

export class BackwardBuilder implements GradBuilder, NodeView {
  readonly nodes: Node[];
  readonly shapes: Shape[];
  readonly dtypes: DType[];
  private readonly byKey = new Map<string, NodeId>();
  /** The forward node whose rule is running: new nodes take its span. */
  current: Node | undefined;

  constructor(forward: readonly Node[], shapes: readonly Shape[], dtypes: readonly DType[]) {
    this.nodes = [...forward];
    this.shapes = [...shapes];
    this.dtypes = [...dtypes];
    for (const n of forward) {
      const isSource = n.op === "input" || n.op === "param" || n.op === "dropout";
      const namedConstant = (n.op === "const" || n.op === "dimval") && n.name !== undefined;
      if (!isSource && !namedConstant && !this.byKey.has(nodeKey(n.op, n.args, n.attrs))) this.byKey.set(nodeKey(n.op, n.args, n.attrs), n.id);
    }
  }

  // NodeView, for the simplifier
  op(id: number): OpName;
  op<K extends OpName>(op: K, args: readonly Ref[], attrs: OpAttrs[K]): Ref;
  op<K extends OpName>(idOrOp: number | K, args?: readonly Ref[], attrs?: OpAttrs[K]): OpName | Ref {
    if (typeof idOrOp === "number") return this.nodes[idOrOp]!.op;
    return this.make(idOrOp, args!, attrs!);
  }
  args(id: number): readonly number[] {
    return this.nodes[id]!.args;
  }
  attrs(id: number): unknown {
    return this.nodes[id]!.attrs;
  }
  shape(id: number): Shape {
    return this.shapes[id]!;
  }
  constant(id: number): number | undefined {
    const n = this.nodes[id]!;
    return n.op === "const" && n.name === undefined ? n.attrs.value : undefined;
  }

  private make<K extends OpName>(op: K, args: readonly Ref[], attrs: OpAttrs[K]): Ref {
    const out = this.inferShape(op, args, attrs);
    const r = rewrite(op, args, attrs, out, this);
    if (r) {
      switch (r.kind) {
        case "node":
          return r.id;
        case "const":
          return this.c(r.value);
        case "scale":
          return this.mul(this.c(r.value), r.id);
        case "op":
          return this.make(r.op, r.args, r.attrs as OpAttrs[OpName]);
      }
    }
    const key = nodeKey(op, args, attrs);
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    const from = this.current;
    if (!from) throw new Error("internal: backward node made outside a derivative rule");
    const id = this.nodes.length;
    const node = {
      id,
      op,
      args,
      argSpans: args.map(() => from.span),
      attrs,
      span: from.span,
      ...(from.expandedFrom ? { expandedFrom: from.expandedFrom } : {}),
    } as Node;
    this.nodes.push(node);
    this.shapes.push(out);
    const dtype = (OPS[op] as unknown as OpDef<OpName>).dtype ?? "f32";
    this.dtypes.push(dtype === "first" ? this.dtypes[args[0]!]! : dtype);
    this.byKey.set(key, id);
    return id;
  }

  /** Shapes a new node with its op's rule; a failure here is a bug in a derivative rule. */
  private inferShape<K extends OpName>(op: K, args: readonly Ref[], attrs: OpAttrs[K]): Shape {
    const span: Span = this.current?.span ?? this.nodes[args[0] ?? 0]!.span;
    const infos: ArgInfo[] = args.map((a) => ({ shape: this.shapes[a]!, dtype: this.dtypes[a]!, span }));
    const ctx: ShapeCtx = {
      span,
      error: (_code, message) => {
        throw new Error(`internal: derivative rule built ${op}(${args.map((a) => formatShape(this.shapes[a]!)).join(", ")}): ${message}`);
      },
      unify: (a, b, conflict) => {
        if (a === b) return true;
        conflict(a as Dim, b as Dim);
        return false;
      },
      resolve: (d) => d,
      text: () => "",
    };
    const def = OPS[op] as unknown as OpDef<K>;
    const shape = def.shape(infos, attrs, ctx);
    if (!shape) throw new Error(`internal: no shape for ${op}`);
    return shape as Shape;
  }

  c(value: number): Ref {
    const key = nodeKey("const", [], { value });
    const existing = this.byKey.get(key);
    if (existing !== undefined) return existing;
    return this.make("const", [], { value });
  }

  count(shape: Shape, axes: readonly number[] = shape.map((_, i) => i)): Ref {
    let n = 1;
    let r: Ref | undefined;
    for (const i of axes) {
      const d = shape[i]!;
      if (typeof d === "number") n *= d;
      else r = r === undefined ? this.make("dimval", [], { dim: d }) : this.mul(r, this.make("dimval", [], { dim: d }));
    }
    if (r === undefined) return this.c(n);
    return n === 1 ? r : this.mul(this.c(n), r);
  }

  add = (a: Ref, b: Ref): Ref => this.make("add", [a, b], {});
  sub = (a: Ref, b: Ref): Ref => this.make("sub", [a, b], {});
  mul = (a: Ref, b: Ref): Ref => this.make("mul", [a, b], {});
  div = (a: Ref, b: Ref): Ref => this.make("div", [a, b], {});
  neg = (a: Ref): Ref => this.make("neg", [a], {});
  matmul = (a: Ref, b: Ref): Ref => this.make("matmul", [a, b], {});
  transpose = (a: Ref): Ref => this.make("transpose", [a], {});
  reshape = (a: Ref, shape: Shape): Ref => this.make("reshape", [a], { shape });
}
