// A deterministic text form of the IR: one line per node, with the user's
// names, the shape (once inferred) and the source line it came from.
import type { Init } from "../ops/types.ts";
import { formatShape } from "../ops/shape-rules.ts";
import type { Graph, Node, ShapedGraph } from "./graph.ts";

export function formatNumber(v: number): string {
  return Object.is(v, -0) ? "-0" : String(v);
}

export function formatInit(init: Init): string {
  switch (init.kind) {
    case "uniform":
      return `uniform(${formatNumber(init.low)}, ${formatNumber(init.high)})`;
    case "normal":
      return `normal(${formatNumber(init.mean)}, ${formatNumber(init.std)})`;
    default:
      return init.kind;
  }
}

function formatAttrs(node: Node): string {
  const entries = Object.entries(node.attrs as Record<string, unknown>);
  return entries
    .map(([k, v]) => {
      const text = Array.isArray(v) ? `[${v.join(", ")}]` : typeof v === "string" ? `"${v}"` : v === null ? "none" : typeof v === "number" ? formatNumber(v) : String(v);
      return `${k} = ${text}`;
    })
    .join(", ");
}

/** How a node is referred to as an argument: its name, its value if an unnamed constant, else %id. */
export function refName(graph: Pick<Graph, "nodes">, id: number): string {
  const n = graph.nodes[id]!;
  if (n.name !== undefined) return n.name;
  if (n.op === "const") return formatNumber(n.attrs.value);
  if (n.op === "dimval") return n.attrs.dim;
  return `%${id}`;
}

export function printGraph(graph: Graph | ShapedGraph): string {
  const shaped = graph.stage === "shaped" ? graph : undefined;
  const lines: string[] = [`model ${graph.modelName}`];
  for (const d of graph.dims) lines.push(`dim ${d.name}${d.default !== undefined ? ` = ${d.default}` : ""}`);
  const rows: [string, string, string][] = [];
  for (const n of graph.nodes) {
    const line = `line ${graph.file.lineCol(n.span.start).line}`;
    const type = shaped ? `${shaped.dtypes[n.id]}${formatShape(shaped.shapes[n.id]!)}` : "";
    const decl = graph.declaredShapes.get(n.id);
    const declType = decl ? `${decl.dtype}${formatShape(decl.shape)}` : "";
    switch (n.op) {
      case "input":
        rows.push([`${n.attrs.role} ${n.attrs.name}`, type || declType, line]);
        continue;
      case "param":
        rows.push([`param ${n.attrs.name} = ${formatInit(n.attrs.init)}`, type || declType, line]);
        continue;
      case "const":
      case "dimval":
        if (n.name === undefined) continue; // printed inline where used
        rows.push([`const ${n.name} = ${n.op === "const" ? formatNumber(n.attrs.value) : n.attrs.dim}`, type, line]);
        continue;
      default: {
        const args = n.args.map((a) => refName(graph, a));
        const attrs = formatAttrs(n);
        rows.push([`${n.name ?? `%${n.id}`} = ${n.op}(${[...args, ...(attrs ? [attrs] : [])].join(", ")})`, type, line]);
      }
    }
  }
  const w0 = Math.min(60, Math.max(0, ...rows.map((r) => r[0].length)));
  const w1 = Math.max(0, ...rows.map((r) => r[1].length));
  for (const [a, b, c] of rows) lines.push(`${a.padEnd(w0)}  : ${b.padEnd(w1)}  # ${c}`.replace(/\s+$/, ""));
  if (graph.outputs.length > 0) lines.push(`output ${graph.outputs.map((o) => o.name).join(", ")}`);
  if (graph.loss) lines.push(`loss ${refName(graph, graph.loss.node)}`);
  if (graph.train) {
    const schedule = graph.train.schedule ? [`schedule = ${JSON.stringify(graph.train.schedule)}`] : [];
    const opts = [...[...graph.train.options].map(([k, v]) => `${k} = ${formatNumber(v)}`), ...schedule].join(", ");
    lines.push(`train ${graph.train.optimizer}(${opts})`);
  }
  return lines.join("\n") + "\n";
}
