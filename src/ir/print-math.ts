// Writes IR values as readable math: the user's names, `·` for matrix
// products, `⊙` for elementwise products, `ᵀ`, `²`, and as few parentheses as
// precedence allows. Used by `nnc grad` to print the backward graph.
import { formatNumber } from "./print.ts";
import type { GradGraph, Node, NodeId } from "./graph.ts";
import type { Shape } from "../ops/types.ts";

interface Printed {
  readonly text: string;
  /** Binding strength: 1 sums, 2 products, 3 negation, 4 powers, 5 postfix, 6 atoms. */
  readonly prec: number;
  readonly op?: string;
}

const atom = (text: string): Printed => ({ text, prec: 6 });

/** Axes that sum_to removes or shrinks to 1, going from `from` to `to`. */
export function summedAxes(from: Shape, to: Shape): number[] {
  const lead = from.length - to.length;
  return from.map((_, i) => i).filter((i) => i < lead || (to[i - lead] === 1 && from[i] !== 1));
}

export class MathPrinter {
  private readonly memo = new Map<NodeId, Printed>();

  constructor(
    private readonly graph: Pick<GradGraph, "nodes" | "shapes" | "forwardCount">,
    /** Names given to values that have a line of their own (`dW1`, `d(l1 W1)`, temporaries). */
    private readonly names: ReadonlyMap<NodeId, string>,
  ) {}

  /** The expression for a node, referring to named values by name. */
  ref(id: NodeId): Printed {
    const name = this.names.get(id) ?? this.graph.nodes[id]!.name;
    if (name !== undefined) return atom(name);
    return this.asWritten(id) ?? this.expr(id);
  }

  /**
   * An unnamed forward value as the user wrote it (`l1 W1`), when its source
   * text is exactly that value: a single line, not from a `fn` body.
   */
  asWritten(id: NodeId): Printed | undefined {
    const n = this.graph.nodes[id]!;
    if (id >= this.graph.forwardCount || n.expandedFrom || n.op === "const" || n.op === "dimval") return undefined;
    const text = n.span.file.text.slice(n.span.start, n.span.end);
    if (text.includes("\n") || text.length > 48) return undefined;
    const simple = /^[A-Za-z_][A-Za-z0-9_]*(\(.*\))?$/.test(text) || /^\(.*\)$/.test(text);
    return { text, prec: simple ? 6 : 2 };
  }

  /** The node's own expression, even if it has a name. */
  expr(id: NodeId): Printed {
    const cached = this.memo.get(id);
    if (cached) return cached;
    const p = this.build(this.graph.nodes[id]!);
    this.memo.set(id, p);
    return p;
  }

  private wrap(p: Printed, prec: number, sameOpOk?: string): string {
    if (p.prec > prec || (p.prec === prec && sameOpOk !== undefined && p.op === sameOpOk)) return p.text;
    return `(${p.text})`;
  }

  private isScalar(id: NodeId): boolean {
    return this.graph.shapes[id]!.length === 0;
  }

  private build(n: Node): Printed {
    const a = n.args.map((x) => this.ref(x));
    const [x, y] = a;
    switch (n.op) {
      case "const":
        return atom(formatNumber(n.attrs.value));
      case "dimval":
        return atom(n.attrs.dim);
      case "input":
      case "param":
        return atom(n.attrs.name);
      case "add":
        return { text: `${this.wrap(x!, 1, "+")} + ${this.wrap(y!, 1.5)}`, prec: 1, op: "+" };
      case "sub":
        return { text: `${this.wrap(x!, 1, "+")} − ${this.wrap(y!, 1.5)}`, prec: 1, op: "-" };
      case "mul": {
        if (n.args[0] === n.args[1]) return { text: `${this.wrap(x!, 4.5)}²`, prec: 4 };
        const scalar = this.isScalar(n.args[0]!) || this.isScalar(n.args[1]!);
        const sym = scalar ? "*" : "⊙";
        return { text: `${this.wrap(x!, 2, sym)} ${sym} ${this.wrap(y!, 2.5)}`, prec: 2, op: sym };
      }
      case "div":
        return { text: `${this.wrap(x!, 2, "*")} / ${this.wrap(y!, 2.5)}`, prec: 2, op: "/" };
      case "matmul":
        return { text: `${this.wrap(x!, 2, "·")} · ${this.wrap(y!, 2.5)}`, prec: 2, op: "·" };
      case "neg":
        return { text: `−${this.wrap(x!, 3.5)}`, prec: 3 };
      case "pow": {
        const e = this.graph.nodes[n.args[1]!]!;
        if (e.op === "const" && e.attrs.value === 2) return { text: `${this.wrap(x!, 4.5)}²`, prec: 4 };
        return { text: `${this.wrap(x!, 4.5)}^${this.wrap(y!, 4)}`, prec: 4 };
      }
      case "transpose":
        return { text: `${this.wrap(x!, 5.5)}ᵀ`, prec: 5 };
      case "step":
        return atom(`[${x!.text} > 0]`);
      case "eq":
        return atom(`[${x!.text} = ${y!.text}]`);
      case "dropout_mask":
        return atom(`mask(${x!.text})`);
      case "sum_to": {
        const axes = summedAxes(this.graph.shapes[n.args[0]!]!, n.attrs.shape);
        return atom(`sum(${x!.text}, axis = ${axes.length === 1 ? axes[0] : `(${axes.join(", ")})`})`);
      }
      case "broadcast_to":
        return atom(`broadcast(${x!.text}, [${n.attrs.shape.join(", ")}])`);
      case "reshape":
        return atom(`reshape(${x!.text}, [${n.attrs.shape.join(", ")}])`);
      default: {
        const attrs = Object.entries(n.attrs as Record<string, unknown>)
          .filter(([k]) => k !== "stream" && !k.endsWith("Shape"))
          .map(([k, v]) => `${k} = ${v === null ? "none" : Array.isArray(v) ? `[${v.join(", ")}]` : typeof v === "string" ? `"${v}"` : String(v)}`);
        return atom(`${n.op}(${[...a.map((p) => p.text), ...attrs].join(", ")})`);
      }
    }
  }
}
