// Pictures of a forward + backward graph: Graphviz dot, Mermaid, and a
// self-contained SVG (laid out here, so no system tool is needed). Forward
// nodes are white ellipses/boxes, backward nodes blue, gradients bold.
import type { GradGraph, NodeId } from "./graph.ts";
import { backwardNames } from "./print-grad.ts";

interface DrawNode {
  id: NodeId;
  label: string;
  backward: boolean;
  gradient: boolean;
  args: NodeId[];
}

function drawable(g: GradGraph): DrawNode[] {
  const names = backwardNames(g);
  const gradientNodes = new Set(g.gradients.map((x) => x.node));
  const hidden = (id: NodeId) => g.nodes[id]!.op === "const" || g.nodes[id]!.op === "dimval";
  return g.nodes
    .filter((n) => !hidden(n.id))
    .map((n) => {
      const title = names.get(n.id) ?? n.name ?? n.op;
      const op = n.op === "input" || n.op === "param" || title === n.op ? "" : ` = ${n.op}`;
      return {
        id: n.id,
        label: `${title}${op} [${g.shapes[n.id]!.join(", ")}]`,
        backward: n.id >= g.forwardCount,
        gradient: gradientNodes.has(n.id),
        args: n.args.filter((a) => !hidden(a)),
      };
    });
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

export function toDot(g: GradGraph): string {
  const lines = [`digraph "${esc(g.modelName)}" {`, "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];'];
  for (const n of drawable(g)) {
    const style = n.backward ? `shape=box, style="filled${n.gradient ? ",bold" : ""}", fillcolor="#dbeafe", color="#1d4ed8"` : "shape=ellipse";
    lines.push(`  n${n.id} [label="${esc(n.label)}", ${style}];`);
  }
  for (const n of drawable(g)) for (const a of n.args) lines.push(`  n${a} -> n${n.id}${n.backward ? ' [color="#1d4ed8"]' : ""};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

export function toMermaid(g: GradGraph): string {
  const lines = ["flowchart TD"];
  const mq = (s: string) => s.replace(/"/g, "#quot;").replace(/\[/g, "#91;").replace(/\]/g, "#93;");
  for (const n of drawable(g)) lines.push(n.backward ? `  n${n.id}["${mq(n.label)}"]:::backward` : `  n${n.id}(["${mq(n.label)}"]):::forward`);
  for (const n of drawable(g)) for (const a of n.args) lines.push(`  n${a} --> n${n.id}`);
  lines.push("  classDef forward fill:#ffffff,stroke:#111111");
  lines.push("  classDef backward fill:#dbeafe,stroke:#1d4ed8");
  return lines.join("\n") + "\n";
}

const xmlEsc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A layered drawing: each node one row below its deepest argument. */
export function toSvg(g: GradGraph): string {
  const nodes = drawable(g);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const layer = new Map<NodeId, number>();
  for (const n of nodes) layer.set(n.id, Math.max(0, ...n.args.map((a) => (layer.get(a) ?? 0) + 1)));
  const rows: DrawNode[][] = [];
  for (const n of nodes) (rows[layer.get(n.id)!] ??= []).push(n);
  const charW = 6.6;
  const boxH = 26;
  const gapX = 18;
  const gapY = 44;
  const pos = new Map<NodeId, { x: number; y: number; w: number }>();
  let width = 0;
  rows.forEach((row, r) => {
    let x = 20;
    for (const n of row) {
      const w = Math.max(40, n.label.length * charW + 16);
      pos.set(n.id, { x, y: 40 + r * (boxH + gapY), w });
      x += w + gapX;
    }
    width = Math.max(width, x + 20);
  });
  const height = 40 + rows.length * (boxH + gapY) + 20;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${Math.ceil(width)}" height="${height}" viewBox="0 0 ${Math.ceil(width)} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<text x="20" y="22" font-size="13" font-weight="bold">${xmlEsc(g.modelName)}: forward (white) and backward (blue)</text>`,
  ];
  for (const n of nodes) {
    const p = pos.get(n.id)!;
    for (const a of n.args) {
      const q = pos.get(a);
      if (!q || !byId.has(a)) continue;
      const x1 = q.x + q.w / 2;
      const y1 = q.y + boxH;
      const x2 = p.x + p.w / 2;
      const y2 = p.y;
      const color = n.backward ? "#1d4ed8" : "#555555";
      out.push(`<path d="M${x1.toFixed(1)},${y1} C${x1.toFixed(1)},${y1 + gapY / 2} ${x2.toFixed(1)},${y2 - gapY / 2} ${x2.toFixed(1)},${y2}" fill="none" stroke="${color}" stroke-width="1" opacity="0.7"/>`);
    }
  }
  for (const n of nodes) {
    const p = pos.get(n.id)!;
    const fill = n.backward ? "#dbeafe" : "#ffffff";
    const stroke = n.backward ? "#1d4ed8" : "#111111";
    const rx = n.backward ? 3 : 13;
    out.push(`<rect x="${p.x.toFixed(1)}" y="${p.y}" width="${p.w.toFixed(1)}" height="${boxH}" rx="${rx}" fill="${fill}" stroke="${stroke}" stroke-width="${n.gradient ? 2.5 : 1}"/>`);
    out.push(`<text x="${(p.x + p.w / 2).toFixed(1)}" y="${p.y + 17}" text-anchor="middle">${xmlEsc(n.label)}</text>`);
  }
  out.push("</svg>");
  return out.join("\n") + "\n";
}
