// nnc graphs as ONNX models. The forward export is the graph of the
// `output`s with the params as initializers, dropout removed; the training
// export is one whole training step, (data, params, optimizer state, step,
// dropout masks) → (loss, new params, new state, new step), built from
// nnc's own backward graph and the optimizer update, as a plain inference
// graph any ONNX runtime runs. Opset 18 (IR version 8): the first opset
// where every reduction takes its axes as an input.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import type { GradGraph, Node, NodeId, ShapedGraph } from "../ir/graph.ts";
import type { OpName, Shape } from "../ops/types.ts";
import { VERSION } from "../version.ts";
import { OnnxBuilder } from "./onnx-builder.ts";
import { optimizerOf, update } from "./onnx-optim.ts";
import { encodeModel, type Elem } from "./onnx-proto.ts";
import { onnxRule, type RuleCtx } from "./onnx-rules.ts";

export const OPSET = 18;
const IR_VERSION = 8;

export interface OnnxExportOptions {
  /** Dims baked in as numbers; dims with a default take it; the others stay symbolic. */
  readonly dims?: Readonly<Record<string, number>>;
}

type Graph = ShapedGraph | GradGraph;
const elemOf = (g: Graph, node: NodeId): Elem => (g.dtypes[node] === "i32" ? "int32" : "float");

function fixedDims(g: Graph, opts: OnnxExportOptions): Map<string, number> {
  const out = new Map<string, number>();
  for (const d of g.dims) {
    const v = opts.dims?.[d.name] ?? d.default;
    if (v !== undefined) out.set(d.name, v);
  }
  return out;
}

/** The nodes the roots depend on, by id. */
function needed(g: Graph, roots: readonly NodeId[]): Set<NodeId> {
  const byId = new Map(g.nodes.map((n) => [n.id, n]));
  const seen = new Set<NodeId>();
  const stack = [...roots];
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (seen.has(id)) continue;
    seen.add(id);
    stack.push(...byId.get(id)!.args);
  }
  return seen;
}

/** `file.nn:12: h = relu(x W0 + b0)`: where an ONNX node came from. */
function docOf(g: Graph, n: Node, backward: boolean): string {
  const line = g.file.lineCol(n.span.start).line;
  return `${backward ? "gradient of " : ""}${g.file.path}:${line}: ${g.file.lineText(line).trim()}`;
}

/** Declares the data the roots read as graph inputs, in declaration order. */
function declareData(g: Graph, b: OnnxBuilder, use: Set<NodeId>): void {
  for (const d of [...g.inputs, ...g.targets]) if (use.has(d.node)) b.input(d.name, elemOf(g, d.node), g.shapes[d.node]!);
}

/** Lowers every used node in order; returns each node's ONNX value name, or undefined after reporting what has no ONNX form. */
function lower(g: Graph, b: OnnxBuilder, use: Set<NodeId>, training: boolean, diags: DiagnosticBag): Map<NodeId, string> | undefined {
  const names = new Map<NodeId, string>();
  const taken = new Set<string>();
  const masks = new Map<number, string>();
  const forwardCount = "forwardCount" in g ? g.forwardCount : g.nodes.length;
  let failed = false;
  g.nodes.forEach((n, index) => {
    if (!use.has(n.id)) return;
    if (n.op === "input" || n.op === "param") {
      names.set(n.id, n.attrs.name);
      return;
    }
    const out = n.name !== undefined && !taken.has(n.name) ? n.name : `${n.op}.${n.id}`;
    taken.add(out);
    b.doc = docOf(g, n, index >= forwardCount);
    const ctx: RuleCtx<OpName> = {
      b,
      attrs: n.attrs,
      args: n.args.map((a) => names.get(a)!),
      argShapes: n.args.map((a) => g.shapes[a]!),
      shape: g.shapes[n.id]!,
      out,
      training,
      mask: (stream: number, shape: Shape) => {
        const known = masks.get(stream);
        if (known !== undefined) return known;
        const name = `dropout/${stream}/mask`;
        b.input(name, "float", shape, `the scaled keep-mask (0 or 1/(1 − p)) of the dropout at ${b.doc}`);
        masks.set(stream, name);
        return name;
      },
    };
    // n.attrs matches n.op, a correlation TypeScript cannot follow through the union of rules.
    const r = onnxRule(n.op as Exclude<OpName, "input" | "param">)(ctx);
    if (typeof r === "string") names.set(n.id, r);
    else {
      failed = true;
      diags.error("NNC402", n.span, `cannot export to ONNX: ${r.unsupported}`);
    }
  });
  b.doc = undefined;
  return failed ? undefined : names;
}

/** Makes `value` available as the graph output `name` (an Identity when the names differ). */
function output(g: Graph, b: OnnxBuilder, value: string, name: string, node: NodeId): void {
  if (value !== name) b.op("Identity", [value], {}, name);
  b.output(name, elemOf(g, node), g.shapes[node]!);
}

function model(g: Graph, b: OnnxBuilder, doc: string): Uint8Array {
  return encodeModel({
    irVersion: IR_VERSION,
    opset: OPSET,
    producer: "nnc",
    producerVersion: VERSION,
    doc,
    graphName: g.modelName,
    nodes: b.nodes,
    initializers: b.initializers,
    inputs: b.inputs,
    outputs: b.outputs,
  });
}

/** The forward graph of the outputs, with the given param values as initializers (inference mode: no dropout). */
export function exportForward(g: Graph, params: ReadonlyMap<string, Float32Array>, diags: DiagnosticBag, opts: OnnxExportOptions = {}): Uint8Array | undefined {
  const b = new OnnxBuilder(fixedDims(g, opts));
  const use = needed(g, g.outputs.map((o) => o.node));
  declareData(g, b, use);
  for (const p of g.params) {
    if (!use.has(p.node)) continue;
    const dims = g.shapes[p.node]!.map((d) => b.dim(d));
    const data = params.get(p.name);
    if (data === undefined || !dims.every((d) => typeof d === "number")) throw new Error(`internal: param \`${p.name}\` has no value of a fixed shape`);
    b.initializer({ name: p.name, elem: "float", dims: dims as number[], data, doc: docOf(g, g.nodes.find((n) => n.id === p.node)!, false) });
  }
  const names = lower(g, b, use, false, diags);
  if (names === undefined) return undefined;
  for (const o of g.outputs) output(g, b, names.get(o.node)!, o.name, o.node);
  return model(g, b, `${g.modelName}: the outputs of ${g.file.path}, exported by nnc ${VERSION} (inference: dropout removed)`);
}

/**
 * One training step: inputs are the batch, every param, the optimizer state
 * (`state/NAME/1`, `state/NAME/2` as the method needs), `train/step` (steps
 * taken so far, a float scalar) and one `dropout/K/mask` per dropout; outputs
 * are `loss` (before the update), `new/NAME`, `new/state/NAME/k` and
 * `new/train/step`.
 */
export function exportTraining(g: GradGraph, diags: DiagnosticBag, opts: OnnxExportOptions = {}): Uint8Array | undefined {
  const b = new OnnxBuilder(fixedDims(g, opts));
  const grads = new Map(g.gradients.map((x) => [x.name, x.node]));
  // A running statistic (batchnorm's) has no gradient: its new value is its update, and its optimizer state passes through.
  const stats = new Map((g.runningStats ?? []).map((r) => [r.name, r.update]));
  const use = needed(g, [g.loss!.node, ...g.params.map((p) => stats.get(p.name) ?? grads.get(p.name)!)]);
  declareData(g, b, use);
  const { slots } = optimizerOf(g.train);
  const stateNames = (name: string) => Array.from({ length: slots }, (_, k) => `state/${name}/${k + 1}`);
  for (const p of g.params) {
    b.input(p.name, "float", g.shapes[p.node]!);
    for (const s of stateNames(p.name)) b.input(s, "float", g.shapes[p.node]!);
  }
  b.input("train/step", "float", []);
  const names = lower(g, b, use, true, diags);
  if (names === undefined) return undefined;
  output(g, b, names.get(g.loss!.node)!, "loss", g.loss!.node);
  for (const p of g.params) {
    const stat = stats.get(p.name);
    if (stat !== undefined) {
      output(g, b, names.get(stat)!, `new/${p.name}`, p.node);
      stateNames(p.name).forEach((s) => output(g, b, s, `new/${s}`, p.node));
      continue;
    }
    // Every param has a gradient node: a zero one where the loss does not reach it (NNC302).
    const grad = names.get(grads.get(p.name)!)!;
    const [param, ...state] = update(b, g.train, { param: p.name, grad, state: stateNames(p.name) }, "train/step");
    output(g, b, param!, `new/${p.name}`, p.node);
    stateNames(p.name).forEach((s, k) => output(g, b, state[k]!, `new/${s}`, p.node));
  }
  b.op("Add", [b.floats([1]), "train/step"], {}, "new/train/step");
  b.output("new/train/step", "float", []);
  return model(g, b, `${g.modelName}: one ${optimizerOf(g.train).method} training step of ${g.file.path}, exported by nnc ${VERSION}`);
}
