// The types every emitted module declares alike, CPU or WebGPU: the model's
// dims, inputs, targets, params and outputs by the user's names, and the
// training options. What differs (sync or async methods, threads or a
// device) each backend's emit-api.ts adds.
import type { GradGraph } from "../ir/graph.ts";
import { num } from "./common.ts";
import type { Writer } from "./writer.ts";

/** A property name as a quoted key; `__proto__` computed, so that it is a real property and not the prototype. */
export const key = (name: string) => (name === "__proto__" ? `["__proto__"]` : `"${name}"`);
export const arrayType = (g: GradGraph, node: number) => (g.dtypes[node] === "i32" ? "Int32Array" : "Float32Array");

export function dataTypes(w: Writer, g: GradGraph): void {
  w.block("export interface Dims {", () => {
    for (const d of g.dims) w.line(`${key(d.name)}${d.default !== undefined ? "?" : ""}: number;${d.default !== undefined ? ` // default ${d.default}` : ""}`);
  });
  w.block("export interface Inputs {", () => {
    for (const d of g.inputs) w.line(`${key(d.name)}: ${arrayType(g, d.node)}; // [${g.shapes[d.node]!.join(", ")}]`);
  });
  w.block("export interface Batch extends Inputs {", () => {
    for (const d of g.targets) w.line(`${key(d.name)}: ${arrayType(g, d.node)}; // [${g.shapes[d.node]!.join(", ")}]`);
  });
  w.block("export interface Params {", () => {
    for (const d of g.params) w.line(`${key(d.name)}: Float32Array; // [${g.shapes[d.node]!.join(", ")}]`);
  });
  w.block("export interface Outputs {", () => {
    for (const d of g.outputs) w.line(`${key(d.name)}: ${arrayType(g, d.node)}; // [${g.shapes[d.node]!.join(", ")}]`);
  });
  w.line(`export type OptimizerName = "sgd" | "momentum" | "rmsprop" | "adam" | "adagrad";`);
  w.block("export interface TrainOptions {", () => {
    w.line("optimizer?: OptimizerName;");
    w.line("lr?: number;");
    w.line("momentum?: number; // sgd and momentum");
    w.line("rho?: number; // rmsprop");
    w.line("beta1?: number; // adam");
    w.line("beta2?: number; // adam");
    w.line("eps?: number; // rmsprop, adam, adagrad");
    w.line("weightDecay?: number; // an L2 term added to every gradient");
  });
}

/** `spec` (the model described as data) and the training defaults its `train` statement sets. */
export function specAndDefaults(w: Writer, g: GradGraph, dropout: boolean): void {
  const t = g.train;
  const opts = t ? Object.fromEntries(t.options) : {};
  w.block("export const spec = {", () => {
    w.line(`model: ${JSON.stringify(g.modelName)},`);
    w.line(`dims: [${g.dims.map((d) => `{ name: ${JSON.stringify(d.name)}${d.default !== undefined ? `, default: ${d.default}` : ""} }`).join(", ")}],`);
    const list = (ds: typeof g.inputs) => ds.map((d) => `{ name: ${JSON.stringify(d.name)}, shape: [${g.shapes[d.node]!.map((x) => JSON.stringify(x)).join(", ")}], dtype: ${JSON.stringify(g.dtypes[d.node])} }`).join(", ");
    w.line(`inputs: [${list(g.inputs)}],`);
    w.line(`targets: [${list(g.targets)}],`);
    w.line(`params: [${list(g.params)}],`);
    w.line(`outputs: [${list(g.outputs)}],`);
    w.line(`dropout: ${dropout},`);
    w.line(`train: { optimizer: ${JSON.stringify(t?.optimizer ?? "sgd")}, lr: ${num(opts["lr"] ?? 0.01)}, batch: ${opts["batch"] ?? "undefined"}, epochs: ${opts["epochs"] ?? "undefined"} },`);
  }, "} as const;");
  w.line();
  const defaults = {
    optimizer: JSON.stringify(t?.optimizer ?? "sgd"),
    lr: num(opts["lr"] ?? 0.01),
    momentum: num(opts["momentum"] ?? (t?.optimizer === "momentum" ? 0.9 : 0)),
    rho: num(opts["rho"] ?? 0.9),
    beta1: num(opts["beta1"] ?? 0.9),
    beta2: num(opts["beta2"] ?? 0.999),
    eps: num(opts["eps"] ?? (t?.optimizer === "adam" ? 1e-8 : 1e-7)),
    weightDecay: num(opts["weight_decay"] ?? 0),
  };
  w.line(`const TRAIN_DEFAULTS = { ${Object.entries(defaults).map(([k, v]) => `${k}: ${v}`).join(", ")} } as const;`);
  w.line();
}

/** `CreateOptions`: the dims and the seed, then what the backend adds. */
export function createOptions(w: Writer, more: () => void): void {
  w.block("export interface CreateOptions {", () => {
    w.line("dims: Dims;");
    w.line("/** Seeds the initializers and dropout; the same seed gives the same numbers. */");
    w.line("seed?: number;");
    more();
  });
}
