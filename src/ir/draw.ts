// Pictures of a forward + backward graph: Graphviz dot, Mermaid, and a
// self-contained SVG laid out by ELK's layered algorithm (elkjs, pure
// JavaScript, so no system tool is needed; the playground draws with the same
// code). Forward nodes are white rounded boxes, backward nodes blue, gradients bold.
import type ElkApi from "elkjs/lib/elk-api.js";
import type { ElkNode } from "elkjs/lib/elk-api.js";
import type { GradGraph, NodeId, ShapedGraph } from "./graph.ts";
import { backwardNames } from "./print-grad.ts";

export interface DrawNode {
  id: NodeId;
  label: string;
  backward: boolean;
  gradient: boolean;
  args: NodeId[];
  /** The 1-based source line the node came from (the playground links them). */
  line: number;
}

/** Constants and dimension values clutter a picture without saying anything. */
const hiddenOp = (op: string) => op === "const" || op === "dimval";

/** Forward and backward nodes of a differentiated graph. */
export function gradDrawable(g: GradGraph): DrawNode[] {
  const names = backwardNames(g);
  const gradientNodes = new Set(g.gradients.map((x) => x.node));
  const hidden = (id: NodeId) => hiddenOp(g.nodes[id]!.op);
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
        line: g.file.lineCol(n.span.start).line,
      };
    });
}

const esc = (s: string) => s.replace(/\\/g, "\\\\").replace(/"/g, '\\"');

export function toDot(g: GradGraph): string {
  const lines = [`digraph "${esc(g.modelName)}" {`, "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10];'];
  for (const n of gradDrawable(g)) {
    const style = n.backward ? `shape=box, style="filled${n.gradient ? ",bold" : ""}", fillcolor="#dbeafe", color="#1d4ed8"` : "shape=ellipse";
    lines.push(`  n${n.id} [label="${esc(n.label)}", ${style}];`);
  }
  for (const n of gradDrawable(g)) for (const a of n.args) lines.push(`  n${a} -> n${n.id}${n.backward ? ' [color="#1d4ed8"]' : ""};`);
  lines.push("}");
  return lines.join("\n") + "\n";
}

export function toMermaid(g: GradGraph): string {
  const lines = ["flowchart TD"];
  const mq = (s: string) => s.replace(/"/g, "#quot;").replace(/\[/g, "#91;").replace(/\]/g, "#93;");
  for (const n of gradDrawable(g)) lines.push(n.backward ? `  n${n.id}["${mq(n.label)}"]:::backward` : `  n${n.id}(["${mq(n.label)}"]):::forward`);
  for (const n of gradDrawable(g)) for (const a of n.args) lines.push(`  n${a} --> n${n.id}`);
  lines.push("  classDef forward fill:#ffffff,stroke:#111111");
  lines.push("  classDef backward fill:#dbeafe,stroke:#1d4ed8");
  return lines.join("\n") + "\n";
}


/** The shaped forward graph alone (no differentiation needed), for the playground. */
export function forwardDrawable(g: ShapedGraph): DrawNode[] {
  const hidden = (id: NodeId) => hiddenOp(g.nodes[id]!.op);
  return g.nodes
    .filter((n) => !hidden(n.id))
    .map((n) => {
      const title = n.name ?? n.op;
      const op = n.op === "input" || n.op === "param" || title === n.op ? "" : ` = ${n.op}`;
      return { id: n.id, label: `${title}${op} [${g.shapes[n.id]!.join(", ")}]`, backward: false, gradient: false, args: n.args.filter((a) => !hidden(a)), line: g.file.lineCol(n.span.start).line };
    });
}

const xmlEsc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const CHAR_W = 6.6;
const BOX_H = 26;
const TITLE_H = 34;
const MARGIN = 20;
const f1 = (v: number) => v.toFixed(1);
type Elk = InstanceType<typeof ElkApi.default>;
let engine: Promise<Elk> | undefined;

/**
 * ELK, loaded on first use: loading it takes a third of a second, which
 * commands that draw nothing should not pay. In a browser Worker, making the
 * engine takes over self.onmessage (elkjs's own worker code runs), so the
 * playground's Worker installs its handler again once this resolves.
 */
export function layoutEngine(): Promise<Elk> {
  // The bundle is a CommonJS module whose exports object is the constructor; its typings say `default`.
  engine ??= import("elkjs/lib/elk.bundled.js").then((m) => new (m.default as unknown as typeof ElkApi.default)());
  return engine;
}

/** ELK's layered layout: nodes in rows top to bottom, edge crossings minimised, edges routed orthogonally around the boxes. */
async function layout(nodes: readonly DrawNode[]): Promise<ElkNode> {
  const ids = new Set(nodes.map((n) => n.id));
  const graph: ElkNode = {
    id: "root",
    layoutOptions: {
      "elk.algorithm": "layered",
      "elk.direction": "DOWN",
      "elk.edgeRouting": "ORTHOGONAL",
      "elk.layered.spacing.nodeNodeBetweenLayers": "36",
      "elk.spacing.nodeNode": "18",
      "elk.randomSeed": "1",
    },
    children: nodes.map((n) => ({ id: `n${n.id}`, width: Math.max(40, n.label.length * CHAR_W + 16), height: BOX_H })),
    edges: nodes.flatMap((n) => n.args.filter((a) => ids.has(a)).map((a, i) => ({ id: `e${a}_${n.id}_${i}`, sources: [`n${a}`], targets: [`n${n.id}`] }))),
  };
  return (await layoutEngine()).layout(graph);
}

/**
 * The graph as a standalone SVG. Every node carries data-node (its id) and
 * data-line (its source line), so a page can link it to the editor.
 */
export async function drawSvg(nodes: readonly DrawNode[], title: string): Promise<string> {
  const laid = await layout(nodes);
  const byId = new Map(nodes.map((n) => [`n${n.id}`, n]));
  const width = Math.ceil((laid.width ?? 0) + 2 * MARGIN);
  const height = Math.ceil((laid.height ?? 0) + TITLE_H + MARGIN);
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<text x="${MARGIN}" y="22" font-size="13" font-weight="bold">${xmlEsc(title)}</text>`,
    `<g transform="translate(${MARGIN},${TITLE_H})">`,
  ];
  for (const e of laid.edges ?? []) {
    const backward = byId.get(e.targets[0]!)?.backward ?? false;
    for (const s of e.sections ?? []) {
      const pts = [s.startPoint, ...(s.bendPoints ?? []), s.endPoint].map((p) => `${f1(p.x)},${f1(p.y)}`);
      out.push(`<polyline points="${pts.join(" ")}" fill="none" stroke="${backward ? "#1d4ed8" : "#555555"}" stroke-width="1" opacity="0.75" marker-end="url(#arrow)"/>`);
    }
  }
  for (const c of laid.children ?? []) {
    const n = byId.get(c.id)!;
    const [x, y, w] = [c.x ?? 0, c.y ?? 0, c.width ?? 0];
    out.push(`<g class="node ${n.backward ? "backward" : "forward"}" data-node="${n.id}" data-line="${n.line}">`);
    out.push(`<rect x="${f1(x)}" y="${f1(y)}" width="${f1(w)}" height="${BOX_H}" rx="${n.backward ? 3 : 13}" fill="${n.backward ? "#dbeafe" : "#ffffff"}" stroke="${n.backward ? "#1d4ed8" : "#111111"}" stroke-width="${n.gradient ? 2.5 : 1}"/>`);
    out.push(`<text x="${f1(x + w / 2)}" y="${f1(y + 17)}" text-anchor="middle">${xmlEsc(n.label)}</text>`);
    out.push("</g>");
  }
  out.push("</g>");
  out.splice(1, 0, `<defs><marker id="arrow" viewBox="0 0 8 8" refX="8" refY="4" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L8,4 L0,8 z" fill="#555555"/></marker></defs>`);
  out.push("</svg>");
  return out.join("\n") + "\n";
}

/** `nnc grad --format svg`: the forward and backward graph in one picture. */
export function toSvg(g: GradGraph): Promise<string> {
  return drawSvg(gradDrawable(g), `${g.modelName}: forward (white) and backward (blue)`);
}
