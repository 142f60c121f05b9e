// `nnc export FILE --format onnx|safetensors|npy`: the model (or its
// weights) in a form other tools read. Weights come from --checkpoint (an
// nnc checkpoint, a safetensors file or a folder of .npy files), else the
// initialisers at --seed.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Option, type Command } from "commander";
import { collectDims, parseSeed, readSource, report, UsageError, useColor } from "../cli-common.ts";
import { DataError } from "../data/errors.ts";
import { initParams } from "../interp/init.ts";
import type { GradGraph, ShapedGraph } from "../ir/graph.ts";
import { runFrontEnd, runGrad, type GradResult } from "../pipeline.ts";
import { resolveShape } from "../interp/tensor.ts";
import { exportForward, exportTraining, OPSET } from "./onnx-export.ts";
import { weightsFor, writeNpy, writeSafetensors } from "./weights.ts";

interface ExportFlags {
  format: "onnx" | "safetensors" | "npy";
  output?: string;
  checkpoint?: string;
  training?: boolean;
  dim: Record<string, number>;
  seed: number;
  color?: boolean;
}

/** Sizes for initialising params: --dim, then defaults; a dim with neither (batch) takes 1, which no param shape should use. */
function paramDims(g: ShapedGraph | GradGraph, given: Record<string, number>): Map<string, number> {
  for (const name of Object.keys(given)) {
    if (!g.dims.some((d) => d.name === name)) throw new UsageError(`--dim: \`${name}\` is not a dim of ${g.modelName} (its dims: ${g.dims.map((d) => d.name).join(", ") || "none"})`);
  }
  return new Map(g.dims.map((d) => [d.name, given[d.name] ?? d.default ?? 1]));
}

function params(g: ShapedGraph | GradGraph, flags: ExportFlags): Map<string, Float32Array> {
  const dims = paramDims(g, flags.dim);
  if (flags.checkpoint !== undefined) return new Map(Object.entries(weightsFor(g, flags.checkpoint, Object.fromEntries(dims))));
  return new Map([...initParams(g, dims, flags.seed)].map(([k, t]) => [k, Float32Array.from(t.data)]));
}

function exportFile(file: string, flags: ExportFlags): void {
  const color = useColor(flags.color);
  // The training step needs the backward graph; the forward graph and the weights do not (a model without a loss exports too).
  const result: GradResult = flags.training ? runGrad(file, readSource(file)) : runFrontEnd(file, readSource(file));
  const g: ShapedGraph | GradGraph | undefined = flags.training ? result.grad : result.shaped;
  if (result.diagnostics.hasErrors || g === undefined) {
    report([result], "text", color);
    process.exitCode = 1;
    return;
  }
  if (flags.training && flags.format !== "onnx") throw new UsageError("--training is for --format onnx: the weights are the same either way");
  const dims = paramDims(g, flags.dim); // checks --dim names whatever the format
  if (flags.format === "onnx" && !flags.training && g.outputs.length === 0) throw new UsageError(`${file} declares no \`output\`: the forward graph would compute nothing (--training exports the training step)`);
  const out = flags.output ?? (flags.format === "npy" ? `${g.modelName}-params` : `${g.modelName}${flags.training ? "-train" : ""}.${flags.format}`);
  if (flags.format === "onnx") {
    const bytes = flags.training && result.grad ? exportTraining(result.grad, result.diagnostics, { dims: flags.dim }) : exportForward(g, params(g, flags), result.diagnostics, { dims: flags.dim });
    // Warnings of the front end and errors of the export, in one report.
    if (report([result], "text", color) || bytes === undefined) {
      process.exitCode = 1;
      return;
    }
    writeFileSync(out, bytes);
    process.stdout.write(`wrote ${out} (ONNX opset ${OPSET}, ${flags.training ? "one training step" : "the forward graph"})\n`);
    return;
  }
  report([result], "text", color);
  const values = params(g, flags);
  const tensors = g.params.map((p) => ({ name: p.name, shape: resolveShape(g.shapes[p.node]!, dims), data: values.get(p.name)! }));
  if (flags.format === "safetensors") writeFileSync(out, writeSafetensors(tensors, { model: g.modelName, producer: "nnc" }));
  else {
    mkdirSync(out, { recursive: true });
    for (const t of tensors) writeFileSync(join(out, `${t.name}.npy`), writeNpy(t.shape, t.data));
  }
  process.stdout.write(`wrote ${out} (${tensors.length} params)\n`);
}

export function addExportCommand(program: Command): void {
  program
    .command("export")
    .description("the model as ONNX (the forward graph, or one training step with --training), or its params as safetensors or .npy files")
    .argument("<file>", ".nn file")
    .addOption(new Option("--format <format>", "what to write").choices(["onnx", "safetensors", "npy"]).default("onnx"))
    .option("-o, --output <path>", "where to write (default: <model>.onnx, <model>.safetensors, or the folder <model>-params for npy)")
    .option("--checkpoint <path>", "trained params: an nnc checkpoint, a safetensors file or a folder of .npy files (default: the initialisers)")
    .option("--training", "with --format onnx: one whole training step, (batch, params, optimizer state, step) → (loss, new params, new state)")
    .option("--dim <binding...>", "fix a dim's size, e.g. --dim hidden=50 (dims without a default stay symbolic in ONNX)", collectDims, {})
    .option("--seed <n>", "seed for the initialisers", (v) => parseSeed(v), 1)
    .option("--no-color", "plain diagnostics even on a terminal")
    .action((file: string, flags: ExportFlags) => {
      try {
        exportFile(file, flags);
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        process.stderr.write(`error[${e.code}]: ${e.message}\n`);
        process.exitCode = 1;
      }
    });
}
