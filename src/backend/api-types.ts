// The types every emitted module declares alike, CPU or WebGPU: the model's
// dims, inputs, targets, params and outputs by the user's names, and the
// training options. What differs (sync or async methods, threads or a
// device) each backend's emit-api.ts adds.
import type { GradGraph } from "../ir/graph.ts";
import { num } from "./common.ts";
import type { Writer } from "./writer.ts";
import { LR_DEFAULT, OPTIMIZERS } from "./cpu/runtime/optim.ts";
import { fileOptimizerOptions, methodsReading, NN_OPTION_NAME, type OptionName } from "./train-options.ts";

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
  w.line(`export type OptimizerName = ${Object.keys(OPTIMIZERS).map((m) => JSON.stringify(m)).join(" | ")};`);
  w.block("export interface TrainOptions {", () => {
    w.line("optimizer?: OptimizerName;");
    for (const k of Object.keys(NN_OPTION_NAME) as OptionName[]) {
      const readers = methodsReading(k);
      w.line(`${k}?: number; // ${k === "weightDecay" ? "added to every gradient as L2 (decoupled for adamw)" : readers === "all" ? "every optimizer" : readers.join(", ")}`);
    }
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
    w.line(`train: { optimizer: ${JSON.stringify(t?.optimizer ?? "sgd")}, lr: ${num(opts["lr"] ?? LR_DEFAULT)}, batch: ${opts["batch"] ?? "undefined"}, epochs: ${opts["epochs"] ?? "undefined"} },`);
  }, "} as const;");
  w.line();
  // Only what the file states: every other option takes its optimizer's default from the runtime's table at each step.
  const defaults = Object.entries(fileOptimizerOptions(t)).map(([k, v]) => `${k}: ${typeof v === "string" ? JSON.stringify(v) : num(v)}`);
  w.line(`const TRAIN_DEFAULTS: OptimizerOptions = { ${defaults.join(", ")} };`);
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
