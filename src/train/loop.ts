// The training loop of `nnc train`, apart from any terminal or file: it
// drives an emitted module over a dataset, epoch by epoch, evaluates, and
// stops on the first non-finite loss. The CLI renders its events.
import type { Dataset } from "../data/dataset.ts";
import type { EpochMetrics } from "./files.ts";
import { epochOrder, Gatherer, rowsOf } from "./batches.ts";
import { scheduledLr, type Schedule } from "./schedule.ts";

type Arrays = Record<string, Float32Array | Int32Array>;

type Awaitable<T> = T | Promise<T>;

/**
 * The part of an emitted module's model that training uses. The CPU module
 * answers at once; the WebGPU module returns promises, and can also submit
 * steps without waiting (enqueueTrainStep) and read their losses later.
 */
export interface TrainableModel {
  readonly step: number;
  forward(inputs: Arrays): Awaitable<Arrays>;
  loss(batch: Arrays): Awaitable<number>;
  trainStep(batch: Arrays, options?: Record<string, unknown>): Awaitable<number>;
  enqueueTrainStep?(batch: Arrays, options?: Record<string, unknown>): void;
  readLosses?(): Promise<Float32Array>;
  getParams(): Awaitable<Record<string, Float32Array>>;
  setParams(params: Record<string, Float32Array>): Awaitable<void>;
  saveCheckpoint(): Awaitable<Uint8Array>;
  loadCheckpoint(bytes: Uint8Array): Awaitable<void>;
  /** The CPU module's: threads its matrix products use, and why fewer than asked for. */
  readonly threads?: number;
  readonly threadsNote?: string | null;
}

export type ModelFactory = (batch: number) => Awaitable<TrainableModel>;

/** Steps submitted before their losses are read back, on a model that can run ahead (WebGPU). */
const READ_EVERY = 50;

export interface LoopOptions {
  readonly epochs: number;
  readonly batch: number;
  /** Epoch to start from (after --resume): epochs already done. */
  readonly startEpoch: number;
  /** Evaluate on the test set (and the training set's accuracy) every N epochs, and after the last. */
  readonly evalEvery: number;
  /** Handed to every trainStep; with a schedule, its `lr` is set before each step (one object, no allocation). */
  readonly trainOptions: { lr?: number; [option: string]: unknown };
  /** Shuffle the rows every epoch with this seed (see epochOrder); undefined keeps file order. */
  readonly shuffle?: number;
  /** Rows held out of training, evaluated beside the test set (--validation). */
  readonly validation?: Dataset;
  /** The learning rate per step: `base` through the schedule (see scheduledLr). */
  readonly schedule?: { readonly base: number; readonly schedule: Schedule };
  readonly inputs: readonly string[];
  readonly targets: readonly string[];
  /** The output compared with the (first) target for accuracy. */
  readonly output: string;
}

export interface LoopEvents {
  onStep?(epoch: number, done: number, total: number, loss: number): void;
  /** "stop" ends the run after this epoch (early stopping). */
  onEpoch?(m: EpochMetrics, model: TrainableModel): void | "stop" | Promise<void | "stop">;
}

/**
 * Where a step stands in the whole run, for one progress bar over all the
 * epochs: a bar per epoch never drew past 0% when epochs take milliseconds.
 */
export function runProgress(o: Pick<LoopOptions, "epochs" | "startEpoch">, epoch: number, done: number, stepsPerEpoch: number): { done: number; total: number } {
  return { done: (epoch - o.startEpoch - 1) * stepsPerEpoch + done, total: (o.epochs - o.startEpoch) * stepsPerEpoch };
}

export class NonFiniteError extends Error {
  constructor(
    message: string,
    readonly epoch: number,
    readonly step: number,
  ) {
    super(message);
  }
}

/**
 * The class a row of `width` values at `at` stands for: its argmax, or, for a
 * single column (a sigmoid's probability of class 1, a 0/1 label), whether it
 * reaches 0.5 — the argmax of one column would always be class 0.
 */
export function predictedClass(a: ArrayLike<number>, at: number, width: number): number {
  if (width === 1) return a[at]! >= 0.5 ? 1 : 0;
  let best = 0;
  for (let j = 1; j < width; j++) if (a[at + j]! > a[at + best]!) best = j;
  return best;
}

/**
 * Rows whose predicted class is the target's: an integer target holds the class
 * ids themselves, one per row, or one per position (a language model's next
 * tokens, int[batch, block]: each row then counts the share of its positions).
 */
function hits(pred: ArrayLike<number>, target: ArrayLike<number>, rows: number): number {
  const ids = target instanceof Int32Array;
  const count = ids ? target.length : rows;
  const width = pred.length / count;
  let n = 0;
  for (let r = 0; r < count; r++) n += predictedClass(pred, r * width, width) === (ids ? target[r]! : predictedClass(target, r * width, width)) ? 1 : 0;
  return (n * rows) / count;
}

/** Loss and accuracy over a whole dataset in inference mode, in batches of at most `size` rows. */
export async function evaluate(
  make: ModelFactory,
  params: Record<string, Float32Array>,
  data: Dataset,
  o: LoopOptions,
  size: number,
  models = new Map<number, TrainableModel>(),
): Promise<{ loss: number; accuracy: number }> {
  const full = Math.min(size, data.rows);
  const model = async (n: number) => {
    let m = models.get(n);
    if (!m) models.set(n, (m = await make(n)));
    await m.setParams(params);
    return m;
  };
  let loss = 0;
  let correct = 0;
  for (let start = 0; start < data.rows; start += full) {
    const n = Math.min(full, data.rows - start);
    const m = await model(n);
    const batch = rowsOf(data, [...o.inputs, ...o.targets], start, n);
    loss += (await m.loss(batch)) * n;
    const out = (await m.forward(batch))[o.output]!;
    correct += hits(out, batch[o.targets[0]!]!, n);
  }
  return { loss: loss / data.rows, accuracy: correct / data.rows };
}

/** The name of the first param holding a NaN or an infinity, if any. */
export function firstNonFinite(params: Record<string, Float32Array>): string | undefined {
  for (const [name, values] of Object.entries(params)) {
    for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i]!)) return `${name}[${i}]`;
  }
  return undefined;
}

/** What every epoch's steps use: the models, the batch counts, and where each batch's rows come from. */
interface EpochPlan {
  readonly model: TrainableModel;
  /** The model of the rows left after the last whole batch, if any. */
  readonly tail: TrainableModel | undefined;
  readonly steps: number;
  readonly tailRows: number;
  /** Steps an epoch, the tail's included. */
  readonly perEpoch: number;
  readonly batchAt: (start: number) => ReturnType<typeof rowsOf>;
  readonly tailBatch: () => ReturnType<typeof rowsOf>;
}

/**
 * Runs the epochs. Each step's loss is checked: the first non-finite one
 * stops training (NonFiniteError) before anything of that epoch is reported.
 */
export async function trainLoop(make: ModelFactory, train: Dataset, test: Dataset | undefined, o: LoopOptions, events: LoopEvents, given?: TrainableModel): Promise<EpochMetrics[]> {
  const model = given ?? (await make(o.batch));
  const steps = Math.floor(train.rows / o.batch);
  const tailRows = train.rows - steps * o.batch;
  // The rows left after the last whole batch train in a model of their own size, sharing the params.
  const tail = tailRows > 0 ? await make(tailRows) : undefined;
  const names = [...o.inputs, ...o.targets];
  const history: EpochMetrics[] = [];
  // Evaluation models by batch size, made once.
  const evalModels = new Map<number, TrainableModel>();
  const perEpoch = steps + (tail ? 1 : 0);
  // Shuffled, rows are copied into buffers made here; in file order a batch is a view of the data.
  const order = new Uint32Array(o.shuffle === undefined ? 0 : train.rows);
  const full = o.shuffle === undefined ? undefined : new Gatherer(train, names, o.batch);
  const rest = o.shuffle === undefined || tailRows === 0 ? undefined : new Gatherer(train, names, tailRows);
  const plan: EpochPlan = {
    model,
    tail,
    steps,
    tailRows,
    perEpoch,
    batchAt: (start: number) => (full ? full.gather(order, start) : rowsOf(train, names, start, o.batch)),
    tailBatch: () => (rest ? rest.gather(order, steps * o.batch) : rowsOf(train, names, steps * o.batch, tailRows)),
  };
  for (let epoch = o.startEpoch + 1; epoch <= o.epochs; epoch++) {
    const t0 = performance.now();
    if (o.shuffle !== undefined) epochOrder(order, o.shuffle, epoch);
    const lossSum = await trainEpoch(plan, epoch, o, events);
    const params = await model.getParams();
    const bad = firstNonFinite(params);
    if (bad) throw new NonFiniteError(`${bad} became non-finite in epoch ${epoch}`, epoch, steps);
    const seconds = (performance.now() - t0) / 1000;
    const m: EpochMetrics = {
      epoch,
      loss: lossSum / train.rows,
      samplesPerSecond: train.rows / Math.max(seconds, 1e-9),
      seconds,
      ...(o.schedule ? { lr: o.trainOptions.lr! } : {}),
    };
    // Counted from epoch 0, not from a resumed epoch, so that a resumed run evaluates the epochs an uninterrupted one does.
    if (epoch % o.evalEvery === 0 || epoch === o.epochs) await addAccuracies(m, make, params, train, test, o, evalModels);
    history.push(m);
    if ((await events.onEpoch?.(m, model)) === "stop") break;
  }
  return history;
}

/** One epoch's steps, the tail's last; gives the sum of the losses weighted by their rows. */
async function trainEpoch(plan: EpochPlan, epoch: number, o: LoopOptions, events: LoopEvents): Promise<number> {
  const { model, tail, steps, tailRows, perEpoch, batchAt, tailBatch } = plan;
  let lossSum = 0;
  let done = 0;
  // The rate of the step about to run, counted over the whole run, so a resumed run continues the curve.
  const setLr = (s: number) => {
    if (o.schedule) o.trainOptions.lr = scheduledLr(o.schedule.base, o.schedule.schedule, (epoch - 1) * perEpoch + s, perEpoch, o.epochs);
  };
  const record = async (m: TrainableModel, loss: number, rows: number) => {
    if (!Number.isFinite(loss)) throw await nonFinite(m, epoch, done, loss);
    lossSum += loss * rows;
    done++;
    events.onStep?.(epoch, done, perEpoch, loss);
  };
  if (model.enqueueTrainStep && model.readLosses) {
    // Submit steps without waiting and read their losses back every READ_EVERY steps: the GPU never idles on a read.
    for (let s = 0; s < steps; s++) {
      setLr(s);
      model.enqueueTrainStep(batchAt(s * o.batch), o.trainOptions);
      if ((s + 1) % READ_EVERY === 0 || s === steps - 1) for (const loss of await model.readLosses()) await record(model, loss, o.batch);
    }
  } else {
    for (let s = 0; s < steps; s++) {
      setLr(s);
      await record(model, await model.trainStep(batchAt(s * o.batch), o.trainOptions), o.batch);
    }
  }
  if (tail) {
    setLr(steps);
    // The whole training state crosses over, not only the params: the tail's step must
    // use the run's optimizer moments and step count, or a resumed run (whose tail
    // model is new) would take other steps than an uninterrupted one.
    await tail.loadCheckpoint(await model.saveCheckpoint());
    await record(tail, await tail.trainStep(tailBatch(), o.trainOptions), tailRows);
    await model.loadCheckpoint(await tail.saveCheckpoint());
  }
  return lossSum;
}

/** The epoch's accuracies (and losses) on the training, validation and test data, with the params it ended on. */
async function addAccuracies(
  m: EpochMetrics,
  make: ModelFactory,
  params: Record<string, Float32Array>,
  train: Dataset,
  test: Dataset | undefined,
  o: LoopOptions,
  evalModels: Map<number, TrainableModel>,
): Promise<void> {
  m.trainAccuracy = (await evaluate(make, params, train, o, 1000, evalModels)).accuracy;
  if (o.validation) {
    const v = await evaluate(make, params, o.validation, o, 1000, evalModels);
    m.valAccuracy = v.accuracy;
    m.valLoss = v.loss;
  }
  if (test) {
    const t = await evaluate(make, params, test, o, 1000, evalModels);
    m.testAccuracy = t.accuracy;
    m.testLoss = t.loss;
  }
}

async function nonFinite(model: TrainableModel, epoch: number, step: number, loss: number): Promise<NonFiniteError> {
  const bad = firstNonFinite(await model.getParams());
  const what = bad ? `${bad} (a param) became non-finite, and the loss is ${loss}` : `the loss is ${loss}`;
  return new NonFiniteError(`training stopped in epoch ${epoch}, step ${step + 1}: ${what}`, epoch, step + 1);
}
