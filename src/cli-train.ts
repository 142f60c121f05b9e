// `nnc train`, `nnc eval` and `nnc predict`: the main job. Compiles the model
// for the CPU, loads data (the bundled MNIST by default), trains with a
// progress bar and writes a checkpoint, metrics and a plot into --out.
import { basename, dirname, join } from "node:path";
import { Option, type Command } from "commander";
import { capThreads, checkDimNames, checkModelFits, dimOption, givenDim, parseSeed, readSource, report, UsageError, useColor } from "./cli-common.ts";
import { DataError, defaultDataSource, loadDataset, normalizesByDefault, vocabularyJson, VOCABULARY_FILE, type LoadedData, type LoadOptions } from "./data/index.ts";
import { initialParams } from "./export/init-from.ts";
import type { GradGraph } from "./ir/graph.ts";
import { runGrad } from "./pipeline.ts";
import { checkWebgpuLimits, WEBGPU_LIMITS } from "./backend/webgpu/limits.ts";
import { lower, type Lowered } from "./lower/lower.ts";
import { nodeDevice } from "./backend/webgpu/node-device.ts";
import { CodedError, readBinaryFile, shownPath } from "./cli-files.ts";
import { compileAndLoad, dataSpecs, type CompiledModule, type Target } from "./train/compile.ts";
import { bestScore, OUT_FILES, patienceRunOut, runDifferences, scoreText, writeAtomic, type EpochMetrics, type MonitorName, type TrainState } from "./train/files.ts";
import { addFitOptions, resolveMonitor, resolveSchedule, withValidation, type FitFlags } from "./train/fit-options.ts";
import { describeSchedule } from "./train/schedule.ts";
import type { Dataset } from "./data/dataset.ts";
import { runIdentity } from "./train/identity.ts";
import { evaluate, NonFiniteError, predictedClass, trainLoop, type LoopOptions, type ModelFactory } from "./train/loop.ts";
import { formatDuration, pct, Progress } from "./train/progress.ts";
import { checkOut, prepareOut, saveEpoch, withTrainState, type Resumable } from "./train/run-dir.ts";

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
    .option("--data <name|path>", "`mnist` (bundled), `fashion-mnist`, `spam-assassin`, `fortunes` (characters, for a language model), a directory of IDX or CIFAR-10 files, a .csv, .npy, .bin, .tsv or .txt (default: the table data/MODEL.csv beside the model, else mnist)")
    .option("--labels <file.npy>", "with --data FILE.npy: the labels, one per row")
    .option("--test-data <file>", "with --data FILE.csv or .npy: a test set of the same kind")
    .option("--test-labels <file.npy>", "with --test-data FILE.npy: its labels")
    .option("--label-column <name|index>", "with --data FILE.csv: the label column (default: the one named like the target, else `label`, else the first); `none` for none")
    .option("--limit <n>", "use only the first N training rows", positiveInt("--limit"))
    .option("--normalize [divisor]", "divide inputs by 255 (or by the divisor); default on for mnist")
    .option("--no-normalize", "feed the inputs as they are")
    .addOption(dimOption("a size for another dim, e.g. --dim hidden=50 (repeatable)"))
    .option("--seed <n>", "seed for initializers and dropout", (v) => parseSeed(v), 1)
    .option("--no-color", "plain output")
    .hook("preAction", (c) => {
      if (c.getOptionValue("data") === undefined) c.setOptionValue("data", defaultDataSource(String(c.args[0])));
    });
}

/**
 * Compiles and lowers a file, checked against WebGPU's limits for that target; diagnostics are printed and end the command.
 * The plan is lowered once here and shared by the limits check, the emitter and the memory check.
 */
function compileGraph(file: string, color: boolean, target: Target = "cpu"): { g: GradGraph; plan: Lowered } {
  const result = runGrad(shownPath(file), readSource(file));
  if (report([result], "text", color) || !result.grad) throw new ExitError(1);
  const g = result.grad;
  const plan = lower(g);
  if (target === "webgpu" && report([{ ...result, diagnostics: checkWebgpuLimits(g, WEBGPU_LIMITS, plan) }], "text", color)) throw new ExitError(1);
  return { g, plan };
}

class ExitError extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

/** With a checkpoint (eval, predict), text gets the vocabulary saved beside it; predict takes data without labels. */
function loadData(g: GradGraph, flags: DataFlags, batchDims: Record<string, number>, trained?: { checkpoint: string; predict: boolean }): LoadedData {
  const normalize = flags.normalize === undefined ? normalizesByDefault(flags.data) : flags.normalize === true ? true : flags.normalize === false ? false : Number(flags.normalize);
  if (typeof normalize === "number" && !(normalize > 0)) throw new UsageError(`--normalize expects a positive divisor, got \`${String(flags.normalize)}\``);
  const column = flags.labelColumn;
  const options: LoadOptions = {
    normalize,
    ...(flags.limit !== undefined ? { limit: flags.limit } : {}),
    ...(flags.labels !== undefined ? { labels: flags.labels } : {}),
    ...(flags.testData !== undefined ? { test: flags.testData } : {}),
    ...(flags.testLabels !== undefined ? { testLabels: flags.testLabels } : {}),
    ...(column !== undefined ? { labelColumn: column === "none" ? false : /^\d+$/.test(column) ? Number(column) : column } : {}),
    ...(trained ? { labelsOptional: trained.predict, vocabularyFile: join(dirname(trained.checkpoint), VOCABULARY_FILE) } : {}),
  };
  const dims = Object.fromEntries(Object.entries(batchDims).filter(([k]) => k !== "batch"));
  return loadDataset(flags.data, dataSpecs(g), dims, options);
}

/** The model's dims: defaults, then --dim, then the batch size. */
function modelDims(g: GradGraph, given: Record<string, number>, batch: number | undefined): Record<string, number> {
  checkDimNames(g.dims, given);
  const dims: Record<string, number> = Object.create(null);
  for (const d of g.dims) {
    const v = givenDim(given, d.name) ?? (d.name === "batch" ? batch : undefined) ?? d.default;
    if (v !== undefined) dims[d.name] = v;
  }
  return dims;
}

function factory(g: GradGraph, plan: Lowered, mod: CompiledModule, dims: Record<string, number>, seed: number, batchDim: string, device?: GPUDevice, threads = 1): ModelFactory {
  return (n) => {
    checkModelFits(g, { ...dims, [batchDim]: n }, plan);
    return mod.createModel({ dims: { ...dims, [batchDim]: n }, seed, ...(device ? { device } : {}), ...(threads > 1 ? { threads } : {}) });
  };
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

interface TrainFlags extends DataFlags, FitFlags {
  epochs?: number;
  batch?: number;
  lr?: number;
  target: Target;
  threads: number;
  out?: string;
  resume?: boolean;
  overwrite?: boolean;
  initFrom?: string;
  evalEvery: number;
}

/** The data options as given, for the message when --resume finds other data. */
function dataDescription(flags: DataFlags): string {
  const given: [string, unknown][] = [["--data", flags.data], ["--labels", flags.labels], ["--test-data", flags.testData], ["--test-labels", flags.testLabels], ["--label-column", flags.labelColumn], ["--limit", flags.limit], ["--normalize", flags.normalize]];
  return given.filter(([, v]) => v !== undefined).map(([k, v]) => (v === true ? k : v === false ? `--no-${k.slice(2)}` : `${k} ${String(v)}`)).join(" ");
}

/** Loads the checkpoint of the run being resumed, after checking that this is that run; returns the epoch, history and best to continue from. */
async function resumeFrom(resumed: Resumable, model: { loadCheckpoint(b: Uint8Array): unknown }, run: TrainState["run"], out: string, lr: number, schedule: string | undefined) {
  const diffs = runDifferences(resumed.state.run, run);
  if (diffs.length > 0) {
    throw new CodedError("NNC512", `--resume: the checkpoint in ${shownPath(out)} belongs to another run: ${diffs.join("; ")}; nothing was written`, "resume with the same model, seed, data and batch, or train into another --out (or replace this one with --overwrite)");
  }
  try {
    await model.loadCheckpoint(resumed.bytes);
  } catch (e) {
    throw new DataError("NNC507", `--resume: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}; the model's shapes changed since it was saved — train without --resume, or into another --out`, resumed.path);
  }
  // A new learning rate is a deliberate change (after a blow-up, say): said, not refused.
  if (resumed.state.lr !== lr) process.stderr.write(`note: --resume with learning rate ${lr}; the run so far used ${resumed.state.lr}\n`);
  if (resumed.state.schedule !== schedule) process.stderr.write(`note: --resume with schedule ${schedule ?? "constant"}; the run so far used ${resumed.state.schedule ?? "constant"}\n`);
  return { startEpoch: resumed.state.epoch, history: [...resumed.state.metrics], best: resumed.state.best, stoppedEarly: resumed.state.stoppedEarly };
}

async function train(file: string, flags: TrainFlags): Promise<void> {
  const color = useColor(flags.color);
  const { g, plan } = compileGraph(file, color, flags.target);
  const out = flags.out ?? join("runs", g.modelName);
  // Nothing is written until every check (this one, the data, the resumed checkpoint) has passed.
  const resumed = checkOut(out, Boolean(flags.resume), Boolean(flags.overwrite));
  const spec = g.train ? Object.fromEntries(g.train.options) : {};
  const batch = flags.batch ?? spec["batch"] ?? 32;
  const epochs = flags.epochs ?? spec["epochs"] ?? 10;
  const schedule = resolveSchedule(g, flags, epochs);
  const dims = modelDims(g, flags.dim, undefined);
  const batchDim = batchDimOf(g);
  let gpu: { device: GPUDevice; adapterInfo: string } | undefined;
  if (flags.target === "webgpu" && flags.threads > 1) throw new UsageError("--threads is for --target cpu: WebGPU runs the model on the GPU");
  if (flags.target === "webgpu") gpu = await webgpuDevice();
  const { mod, code } = await compileAndLoad(g, flags.target, plan);
  const data = loadData(g, flags, dims);
  const sets = withValidation(data.train, flags.validation);
  const monitor = resolveMonitor(flags, sets.validation !== undefined, data.test !== undefined);
  const run = runIdentity(g, flags.seed, batch, dataDescription(flags), data.train, data.test, { shuffle: flags.shuffle, validation: flags.validation ?? 0, monitor });
  const capped = capThreads(flags.threads);
  if (capped.note) process.stderr.write(capped.note + "\n");
  const make = factory(g, plan, mod, dims, flags.seed, batchDim, gpu?.device, capped.threads);
  const model = await make(batch);
  if (flags.initFrom !== undefined) await model.setParams(initialParams(g, flags.initFrom, flags.resume, dims));
  const lr = flags.lr ?? mod.spec.train.lr;
  // One options object for every step: a schedule sets its lr before each one.
  const trainOptions: LoopOptions["trainOptions"] = flags.lr !== undefined || schedule ? { lr } : {};
  const scheduleText = schedule ? describeSchedule(schedule) : undefined;
  const from = resumed ? await resumeFrom(resumed, model, run, out, lr, scheduleText) : { startEpoch: 0, history: [] as EpochMetrics[], best: undefined, stoppedEarly: undefined };
  const { startEpoch, history } = from;
  let best: TrainState["best"] = from.best;
  prepareOut(out, code, g.modelName, resumed);
  if (data.vocabulary) writeAtomic(join(out, VOCABULARY_FILE), vocabularyJson(data.vocabulary));
  if (from.stoppedEarly !== undefined && flags.patience !== undefined) {
    process.stdout.write(`${shownPath(out)}: stopped early at epoch ${from.stoppedEarly}; resume without --patience to train on\n`);
    return;
  }
  if (startEpoch >= epochs) process.stdout.write(`${shownPath(out)}: already trained for ${startEpoch} epochs; ask for more with --epochs\n`);
  // The CPU module uses fewer threads where the platform allows fewer, and says why.
  const threadsUsed = model.threads ?? 1;
  if (threadsUsed < capped.threads) process.stderr.write(`note: training on ${threadsUsed} thread${threadsUsed === 1 ? "" : "s"}, not ${capped.threads}: ${model.threadsNote ?? "the platform allows fewer"}\n`);
  const on = gpu ? `, on WebGPU (${gpu.adapterInfo})` : threadsUsed > 1 ? `, ${threadsUsed} threads` : "";
  const fit = [scheduleText ? `, ${scheduleText}` : "", flags.shuffle ? "" : ", rows in file order"].join("");
  process.stdout.write(`training ${g.modelName} (${shownPath(basename(file))}) on ${shownPath(flags.data)}: ${rowsText(data, sets.validation)}, batch ${batch}, ${epochs} epochs, ${g.train?.optimizer ?? "sgd"} lr ${lr}${fit}${on}\n`);
  const o: LoopOptions = {
    ...loopOptions(g, epochs, batch, startEpoch, flags.evalEvery, trainOptions),
    ...(flags.shuffle ? { shuffle: flags.seed } : {}),
    ...(sets.validation ? { validation: sets.validation } : {}),
    ...(schedule ? { schedule: { base: lr, schedule } } : {}),
  };
  const progress = new Progress(o);
  let stoppedEarly: number | undefined;
  const onEpoch = async (m: EpochMetrics): Promise<void | "stop"> => {
    history.push(m);
    progress.epoch(m);
    const score = bestScore(m, monitor);
    const isBest = score !== undefined && (best === undefined || score > best.score);
    if (isBest) best = { epoch: m.epoch, score };
    if (flags.patience !== undefined && patienceRunOut(history, monitor, best, flags.patience)) stoppedEarly = m.epoch;
    const state: TrainState = { epoch: m.epoch, metrics: history, run, lr, ...(best ? { best } : {}), ...(scheduleText ? { schedule: scheduleText } : {}), ...(stoppedEarly !== undefined ? { stoppedEarly } : {}) };
    saveEpoch(out, g.modelName, withTrainState(await model.saveCheckpoint(), state), state, isBest);
    return stoppedEarly !== undefined ? "stop" : undefined;
  };
  try {
    await trainLoop(make, sets.train, data.test, o, { onStep: (epoch, done, total, loss) => progress.step(epoch, done, total, loss), onEpoch }, model);
  } catch (e) {
    progress.stop();
    if (e instanceof NonFiniteError) {
      process.stderr.write(`error[NNC506]: ${e.message}\n  = note: the last good checkpoint (epoch ${history.at(-1)?.epoch ?? "none"}) is kept in ${shownPath(out)}\n  = help: lower the learning rate (--lr) or check the data's scale (--normalize)\n`);
      throw new ExitError(1);
    }
    throw e;
  }
  process.stdout.write(doneText({ out, monitor, patience: flags.patience, stoppedEarly, best: best as TrainState["best"], last: history.at(-1), hasTest: data.test !== undefined, hasValidation: sets.validation !== undefined, seconds: progress.seconds() }));
}

/** The lines nnc train ends with: why it stopped early (if it did), the last accuracy, what best.nnck holds, the files. */
function doneText(r: { out: string; monitor: MonitorName; patience: number | undefined; stoppedEarly: number | undefined; best: TrainState["best"]; last: EpochMetrics | undefined; hasTest: boolean; hasValidation: boolean; seconds: number }): string {
  const epochs = `${r.patience} evaluated epoch${r.patience === 1 ? "" : "s"}`;
  const stopped = r.stoppedEarly !== undefined && r.best ? `stopped early after epoch ${r.stoppedEarly}: ${r.monitor} has not improved for ${epochs} since epoch ${r.best.epoch}\n` : "";
  const bestText = r.best ? `; ${OUT_FILES.best} holds epoch ${r.best.epoch} (${scoreText(r.monitor, r.best.score)})` : "";
  const lastText = !r.hasTest && r.hasValidation ? `validation accuracy ${pct(r.last?.valAccuracy)}` : `test accuracy ${pct(r.last?.testAccuracy)}`;
  const files = `${shownPath(join(r.out, OUT_FILES.checkpoint))}, ${OUT_FILES.best}, ${OUT_FILES.csv}, ${OUT_FILES.json}, ${OUT_FILES.plot} and ${OUT_FILES.module}`;
  return `${stopped}done in ${formatDuration(r.seconds)}: ${lastText}${bestText}\nwrote ${files}\n`;
}

function rowsText(data: LoadedData, validation: Dataset | undefined): string {
  return `${data.train.rows} training rows${validation ? ` (${validation.rows} of them held out for validation)` : ""}${data.test ? `, ${data.test.rows} test rows` : ""}`;
}

interface TrainedFlags extends DataFlags {
  checkpoint: string;
}

interface EvalFlags extends TrainedFlags {
  batch: number;
}

async function loadTrained(file: string, flags: TrainedFlags) {
  const { g, plan } = compileGraph(file, useColor(flags.color));
  const dims = modelDims(g, flags.dim, undefined);
  const bytes = readBinaryFile(flags.checkpoint, "checkpoint");
  const { mod } = await compileAndLoad(g, "cpu", plan);
  const make = factory(g, plan, mod, dims, flags.seed, batchDimOf(g));
  const probe = await make(1);
  try {
    await probe.loadCheckpoint(bytes);
  } catch (e) {
    throw new DataError("NNC507", `${shownPath(flags.checkpoint)}: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}; use a checkpoint nnc train wrote for this model (best.nnck or checkpoint.nnck)`, flags.checkpoint);
  }
  return { g, dims, make, params: await probe.getParams() };
}

async function evalCommand(file: string, flags: EvalFlags): Promise<void> {
  const { g, dims, make, params } = await loadTrained(file, flags);
  const data = loadData(g, flags, dims, { checkpoint: flags.checkpoint, predict: false });
  const set = data.test ?? data.train;
  const o = loopOptions(g, 0, flags.batch, 0, 1, {});
  const r = await evaluate(make, params, set, o, flags.batch);
  process.stdout.write(`${g.modelName} on ${flags.data} (${data.test ? "test" : "training"} set, ${set.rows} rows): loss ${r.loss.toPrecision(5)}, accuracy ${pct(r.accuracy)}\n`);
}

async function predictCommand(file: string, flags: TrainedFlags & { count: number }): Promise<void> {
  const { g, dims, make, params } = await loadTrained(file, flags);
  const data = loadData(g, flags, dims, { checkpoint: flags.checkpoint, predict: true });
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
    const best = predictedClass(out, 0, width);
    // An integer target holds each row's class id itself.
    const expected = !target ? "-" : target instanceof Int32Array ? String(target[r]) : String(predictedClass(target, r * width, width));
    // One sigmoid column is the probability of class 1.
    const confidence = width === 1 ? (best === 1 ? out[0]! : 1 - out[0]!) : out[best]!;
    process.stdout.write(`${String(r).padStart(3)}  ${String(best).padStart(9)}  ${expected.padStart(8)}  ${confidence.toFixed(4).padStart(10)}\n`);
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
      else if (e instanceof CodedError) {
        process.stderr.write(e.render());
        process.exitCode = e.exit;
      } else if (e instanceof DataError) {
        process.stderr.write(`error[${e.code}]: ${e.message}\n`);
        process.exitCode = 1;
      } else throw e;
    }
  };
}

export function addTrainCommands(program: Command): void {
  const trainCmd = addDataOptions(
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
      .option("--resume", "continue from the checkpoint in --out (the same model, seed, data and batch)")
      .option("--overwrite", "replace the trained work --out holds (without it, nnc train refuses to)")
      .option("--init-from <path>", "start from these params: a safetensors file, a folder of NAME.npy files or an nnc checkpoint (matched by name, checked by shape)")
      .option("--eval-every <n>", "evaluate train, validation and test accuracy every N epochs (and after the last)", positiveInt("--eval-every"), 1),
  );
  addFitOptions(trainCmd).action(action(train));
  trainedCommand(program, "eval", "loss and accuracy of a trained model on the test set (or the training set when there is none)", ["--batch <n>", "rows per evaluation step", 1000]);
  trainedCommand(program, "predict", "predicted classes for the first rows of the test set, with a trained model", ["--count <n>", "how many rows", 10]);
}

/** A command that reads a FILE's checkpoint and data (eval, predict), with one count option of its own. */
function trainedCommand(program: Command, name: "eval" | "predict", description: string, [flags, help, initial]: [string, string, number]): void {
  const cmd = program
    .command(name)
    .description(description)
    .argument("<file>", ".nn file")
    .requiredOption("--checkpoint <path>", "a checkpoint written by nnc train")
    .option(flags, help, positiveInt(flags.split(" ")[0]!), initial);
  addDataOptions(cmd).action(name === "eval" ? action(evalCommand) : action(predictCommand));
}
