// `nnc grad` output: the backward graph as lines of math, one per gradient
// and per intermediate worth naming, each with its shape and source line;
// and a JSON form with a documented, stable schema (docs/grad-json.md).
import { basename } from "node:path";
import type { GradGraph, NodeId } from "./graph.ts";
import { MathPrinter } from "./print-math.ts";

export interface GradLine {
  readonly node: NodeId;
  readonly name: string;
  readonly math: string;
  readonly shape: string;
  readonly where: string;
}

/** Names for the backward values that get a line: gradients, adjoints, and values used twice. */
export function backwardNames(g: GradGraph): Map<NodeId, string> {
  const names = new Map<NodeId, string>();
  const userNames = new Set(g.nodes.map((n) => n.name).filter((n): n is string => n !== undefined));
  const taken = new Set<string>(userNames);
  const fresh = (base: string): string => {
    let name = base;
    for (let i = 2; taken.has(name); i++) name = `${base}#${i}`;
    taken.add(name);
    return name;
  };
  const forward = new MathPrinter(g, new Map());
  for (const [fwd, adj] of [...g.adjoints].sort((a, b) => a[0] - b[0])) {
    const constant = g.nodes[adj]!.op === "const" || g.nodes[adj]!.op === "dimval";
    if (adj < g.forwardCount || names.has(adj) || fwd === g.loss?.node || constant) continue;
    const n = g.nodes[fwd]!;
    names.set(adj, fresh(n.name !== undefined ? `d${n.name}` : `d(${(forward.asWritten(fwd) ?? forward.expr(fwd)).text})`));
  }
  for (const grad of g.gradients) if (!names.has(grad.node) && grad.node >= g.forwardCount) names.set(grad.node, fresh(`d${grad.name}`));
  // A backward value used twice gets a name of its own, so nothing is printed twice.
  const uses = new Map<NodeId, number>();
  for (const n of g.nodes.slice(g.forwardCount)) for (const a of n.args) uses.set(a, (uses.get(a) ?? 0) + 1);
  let temp = 0;
  for (let id = g.forwardCount; id < g.nodes.length; id++) {
    const n = g.nodes[id]!;
    const trivial = n.op === "const" || n.op === "dimval";
    if (!names.has(id) && !trivial && (uses.get(id) ?? 0) > 1) names.set(id, fresh(`t${++temp}`));
  }
  return names;
}

export function gradLines(g: GradGraph): GradLine[] {
  const names = backwardNames(g);
  const printer = new MathPrinter(g, names);
  const file = basename(g.file.path);
  const lines: GradLine[] = [];
  for (let id = g.forwardCount; id < g.nodes.length; id++) {
    const name = names.get(id);
    if (name === undefined) continue;
    const n = g.nodes[id]!;
    lines.push({ node: id, name, math: printer.expr(id).text, shape: `[${g.shapes[id]!.join(", ")}]`, where: `${file}:${g.file.lineCol(n.span.start).line}` });
  }
  // A gradient that is a forward value or a constant (no backward node of its own) still gets a line.
  for (const grad of g.gradients) {
    if (grad.node >= g.forwardCount) continue;
    const n = g.nodes[grad.of]!;
    lines.push({ node: grad.node, name: `d${grad.name}`, math: printer.ref(grad.node).text, shape: `[${g.shapes[grad.node]!.join(", ")}]`, where: `${file}:${g.file.lineCol(n.span.start).line}` });
  }
  return lines;
}

export function printGrad(g: GradGraph): string {
  const lines = gradLines(g);
  const out = [`# backward graph of ${g.modelName}: d${g.loss?.name ?? "loss"} / d(${g.gradients.map((x) => x.name).join(", ")})`];
  const w0 = Math.min(48, Math.max(...lines.map((l) => l.name.length)));
  const w1 = Math.min(64, Math.max(...lines.map((l) => l.math.length)));
  const w2 = Math.max(...lines.map((l) => l.shape.length));
  for (const l of lines) out.push(`${l.name.padEnd(w0)} = ${l.math.padEnd(w1)}   ${l.shape.padEnd(w2)}   (${l.where})`.replace(/\s+$/, ""));
  return out.join("\n") + "\n";
}

/** The JSON form (schema "nnc.grad/1", see docs/grad-json.md). */
export function gradToJson(g: GradGraph) {
  const names = backwardNames(g);
  const printer = new MathPrinter(g, names);
  return {
    schema: "nnc.grad/1",
    model: g.modelName,
    loss: g.loss?.node ?? null,
    wrt: g.gradients.map((x) => x.name),
    nodes: g.nodes.map((n) => {
      const { line, col } = g.file.lineCol(n.span.start);
      const label = names.get(n.id);
      return {
        id: n.id,
        pass: n.id < g.forwardCount ? "forward" : "backward",
        op: n.op,
        ...(n.name !== undefined ? { name: n.name } : {}),
        ...(label !== undefined ? { label, math: printer.expr(n.id).text } : {}),
        args: n.args,
        attrs: n.attrs,
        shape: g.shapes[n.id],
        dtype: g.dtypes[n.id],
        line,
        column: col,
      };
    }),
    gradients: g.gradients.map((x) => ({ name: x.name, of: x.of, node: x.node })),
    adjoints: [...g.adjoints].sort((a, b) => a[0] - b[0]).map(([of, node]) => ({ of, node })),
  };
}
