// What both emitters write alike: number literals, sizes and dims, and the
// source line a step computes. Neither backend imports the other; what they
// share is here or in src/lower.
import type { GradGraph, NodeId } from "../ir/graph.ts";
import type { Persistent, Program } from "../lower/lower.ts";
import { shapeSize, type Size } from "../lower/size.ts";
import { formatNumber } from "../ir/print.ts";
import { initParamCall as runtimeInitCall } from "./param-init.ts";
import type { Init } from "../ops/types.ts";
import { commentText } from "./comment.ts";

/** A number as an exact, readable TypeScript literal. */
export function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "-Infinity";
  const s = Object.is(v, -0) ? "-0" : String(v);
  return v < 0 || Object.is(v, -0) ? `(${s})` : s;
}

/** One axis as an expression: a number, or the dim's constant (`dim_batch`, a const in TypeScript and a u32 override in WGSL). */
export const dimExpr = (d: string | number): string => (typeof d === "number" ? String(d) : `dim_${d}`);

/** A size as an expression, valid TypeScript and valid WGSL: the dims, then the number unless it is 1. */
export function sizeText(s: Size): string {
  if (s.dims.length === 0) return String(s.factor);
  return [...s.dims.map(dimExpr), ...(s.factor !== 1 ? [String(s.factor)] : [])].join(" * ");
}

/** A shape's element count as an expression. */
export const shapeSizeText = (shape: readonly (string | number)[]): string => sizeText(shapeSize(shape));

/** The largest of several sizes, in TypeScript. */
export const maxSizeText = (sizes: readonly Size[]): string => (sizes.length === 1 ? sizeText(sizes[0]!) : `Math.max(${sizes.map(sizeText).join(", ")})`);

/** `file:line` of the source line a node computes, safe in a comment. */
export function sourceLocation(g: GradGraph, id: NodeId): string {
  const { line } = g.file.lineCol(g.nodes[id]!.span.start);
  return commentText(`${g.file.path.split(/[\\/]/).pop()}:${line}`);
}

/** The comment above the steps of a source line: where it is, and the line itself. */
export function sourceComment(g: GradGraph, id: NodeId): string {
  const { line } = g.file.lineCol(g.nodes[id]!.span.start);
  const text = g.file.lineText(line).replace(/#.*$/, "").trim();
  return commentText(`${sourceLocation(g, id)}  ${id >= g.forwardCount ? "backward of " : ""}${text}`);
}

/** A value for a comment: its name (or what computes it) and its shape. */
export function describeValue(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  const name = n.name ?? (id >= g.forwardCount ? `backward ${n.op}` : n.op);
  return commentText(`${name} [${g.shapes[id]!.join(", ")}]`);
}

/** What a persistent place holds, for a comment or a buffer label. */
export function persistentLabel(g: GradGraph, p: Persistent): string {
  const shape = `[${g.shapes[p.node]!.join(", ")}]`;
  const n = g.nodes[p.node]!;
  switch (p.place.kind) {
    case "data":
      return commentText(`${p.target ? "target" : "input"} ${p.name} ${shape}`);
    case "param":
      return commentText(`param ${p.name} ${shape}`);
    case "grad":
      return commentText(`gradient of ${p.name}`);
    case "state1":
    case "state2":
      return commentText(`optimizer state ${p.place.kind === "state1" ? 1 : 2} of ${p.name}`);
    case "const":
      return `constant ${n.op === "const" ? formatNumber(n.attrs.value) : n.op === "dimval" ? commentText(n.attrs.dim) : n.op}`;
  }
}

/** A constant's value as an expression (a dim's value is its constant). */
export function constantValue(g: GradGraph, id: NodeId): string {
  const n = g.nodes[id]!;
  if (n.op === "const") return num(n.attrs.value);
  if (n.op === "dimval") return dimExpr(n.attrs.dim);
  throw new Error(`internal: node ${id} (${n.op}) is not a constant`);
}

/** The runtime call that draws param k into `array` at `offset` (the same numbers on every backend for the same seed). */
export function initParamCall(g: GradGraph, k: number, array: string, offset: string): string {
  const p = g.params[k]!;
  const init = (g.nodes[p.node]!.attrs as { init: Init }).init;
  return `${runtimeInitCall(init, k, g.shapes[p.node]!.map(dimExpr), array, offset, num)} // ${commentText(p.name)} = ${init.kind}`;
}

/** The names of the programs' functions in an emitted module, alike on both targets. */
export const PROGRAM_FUNCTIONS: { readonly [K in Program["kind"]]: string } = { forward: "runForward", forwardTraining: "runForwardTraining", loss: "runEval", train: "runTrain" };
