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
  /** Absent in epochs where the test set was not evaluated. */
  testAccuracy?: number;
  testLoss?: number;
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
  const head = "epoch,loss,train_accuracy,test_loss,test_accuracy,samples_per_second,seconds";
  const cell = (v: number | undefined) => (v === undefined ? "" : String(v));
  return [head, ...rows.map((r) => [r.epoch, r.loss, r.trainAccuracy, r.testLoss, r.testAccuracy, r.samplesPerSecond, r.seconds].map(cell).join(","))].join("\n") + "\n";
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
  /** Hash of the loaded training and test data. */
  dataHash: string;
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
}

/** An epoch's score for best.nnck, higher is better: test accuracy when there is a test set, else minus the training loss; undefined where the test set was not evaluated. */
export function bestScore(m: EpochMetrics, hasTest: boolean): number | undefined {
  if (!hasTest) return -m.loss;
  return m.testAccuracy;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The training state of a checkpoint header's `train` field, checked; undefined where it has none or it is malformed. */
export function trainStateOf(train: unknown): TrainState | undefined {
  if (!isObject(train) || !Number.isInteger(train["epoch"]) || !Array.isArray(train["metrics"]) || !isObject(train["run"])) return undefined;
  const run = train["run"];
  const strings = ["graph", "trainStatement", "data", "dataHash"].every((k) => typeof run[k] === "string");
  const numbers = ["seed", "batch"].every((k) => Number.isInteger(run[k])) && typeof train["lr"] === "number";
  if (!strings || !numbers) return undefined;
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
  // The data are compared by content, so a path written another way is no difference.
  if (then.dataHash !== now.dataHash) {
    out.push(then.data !== now.data ? `the data were \`${then.data}\`, now \`${now.data}\`` : `the data files of \`${now.data}\` hold other values than when the checkpoint was saved`);
  }
  return out;
}
