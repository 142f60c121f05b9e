// `nnc train`, `nnc eval` and `nnc predict`: the main job. Compiles the model
// for the CPU, loads data (the bundled MNIST by default), trains with a
// progress bar and writes a checkpoint, metrics and a plot into --out.
import { existsSync, readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { createHash } from "node:crypto";
import { Option, type Command } from "commander";
import cliProgress from "cli-progress";
import { collectDims, parseSeed, readSource, report, UsageError, useColor } from "./cli-common.ts";
import { initialParams } from "./export/init-from.ts";
import { DataError, loadDataset, type Dataset, type LoadOptions } from "./data/index.ts";
import type { GradGraph } from "./ir/graph.ts";
import { runGrad } from "./pipeline.ts";
import { checkWebgpuLimits } from "./backend/webgpu/limits.ts";
import { nodeDevice } from "./backend/webgpu/node-device.ts";
import { compileAndLoad, dataSpecs, type CompiledModule, type Target } from "./train/compile.ts";
import { metricsCsv, OUT_FILES, readState, writeAtomic, type EpochMetrics, type TrainState } from "./train/files.ts";
import { evaluate, NonFiniteError, trainLoop, type LoopOptions, type ModelFactory } from "./train/loop.ts";
import { plotMetrics } from "./train/plot.ts";

interface DataFlags {
  data: string;
  labels?: string;
  testData?: string;
  testLabels?: string;
  labelColumn?: string;
  limit?: number;
  normalize?: boolean | number;
  dim: Record<string, number>;
  seed: number;
  color?: boolean;
}

function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`${name} expects a positive whole number, got \`${v}\``);
    return Number(v);
  };
}

function positiveNumber(name: string) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} expects a non-negative number, got \`${v}\``);
    return n;
  };
}

function addDataOptions(cmd: Command): Command {
  return cmd
    .option("--data <name|path>", "`mnist` (bundled), a directory of IDX files, a .csv or a .npy", "mnist")
    .option("--labels <file.npy>", "with --data FILE.npy: the labels, one per row")
    .option("--test-data <file>", "with --data FILE.csv or .npy: a test set of the same kind")
    .option("--test-labels <file.npy>", "with --test-data FILE.npy: its labels")
    .option("--label-column <name|index>", "with --data FILE.csv: the label column (default: `label`, else the first); `none` for none")
    .option("--limit <n>", "use only the first N training rows", positiveInt("--limit"))
    .option("--normalize [divisor]", "divide inputs by 255 (or by the divisor); default on for mnist")
    .option("--no-normalize", "feed the inputs as they are")
    .option("--dim <binding...>", "sizes for other dims, e.g. --dim hidden=50", collectDims, {})
    .option("--seed <n>", "seed for initializers and dropout", (v) => parseSeed(v), 1)
    .option("--no-color", "plain output");
}

/** Compiles a file, checked against WebGPU's limits for that target; diagnostics are printed and end the command. */
function compileGraph(file: string, color: boolean, target: Target = "cpu"): GradGraph {
  const result = runGrad(file, readSource(file));
  if (report([result], "text", color) || !result.grad) throw new ExitError(1);
  if (target === "webgpu" && report([{ ...result, diagnostics: checkWebgpuLimits(result.grad) }], "text", color)) throw new ExitError(1);
  return result.grad;
}

class ExitError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function loadData(g: GradGraph, flags: DataFlags, batchDims: Record<string, number>): { train: Dataset; test?: Dataset } {
  const normalize = flags.normalize === undefined ? flags.data === "mnist" : flags.normalize === true ? true : flags.normalize === false ? false : Number(flags.normalize);
  if (typeof normalize === "number" && !(normalize > 0)) throw new UsageError(`--normalize expects a positive divisor, got \`${String(flags.normalize)}\``);
  const column = flags.labelColumn;
  const options: LoadOptions = {
    normalize,
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.labels !== undefined ? { labels: flags.labels } : {}),
    ...(flags.testData !== undefined ? { test: flags.testData } : {}),
    ...(flags.testLabels !== undefined ? { testLabels: flags.testLabels } : {}),
    ...(column !== undefined ? { labelColumn: column === "none" ? false : /^\d+$/.test(column) ? Number(column) : column } : {}),
  };
  const dims = Object.fromEntries(Object.entries(batchDims).filter(([k]) => k !== "batch"));
  return loadDataset(flags.data, dataSpecs(g), dims, options);
}

/** The model's dims: defaults, then --dim, then the batch size. */
function modelDims(g: GradGraph, given: Record<string, number>, batch: number | undefined): Record<string, number> {
  const dims: Record<string, number> = {};
  for (const d of g.dims) {
    const v = given[d.name] ?? (d.name === "batch" ? batch : undefined) ?? d.default;
    if (v !== undefined) dims[d.name] = v;
  }
  return dims;
}

function factory(mod: CompiledModule, dims: Record<string, number>, seed: number, batchDim: string, device?: GPUDevice, threads = 1): ModelFactory {
  return (n) => mod.createModel({ dims: { ...dims, [batchDim]: n }, seed, ...(device ? { device } : {}), ...(threads > 1 ? { threads } : {}) });
}

/** The device nnc trains on with --target webgpu; no adapter is an error that says how to get one. */
async function webgpuDevice(): Promise<{ device: GPUDevice; adapterInfo: string }> {
  const found = await nodeDevice((m) => process.stderr.write(`WebGPU error: ${m}\n`));
  if (typeof found === "string") throw new DataError("NNC508", `--target webgpu: ${found}`);
  return found;
}

function batchDimOf(g: GradGraph): string {
  const first = g.inputs[0] ? g.shapes[g.inputs[0].node]![0] : undefined;
  if (typeof first !== "string") throw new UsageError("the model's first input needs a symbolic batch dimension (e.g. `input x: [batch, 784]`) to be trained on data");
  return first;
}

function loopOptions(g: GradGraph, epochs: number, batch: number, startEpoch: number, evalEvery: number, trainOptions: Record<string, unknown>): LoopOptions {
  const target = g.targets[0];
  const output = g.outputs.find((o) => target && g.shapes[o.node]!.join() === g.shapes[target.node]!.join()) ?? g.outputs[0];
  if (!output) throw new UsageError("the model declares no `output` to measure accuracy with");
  return { epochs, batch, startEpoch, evalEvery, trainOptions, inputs: g.inputs.map((d) => d.name), targets: g.targets.map((d) => d.name), output: output.name };
}

const pct = (v: number | undefined) => (v === undefined ? "   -  " : `${(100 * v).toFixed(2)}%`);

function formatEpoch(m: EpochMetrics, epochs: number, etaSeconds: number): string {
  const width = String(epochs).length;
  return `epoch ${String(m.epoch).padStart(width)}/${epochs}  loss ${m.loss.toPrecision(5)}  train ${pct(m.trainAccuracy)}  test ${pct(m.testAccuracy)}  ${Math.round(m.samplesPerSecond)} samples/s  ${formatDuration(etaSeconds)} left`;
}

function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

interface TrainFlags extends DataFlags {
  epochs?: number;
  batch?: number;
  lr?: number;
  target: Target;
  threads: number;
  out?: string;
  resume?: boolean;
  initFrom?: string;
  evalEvery: number;
}

async function train(file: string, flags: TrainFlags): Promise<void> {
  const color = useColor(flags.color);
  const g = compileGraph(file, color, flags.target);
  const out = flags.out ?? join("runs", g.modelName);
  const source = readFileSync(file, "utf8");
  const sourceHash = createHash("sha256").update(source).digest("hex").slice(0, 16);
  const spec = g.train ? Object.fromEntries(g.train.options) : {};
  const batch = flags.batch ?? spec["batch"] ?? 32;
  const epochs = flags.epochs ?? spec["epochs"] ?? 10;
  const dims = modelDims(g, flags.dim, undefined);
  const batchDim = batchDimOf(g);
  let gpu: { device: GPUDevice; adapterInfo: string } | undefined;
  if (flags.target === "webgpu" && flags.threads > 1) throw new UsageError("--threads is for --target cpu: WebGPU runs the model on the GPU");
  if (flags.target === "webgpu") gpu = await webgpuDevice();
  const mod = await compileAndLoad(g, out, flags.target);
  const data = loadData(g, flags, dims);
  const make = factory(mod, dims, flags.seed, batchDim, gpu?.device, flags.threads);
  const model = await make(batch);
  if (flags.initFrom !== undefined) await model.setParams(initialParams(g, flags.initFrom, flags.resume, dims));
  // The CPU module uses fewer threads where the platform allows fewer, and says why.
  const threadsUsed = model.threads ?? 1;
  if (threadsUsed < flags.threads) process.stderr.write(`note: training on ${threadsUsed} thread${threadsUsed === 1 ? "" : "s"}, not ${flags.threads}: ${model.threadsNote ?? "the platform allows fewer"}\n`);
  const trainOptions: Record<string, unknown> = flags.lr !== undefined ? { lr: flags.lr } : {};

  let startEpoch = 0;
  let history: EpochMetrics[] = [];
  if (flags.resume) {
    const state = readState(out);
    const ckpt = join(out, OUT_FILES.checkpoint);
    if (!state || !existsSync(ckpt)) throw new UsageError(`--resume: ${out} holds no checkpoint to continue from; train without --resume first`);
    try {
      await model.loadCheckpoint(new Uint8Array(readFileSync(ckpt)));
    } catch (e) {
      throw new DataError("NNC507", `--resume: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}; the model's shapes changed since it was saved — train without --resume, or into another --out`, ckpt);
    }
    startEpoch = state.epoch;
    history = state.metrics;
    if (startEpoch >= epochs) process.stdout.write(`${out}: already trained for ${startEpoch} epochs; ask for more with --epochs\n`);
  }

  const rows = data.train.rows;
  process.stdout.write(
    `training ${g.modelName} (${basename(file)}) on ${flags.data}: ${rows} training rows${data.test ? `, ${data.test.rows} test rows` : ""}, batch ${batch}, ${epochs} epochs, ${g.train?.optimizer ?? "sgd"} lr ${flags.lr ?? mod.spec.train.lr}${gpu ? `, on WebGPU (${gpu.adapterInfo})` : threadsUsed > 1 ? `, ${threadsUsed} threads` : ""}\n`,
  );
  const tty = Boolean(process.stdout.isTTY);
  const bar = tty ? new cliProgress.SingleBar({ format: "epoch {epoch} [{bar}] {percentage}% | loss {loss} | {speed} samples/s | {eta_formatted}", hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : undefined;
  const started = performance.now();
  let epochStart = performance.now();
  const o = loopOptions(g, epochs, batch, startEpoch, flags.evalEvery, trainOptions);
  const save = async (m: EpochMetrics) => {
    const state: TrainState = { model: g.modelName, source: sourceHash, epoch: m.epoch, metrics: history, options: { batch, epochs, lr: flags.lr, seed: flags.seed, data: flags.data, limit: flags.limit } };
    writeAtomic(join(out, OUT_FILES.checkpoint), await model.saveCheckpoint());
    writeAtomic(join(out, OUT_FILES.state), JSON.stringify(state, null, 2) + "\n");
    writeAtomic(join(out, OUT_FILES.csv), metricsCsv(history));
    writeAtomic(join(out, OUT_FILES.json), JSON.stringify({ model: g.modelName, metrics: history }, null, 2) + "\n");
    writeAtomic(join(out, OUT_FILES.plot), plotMetrics(`${g.modelName}: loss and accuracy per epoch`, history));
  };
  try {
    await trainLoop(
      make,
      data.train,
      data.test,
      o,
      {
        onStep: (epoch, done, total, loss) => {
          if (!bar) return;
          if (done === 1) {
            epochStart = performance.now();
            bar.start(total, 0, { epoch, loss: "-", speed: "-" });
          }
          const speed = Math.round(((done * batch) / Math.max(1e-9, performance.now() - epochStart)) * 1000);
          bar.update(done, { epoch, loss: loss.toPrecision(4), speed });
          if (done === total) bar.stop();
        },
        onEpoch: async (m) => {
          history.push(m);
          const perEpoch = (performance.now() - started) / 1000 / (m.epoch - startEpoch);
          // A line per evaluated epoch (and the last); the progress bar shows the others.
          if (m.trainAccuracy !== undefined || m.epoch === epochs) process.stdout.write(formatEpoch(m, epochs, perEpoch * (epochs - m.epoch)) + "\n");
          await save(m);
        },
      },
      model,
    );
  } catch (e) {
    bar?.stop();
    if (e instanceof NonFiniteError) {
      process.stderr.write(`error[NNC506]: ${e.message}\n  = note: the last good checkpoint (epoch ${history.at(-1)?.epoch ?? "none"}) is kept in ${out}\n  = help: lower the learning rate (--lr) or check the data's scale (--normalize)\n`);
      throw new ExitError(1);
    }
    throw e;
  }
  const last = history.at(-1);
  const best = history.reduce<EpochMetrics | undefined>((b, m) => (m.testAccuracy !== undefined && (b?.testAccuracy === undefined || m.testAccuracy > b.testAccuracy!) ? m : b), undefined);
  process.stdout.write(
    `done in ${formatDuration((performance.now() - started) / 1000)}: test accuracy ${pct(last?.testAccuracy)}${best ? ` (peak ${pct(best.testAccuracy)} at epoch ${best.epoch})` : ""}\nwrote ${join(out, OUT_FILES.checkpoint)}, ${OUT_FILES.csv}, ${OUT_FILES.json}, ${OUT_FILES.plot} and ${OUT_FILES.module}\n`,
  );
}

interface TrainedFlags extends DataFlags {
  checkpoint: string;
}

interface EvalFlags extends TrainedFlags {
  batch: number;
}

async function loadTrained(file: string, flags: TrainedFlags) {
  const g = compileGraph(file, useColor(flags.color));
  const dims = modelDims(g, flags.dim, undefined);
  const mod = await compileAndLoad(g, join(".cache", "nnc", g.modelName));
  if (!existsSync(flags.checkpoint)) throw new DataError("NNC501", `${flags.checkpoint}: no such checkpoint`, flags.checkpoint);
  const bytes = new Uint8Array(readFileSync(flags.checkpoint));
  const make = factory(mod, dims, flags.seed, batchDimOf(g));
  const probe = await make(1);
  try {
    await probe.loadCheckpoint(bytes);
  } catch (e) {
    throw new DataError("NNC507", `${(e as Error).message.replace(/^loadCheckpoint: /, "")}`, flags.checkpoint);
  }
  return { g, dims, make, params: await probe.getParams() };
}

async function evalCommand(file: string, flags: EvalFlags): Promise<void> {
  const { g, dims, make, params } = await loadTrained(file, flags);
  const data = loadData(g, flags, dims);
  const set = data.test ?? data.train;
  const o = loopOptions(g, 0, flags.batch, 0, 1, {});
  const r = await evaluate(make, params, set, o, flags.batch);
  process.stdout.write(`${g.modelName} on ${flags.data} (${data.test ? "test" : "training"} set, ${set.rows} rows): loss ${r.loss.toPrecision(5)}, accuracy ${pct(r.accuracy)}\n`);
}

async function predictCommand(file: string, flags: TrainedFlags & { count: number }): Promise<void> {
  const { g, dims, make, params } = await loadTrained(file, flags);
  const data = loadData(g, flags, dims);
  const set = data.test ?? data.train;
  const n = Math.min(flags.count, set.rows);
  const model = await make(1);
  await model.setParams(params);
  const o = loopOptions(g, 0, 1, 0, 1, {});
  process.stdout.write(`row  predicted  expected  confidence\n`);
  for (let r = 0; r < n; r++) {
    const inputs: Record<string, Float32Array | Int32Array> = {};
    for (const name of o.inputs) {
      const col = set.columns.get(name)!;
      const size = col.length / set.rows;
      inputs[name] = col.subarray(r * size, (r + 1) * size);
    }
    const out = (await model.forward(inputs))[o.output]!;
    const target = set.columns.get(o.targets[0]!);
    const width = out.length;
    let best = 0;
    for (let j = 1; j < width; j++) if (out[j]! > out[best]!) best = j;
    let expected = "-";
    if (target) {
      const t = target.subarray(r * width, (r + 1) * width);
      let e = 0;
      for (let j = 1; j < width; j++) if (t[j]! > t[e]!) e = j;
      expected = String(e);
    }
    process.stdout.write(`${String(r).padStart(3)}  ${String(best).padStart(9)}  ${expected.padStart(8)}  ${out[best]!.toFixed(4).padStart(10)}\n`);
  }
}

/** Runs an async command body, mapping data errors and exits to exit codes. */
function action<A extends unknown[]>(body: (...args: A) => Promise<void>) {
  return async (...args: A): Promise<void> => {
    try {
      await body(...args);
      process.exitCode = 0;
    } catch (e) {
      if (e instanceof ExitError) process.exitCode = e.code;
      else if (e instanceof DataError) {
        process.stderr.write(`error[${e.code}]: ${e.message}\n`);
        process.exitCode = 1;
      } else throw e;
    }
  };
}

export function addTrainCommands(program: Command): void {
  addDataOptions(
    program
      .command("train")
      .description("compile FILE for the CPU and train it on data, with progress, checkpoints, metrics and a plot")
      .argument("<file>", ".nn file")
      .option("--epochs <n>", "passes over the training data (default: the train statement's, else 10)", positiveInt("--epochs"))
      .option("--batch <n>", "rows per step (default: the train statement's, else 32)", positiveInt("--batch"))
      .option("--lr <x>", "learning rate (default: the train statement's)", positiveNumber("--lr"))
      .addOption(new Option("--target <target>", "where to train: the CPU, or the GPU through WebGPU").choices(["cpu", "webgpu"]).default("cpu"))
      .option("--threads <n>", "with --target cpu: threads for the large matrix products (the same numbers as one)", positiveInt("--threads"), 1)
      .option("--out <dir>", "where to write the checkpoint, metrics and plot (default: runs/<model>)")
      .option("--resume", "continue from the checkpoint in --out")
      .option("--init-from <path>", "start from these params: a safetensors file, a folder of NAME.npy files or an nnc checkpoint (matched by name, checked by shape)")
      .option("--eval-every <n>", "evaluate train and test accuracy every N epochs (and after the last)", positiveInt("--eval-every"), 1),
  ).action(action(train));
  addDataOptions(
    program
      .command("eval")
      .description("loss and accuracy of a trained model on the test set (or the training set when there is none)")
      .argument("<file>", ".nn file")
      .requiredOption("--checkpoint <path>", "a checkpoint written by nnc train")
      .option("--batch <n>", "rows per evaluation step", positiveInt("--batch"), 1000),
  ).action(action(evalCommand));
  addDataOptions(
    program
      .command("predict")
      .description("predicted classes for the first rows of the test set, with a trained model")
      .argument("<file>", ".nn file")
      .requiredOption("--checkpoint <path>", "a checkpoint written by nnc train")
      .option("--count <n>", "how many rows", positiveInt("--count"), 10),
  ).action(action(predictCommand));
}
