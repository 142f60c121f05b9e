// The `nnc` command line. Exit codes: 0 clean, 1 errors in the input, 2 usage.
import { emitCpuModule } from "./backend/cpu/emit-module.ts";
import { emitWebgpuModule } from "./backend/webgpu/emit-module.ts";
import { checkWebgpuLimits } from "./backend/webgpu/limits.ts";
import { planWebgpu } from "./backend/webgpu/plan.ts";
import { GEMM_WASM_PACK_FLOATS } from "./backend/cpu/runtime/gemm-wasm.ts";
import { lower, planStats, type Lowered } from "./lower/lower.ts";
import type { GradGraph } from "./ir/graph.ts";
import { Command, CommanderError, Option } from "commander";
import { checkDimNames, dimOption, formatBytes, formatOption, givenDim, parseSeed, readSource, report, UsageError, useColor } from "./cli-common.ts";
import { printGraph } from "./ir/print.ts";
import { runFrontEnd, runGrad, type FrontEndResult, type GradResult } from "./pipeline.ts";
import { printGrad, gradToJson } from "./ir/print-grad.ts";
import { toDot, toMermaid, toSvg } from "./ir/draw.ts";
import { formatStats, gradStats, STATS_DEFAULT_DIM } from "./passes/stats.ts";
import { formatGradCheck, gradcheck, TooLargeError } from "./check/gradcheck.ts";
import { VERSION } from "./version.ts";
import { addTrainCommands } from "./cli-train.ts";
import { addSummaryCommand } from "./cli-summary.ts";
import { CodedError, fsReason, isFsError, shownPath, writeOutputFile } from "./cli-files.ts";
import { addExportCommand } from "./export/cli.ts";
import { addSimilarCommand } from "./cli-similar.ts";
import { addSampleCommand } from "./cli-sample.ts";

export function makeProgram(): Command {
  const program = new Command("nnc")
    .description("Compile neural-network models written the way they are written on paper.")
    .version(VERSION, "-v, --version")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  // One function per command, so that a new command is one more line here.
  addCheckCommand(program);
  addGraphCommand(program);
  addGradCommand(program);
  addCompileCommand(program);
  addGradcheckCommand(program);
  addTrainCommands(program);
  addSummaryCommand(program);
  addExportCommand(program);
  addSimilarCommand(program);
  addSampleCommand(program);
  addPlaygroundCommand(program);
  return program;
}

/**
 * The backward graph of a file, with its diagnostics printed; undefined (and
 * exit code 1) when they include errors, which ends the command.
 */
function gradOrFail(file: string, color: boolean, wrt?: string[]): { result: GradResult; g: GradGraph } | undefined {
  const result = runGrad(shownPath(file), readSource(file), wrt ? { wrt } : {});
  if (report([result], "text", color) || !result.grad) {
    process.exitCode = 1;
    return undefined;
  }
  return { result, g: result.grad };
}

function addCheckCommand(program: Command): void {
  program
    .command("check")
    .description("parse FILEs, resolve names and infer every shape; report diagnostics")
    .argument("<files...>", ".nn files to check")
    .addOption(formatOption())
    .option("--no-color", "plain diagnostics even on a terminal")
    .action((files: string[], opts: { format: string; color?: boolean }) => {
      const results = files.map((f) => runFrontEnd(shownPath(f), readSource(f)));
      const failed = report(results, opts.format, useColor(opts.color));
      if (opts.format === "text" && !failed) {
        for (const r of results) process.stdout.write(`${r.file.path}: ok\n`);
      }
      process.exitCode = failed ? 1 : 0;
    });
}

function addGraphCommand(program: Command): void {
  program
    .command("graph")
    .description("print the shaped forward IR: every node with its shape and source line")
    .argument("<file>", ".nn file")
    .addOption(formatOption())
    .option("--no-color", "plain diagnostics even on a terminal")
    .action((file: string, opts: { format: string; color?: boolean }) => {
      const result = runFrontEnd(shownPath(file), readSource(file));
      const failed = report([result], opts.format === "json" && !result.shaped ? "json" : "text", useColor(opts.color));
      if (failed || !result.shaped) {
        process.exitCode = 1;
        return;
      }
      if (opts.format === "json") process.stdout.write(JSON.stringify(graphToJson(result), null, 2) + "\n");
      else process.stdout.write(printGraph(result.shaped));
      process.exitCode = 0;
    });
}

/** The backward graph in each --format; text may carry the --stats table. */
const GRAD_FORMATS: { readonly [K in string]?: (g: GradGraph) => string | Promise<string> } = { dot: toDot, mermaid: toMermaid, svg: toSvg };

function addGradCommand(program: Command): void {
  program
    .command("grad")
    .description("derive and print the backward graph: d loss / d every param (or --wrt values)")
    .argument("<file>", ".nn file")
    .option("--wrt <names...>", "differentiate with respect to these values instead of the params")
    .addOption(new Option("--format <format>", "output format").choices(["text", "json", "dot", "mermaid", "svg"]).default("text"))
    .option("--stats", "also report op counts and FLOPs of forward vs backward")
    .addOption(dimOption("a size for a symbolic dim in --stats, e.g. --dim batch=100 (repeatable)"))
    .option("--no-color", "plain diagnostics even on a terminal")
    .action(async (file: string, opts: { wrt?: string[]; format: string; stats?: boolean; dim: Record<string, number>; color?: boolean }) => {
      const g = gradOrFail(file, useColor(opts.color), opts.wrt)?.g;
      if (!g) return;
      checkDimNames(g.dims, opts.dim);
      const stats = opts.stats ? gradStats(g, opts.dim) : undefined;
      const drawn = GRAD_FORMATS[opts.format];
      if (drawn) process.stdout.write(await drawn(g));
      else if (opts.format === "json") process.stdout.write(JSON.stringify({ ...gradToJson(g), ...(stats ? { stats } : {}) }, null, 2) + "\n");
      else process.stdout.write(printGrad(g) + (stats ? "\n" + formatStats(stats) : ""));
      process.exitCode = 0;
    });
}

interface CompileFlags {
  target: string;
  out?: string;
  wgsl?: string;
  stats?: boolean;
  dim: Record<string, number>;
  color?: boolean;
}

function addCompileCommand(program: Command): void {
  program
    .command("compile")
    .description("emit a TypeScript module that trains and runs the model")
    .argument("<file>", ".nn file")
    .addOption(new Option("--target <target>", "where the module runs").choices(["cpu", "webgpu"]).default("cpu"))
    .option("-o, --out <file>", "write the module here (default: standard output)")
    .option("--wgsl <file>", "with --target webgpu: also write every WGSL kernel to this file, to read")
    .option("--stats", "report the memory plan: planned bytes against one buffer per value, and the kernels' scratch")
    .addOption(dimOption("a size for a symbolic dim in --stats, e.g. --dim batch=100 (repeatable)"))
    .option("--no-color", "plain diagnostics even on a terminal")
    .action(compile);
}

function compile(file: string, opts: CompileFlags): void {
  const compiled = gradOrFail(file, useColor(opts.color));
  if (!compiled) return;
  const { result, g } = compiled;
  checkDimNames(g.dims, opts.dim);
  if (opts.wgsl !== undefined && opts.target !== "webgpu") throw new UsageError("--wgsl needs --target webgpu");
  // Lowered once: both emitters, the limits check and the statistics read the same plan.
  const plan = lower(g);
  let code: string;
  if (opts.target === "webgpu") {
    const gpu = planWebgpu(g, plan);
    const checked = checkWebgpuLimits(g, undefined, plan, gpu);
    if (report([{ ...result, diagnostics: checked }], "text", useColor(opts.color))) {
      process.exitCode = 1;
      return;
    }
    const m = emitWebgpuModule(g, plan, gpu);
    code = m.code;
    if (opts.wgsl !== undefined) writeOutputFile(opts.wgsl, m.wgsl);
  } else code = emitCpuModule(g, plan);
  if (opts.out) writeOutputFile(opts.out, code);
  else process.stdout.write(code);
  if (opts.stats) process.stderr.write(memoryStats(g, plan, opts.dim));
  process.exitCode = 0;
}

/** compile --stats: the memory plan at the given dims (others at their default, or STATS_DEFAULT_DIM). */
function memoryStats(g: GradGraph, plan: Lowered, given: Record<string, number>): string {
  const dims: Record<string, number> = Object.create(null);
  for (const d of g.dims) dims[d.name] = givenDim(given, d.name) ?? d.default ?? STATS_DEFAULT_DIM;
  const s = planStats(g, plan, dims);
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(2)} MiB`;
  return `memory (${Object.entries(dims).map(([k, v]) => `${k} = ${v}`).join(", ") || "no dims"}): planned ${mb(s.plannedBytes)}, one buffer per value ${mb(s.naiveBytes)} (${((1 - s.plannedBytes / s.naiveBytes) * 100).toFixed(0)}% saved), and ${mb(4 * GEMM_WASM_PACK_FLOATS)} of packing space per thread for the matrix products\n`;
}

function addGradcheckCommand(program: Command): void {
  program
    .command("gradcheck")
    .description("check every derived gradient against central finite differences in float64")
    .argument("<file>", ".nn file")
    .addOption(dimOption("a size for a symbolic dim, e.g. --dim batch=4 (repeatable; dims without a default otherwise get 3)"))
    .option("--seed <n>", "seed for the random inputs and params", (v) => parseSeed(v), 1)
    .option("--wrt <names...>", "check these values instead of the params")
    .option("--no-color", "plain diagnostics even on a terminal")
    .action((file: string, opts: { dim: Record<string, number>; seed: number; wrt?: string[]; color?: boolean }) => {
      const g = gradOrFail(file, useColor(opts.color), opts.wrt)?.g;
      if (!g) return;
      checkDimNames(g.dims, opts.dim);
      let check;
      try {
        check = gradcheck(g, { dims: opts.dim, seed: opts.seed });
      } catch (e) {
        if (!(e instanceof TooLargeError)) throw new UsageError((e as Error).message);
        const sizes = Object.entries(e.dims).map(([k, v]) => `${k} = ${v}`).join(", ");
        process.stderr.write(`error[NNC520]: gradcheck needs ${formatBytes(e.bytes)} for the model's values in float64 at ${sizes}; give smaller sizes with --dim\n`);
        process.exitCode = 1;
        return;
      }
      process.stdout.write(formatGradCheck(check));
      process.exitCode = check.ok ? 0 : 1;
    });
}

function addPlaygroundCommand(program: Command): void {
  program
    .command("playground")
    .description("build the playground page and serve it on 127.0.0.1: edit a model, see its graphs, train it in the browser")
    .option("--port <n>", "port to listen on (0: any free port)", (v) => parsePort(v), 8080)
    .action(async (opts: { port: number }) => {
      const { buildPlayground } = await import("../scripts/build-playground.ts");
      const { servePlayground } = await import("./playground/serve.ts");
      const { url } = await servePlayground(await buildPlayground(), opts.port).catch((e: Error) => {
        throw new UsageError(`cannot listen on port ${opts.port}: ${e.message}`);
      });
      process.stdout.write(`nnc playground: ${url}  (Ctrl-C stops it)\n`);
    });
}

function parsePort(v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`--port: expected a port number from 0 to 65535, got "${v}"`);
  return n;
}

function graphToJson(result: FrontEndResult) {
  const g = result.shaped!;
  return {
    model: g.modelName,
    dims: g.dims.map((d) => ({ name: d.name, ...(d.default !== undefined ? { default: d.default } : {}) })),
    nodes: g.nodes.map((n) => ({
      id: n.id,
      op: n.op,
      ...(n.name !== undefined ? { name: n.name } : {}),
      args: n.args,
      attrs: n.attrs,
      shape: g.shapes[n.id],
      dtype: g.dtypes[n.id],
      line: g.file.lineCol(n.span.start).line,
    })),
    inputs: g.inputs.map((d) => d.name),
    targets: g.targets.map((d) => d.name),
    params: g.params.map((d) => d.name),
    outputs: g.outputs.map((d) => d.name),
    ...(g.loss ? { loss: g.loss.node } : {}),
    ...(g.train ? { train: { optimizer: g.train.optimizer, ...Object.fromEntries(g.train.options) } } : {}),
  };
}

export async function main(argv: string[]): Promise<number> {
  const program = makeProgram();
  try {
    await program.parseAsync(argv, { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version exit cleanly; anything else commander rejects is a usage error.
      return e.exitCode === 0 || e.code === "commander.helpDisplayed" || e.code === "commander.version" ? 0 : 2;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`nnc: ${e.message}\n`);
      return 2;
    }
    return reportError(e);
  }
}

/** Coded errors as diagnostics; a file-system error no command caught is still one (NNC509), never a stack trace. */
function reportError(e: unknown): number {
  if (e instanceof CodedError) {
    process.stderr.write(e.render());
    return e.exit;
  }
  if (isFsError(e)) {
    process.stderr.write(`error[NNC509]: ${e.path !== undefined ? `${shownPath(e.path)}: ` : ""}${fsReason(e)}\n`);
    return 2;
  }
  throw e;
}

const isMain = process.argv[1] !== undefined && /cli\.ts$/.test(process.argv[1]);
if (isMain) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
