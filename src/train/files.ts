// Files `nnc train` writes into --out. Every write is atomic (a temporary
// file, created exclusively, renamed over the old one), so a crash never
// leaves a broken file behind. The checkpoint carries the training state
// (epoch, history, what the run was trained on) in its header, so the two
// are one atomic unit: --resume reads the checkpoint alone, and every other
// file is derived from it and rewritten.
import { randomBytes } from "node:crypto";
import { renameSync, unlinkSync, writeFileSync } from "node:fs";
import { writeError } from "../cli-files.ts";

/**
 * For the crash tests only (test/train-resume.test.ts): NNC_TEST_EXIT_AFTER_RENAME=k
 * makes the process exit (code 75) right after its k-th rename, as a crash would.
 */
const exitAfter = Number(process.env["NNC_TEST_EXIT_AFTER_RENAME"] ?? 0);
let renames = 0;

export function writeAtomic(path: string, data: string | Uint8Array): void {
  const tmp = `${path}.${randomBytes(6).toString("hex")}.tmp`;
  try {
    writeFileSync(tmp, data, { flag: "wx" });
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was created
    }
    throw writeError(path, e, "make sure --out is a directory you can write to, with space left");
  }
  if (++renames === exitAfter) process.exit(75);
}

export interface EpochMetrics {
  epoch: number;
  /** Mean training loss over the epoch's steps. */
  loss: number;
  /** Absent in epochs where the data were not evaluated. */
  trainAccuracy?: number;
  /** Absent without --validation, and in epochs where it was not evaluated. */
  valAccuracy?: number;
  valLoss?: number;
  /** Absent in epochs where the test set was not evaluated. */
  testAccuracy?: number;
  testLoss?: number;
  /** With a learning-rate schedule: the rate of the epoch's last step. */
  lr?: number;
  samplesPerSecond: number;
  seconds: number;
}

export const OUT_FILES = {
  checkpoint: "checkpoint.nnck",
  best: "best.nnck",
  csv: "metrics.csv",
  json: "metrics.json",
  plot: "metrics.svg",
  module: "model.ts",
  /** Written by nnc before checkpoints held their state; removed when a run is overwritten. */
  legacyState: "train-state.json",
} as const;

export function metricsCsv(rows: readonly EpochMetrics[]): string {
  const head = "epoch,loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,samples_per_second,seconds";
  const cell = (v: number | undefined) => (v === undefined ? "" : String(v));
  const row = (r: EpochMetrics) => [r.epoch, r.loss, r.trainAccuracy, r.valLoss, r.valAccuracy, r.testLoss, r.testAccuracy, r.lr, r.samplesPerSecond, r.seconds];
  return [head, ...rows.map((r) => row(r).map(cell).join(","))].join("\n") + "\n";
}

/** What a run was trained on: --resume refuses to continue a run of another model, seed, data or batch. */
export interface RunIdentity {
  /** Hash of the model's forward graph (ops, shapes, params and their initializers). */
  graph: string;
  /** Hash of the train statement: its optimizer and options but `epochs` (ask for more), `batch` and `lr` (compared on their own). */
  trainStatement: string;
  seed: number;
  batch: number;
  /** The data options as given, e.g. `--data mnist --limit 300`. */
  data: string;
  /** Hash of the loaded training and test data (before the validation split). */
  dataHash: string;
  /** Whether the rows were shuffled each epoch; absent in checkpoints of nnc before shuffling, which never did. */
  shuffle?: boolean;
  /** The share of the training rows held out for validation (0: none). */
  validation?: number;
  /** The metric best.nnck and --patience follow (see MONITORS). */
  monitor?: string;
}

/** The training state a checkpoint's header carries under `train`. */
export interface TrainState {
  epoch: number;
  metrics: EpochMetrics[];
  run: RunIdentity;
  /** The learning rate the run used (--lr, else the train statement's): a change is noted on --resume, not refused. */
  lr: number;
  /** The epoch best.nnck holds, and its score (see bestScore). */
  best?: { epoch: number; score: number };
  /** The learning-rate schedule in words (see describeSchedule); absent for a constant rate. */
  schedule?: string;
  /** The epoch --patience stopped the run after. */
  stoppedEarly?: number;
}

/** The metrics --monitor can follow: the EpochMetrics field, whether higher is better, and what must exist for it. */
export const MONITORS = {
  val_loss: { field: "valLoss", higher: false, needs: "validation" },
  val_accuracy: { field: "valAccuracy", higher: true, needs: "validation" },
  test_loss: { field: "testLoss", higher: false, needs: "test" },
  test_accuracy: { field: "testAccuracy", higher: true, needs: "test" },
  loss: { field: "loss", higher: false, needs: undefined },
} as const satisfies Record<string, { field: keyof EpochMetrics; higher: boolean; needs: "validation" | "test" | undefined }>;

export type MonitorName = keyof typeof MONITORS;

export const isMonitorName = (s: string): s is MonitorName => Object.hasOwn(MONITORS, s);

/** Without --monitor: the validation loss with --validation (as Keras), else the test accuracy with a test set, else the training loss. */
export function defaultMonitor(hasValidation: boolean, hasTest: boolean): MonitorName {
  return hasValidation ? "val_loss" : hasTest ? "test_accuracy" : "loss";
}

/** An epoch's score by the monitored metric, higher is better (a loss is negated); undefined where that metric was not evaluated. */
export function bestScore(m: EpochMetrics, monitor: MonitorName): number | undefined {
  const { field, higher } = MONITORS[monitor];
  const v = m[field];
  return v === undefined ? undefined : higher ? v : -v;
}

/** The score in words: `val_loss 0.1234` or `test_accuracy 91.20%`. */
export function scoreText(monitor: MonitorName, score: number): string {
  return MONITORS[monitor].higher ? `${monitor} ${(100 * score).toFixed(2)}%` : `${monitor} ${(-score).toPrecision(5)}`;
}

/**
 * Early stopping: whether `patience` evaluated epochs have passed since the
 * best one without beating it (Keras's EarlyStopping with min_delta 0).
 */
export function patienceRunOut(history: readonly EpochMetrics[], monitor: MonitorName, best: { epoch: number } | undefined, patience: number): boolean {
  if (best === undefined) return false;
  const since = history.filter((m) => m.epoch > best.epoch && bestScore(m, monitor) !== undefined).length;
  return since > 0 && since >= patience;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The training state of a checkpoint header's `train` field, checked; undefined where it has none or it is malformed. */
export function trainStateOf(train: unknown): TrainState | undefined {
  if (!isObject(train) || !Number.isInteger(train["epoch"]) || !Array.isArray(train["metrics"]) || !isObject(train["run"])) return undefined;
  const run = train["run"];
  const strings = ["graph", "trainStatement", "data", "dataHash"].every((k) => typeof run[k] === "string");
  const numbers = ["seed", "batch"].every((k) => Number.isInteger(run[k])) && typeof train["lr"] === "number";
  if (!strings || !numbers) return undefined;
  if (train["stoppedEarly"] !== undefined && !Number.isInteger(train["stoppedEarly"])) return undefined;
  if (!(train["metrics"] as unknown[]).every((m) => isObject(m) && Number.isInteger(m["epoch"]) && typeof m["loss"] === "number")) return undefined;
  return train as unknown as TrainState;
}

/** How the run being started differs from the one a checkpoint belongs to, in words; empty when it does not. */
export function runDifferences(then: RunIdentity, now: RunIdentity): string[] {
  const out: string[] = [];
  if (then.graph !== now.graph) out.push("the model's graph differs (its operations, shapes or initializers changed in the .nn file)");
  if (then.trainStatement !== now.trainStatement) out.push("the model's `train` statement differs (its optimizer, or an option other than epochs, batch and lr)");
  if (then.seed !== now.seed) out.push(`the seed was ${then.seed}, now ${now.seed} (--seed)`);
  if (then.batch !== now.batch) out.push(`the batch size was ${then.batch}, now ${now.batch} (--batch)`);
  if (Boolean(then.shuffle) !== Boolean(now.shuffle)) out.push(then.shuffle ? "the run shuffled its rows each epoch, now it does not (--no-shuffle)" : "the run kept its rows in file order (--no-shuffle), now they are shuffled");
  if ((then.validation ?? 0) !== (now.validation ?? 0)) out.push(`the validation share was ${then.validation ?? 0}, now ${now.validation ?? 0} (--validation)`);
  if (then.monitor !== undefined && now.monitor !== undefined && then.monitor !== now.monitor) out.push(`best.nnck followed ${then.monitor}, now ${now.monitor} (--monitor)`);
  // The data are compared by content, so a path written another way is no difference.
  if (then.dataHash !== now.dataHash) {
    out.push(then.data !== now.data ? `the data were \`${then.data}\`, now \`${now.data}\`` : `the data files of \`${now.data}\` hold other values than when the checkpoint was saved`);
  }
  return out;
}
