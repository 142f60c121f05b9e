// Files `nnc train` writes into --out: every write is atomic (a temporary
// file renamed over the old one), so a crash never leaves a broken
// checkpoint or a half-written metrics file behind.
import { renameSync, writeFileSync, mkdirSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { DataError } from "../data/errors.ts";

export function writeAtomic(path: string, data: string | Uint8Array): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
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
  state: "train-state.json",
  csv: "metrics.csv",
  json: "metrics.json",
  plot: "metrics.svg",
  module: "model.ts",
} as const;

export function metricsCsv(rows: readonly EpochMetrics[]): string {
  const head = "epoch,loss,train_accuracy,test_loss,test_accuracy,samples_per_second,seconds";
  const cell = (v: number | undefined) => (v === undefined ? "" : String(v));
  return [head, ...rows.map((r) => [r.epoch, r.loss, r.trainAccuracy, r.testLoss, r.testAccuracy, r.samplesPerSecond, r.seconds].map(cell).join(","))].join("\n") + "\n";
}

/** What --resume needs besides the checkpoint: where training stopped and how it was set up. */
export interface TrainState {
  model: string;
  source: string;
  epoch: number;
  metrics: EpochMetrics[];
  options: Record<string, unknown>;
}

export function readState(out: string): TrainState | undefined {
  const path = join(out, OUT_FILES.state);
  if (!existsSync(path)) return undefined;
  try {
    const state = JSON.parse(readFileSync(path, "utf8")) as TrainState;
    if (Number.isInteger(state.epoch) && Array.isArray(state.metrics)) return state;
  } catch {
    // reported below
  }
  throw new DataError("NNC507", `${path} is corrupt: it is not the training state nnc train writes; train without --resume, or into another --out`, path);
}
