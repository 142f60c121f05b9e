// The --out directory of `nnc train`: what it may hold before a run starts
// (trained work is never replaced without --overwrite; --resume needs a
// checkpoint of this run), and what each epoch writes into it, in an order
// where a crash between any two renames resumes to the same numbers.
import { existsSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { join } from "node:path";
import { encodeCheckpoint, parseCheckpoint } from "../backend/cpu/runtime/checkpoint.ts";
import { CodedError, readBinaryFile, readError, shownPath, writeError } from "../cli-files.ts";
import { UsageError } from "../cli-common.ts";
import { DataError } from "../data/errors.ts";
import { metricsCsv, OUT_FILES, trainStateOf, writeAtomic, type TrainState } from "./files.ts";
import { plotMetrics } from "./plot.ts";

/** A checkpoint to resume from: its bytes (for loadCheckpoint) and the training state its header carries. */
export interface Resumable {
  bytes: Uint8Array;
  state: TrainState;
  path: string;
}

/** What a checkpoint holds, in a few words, for the refusal to replace it. */
function describe(path: string): string {
  try {
    const state = trainStateOf(parseCheckpoint(readBinaryFile(path, "checkpoint")).header.train);
    const last = state?.metrics.at(-1);
    if (state) return `trained for ${state.epoch} epoch${state.epoch === 1 ? "" : "s"}${last?.testAccuracy !== undefined ? `, test accuracy ${(100 * last.testAccuracy).toFixed(2)}%` : ""}`;
  } catch {
    // an unreadable checkpoint is still trained work
  }
  return "a checkpoint";
}

/**
 * Checks --out before anything is written: not a file; holding no checkpoint
 * unless --resume or --overwrite says what to do with it; with --resume, a
 * checkpoint that verifies and carries its training state.
 */
export function checkOut(out: string, resume: boolean, overwrite: boolean): Resumable | undefined {
  if (resume && overwrite) throw new UsageError("--resume continues the run in --out and --overwrite replaces it: give one of them");
  let isDir = false;
  try {
    isDir = statSync(out).isDirectory();
    if (!isDir) throw new CodedError("NNC509", `--out ${shownPath(out)} exists and is not a directory`, "give --out a directory (it is created if missing)", 2);
  } catch (e) {
    if (e instanceof CodedError) throw e;
    if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw readError(out, e, "--out directory");
  }
  const path = join(out, OUT_FILES.checkpoint);
  const held = isDir ? [OUT_FILES.checkpoint, OUT_FILES.best].find((f) => existsSync(join(out, f))) : undefined;
  if (!resume) {
    if (held !== undefined && !overwrite) {
      const help = "continue it with --resume, replace it with --overwrite, or train into another --out";
      throw new CodedError("NNC510", `${shownPath(out)} already holds trained work (${held}: ${describe(join(out, held))}); nothing was written`, help, 2);
    }
    return undefined;
  }
  if (!existsSync(path)) throw new UsageError(`--resume: ${shownPath(out)} holds no checkpoint to continue from; train without --resume first`);
  const bytes = readBinaryFile(path, "checkpoint");
  let train: unknown;
  try {
    train = parseCheckpoint(bytes).header.train;
  } catch (e) {
    throw new DataError("NNC507", `--resume: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}; train again with --overwrite, or into another --out`, path);
  }
  const state = trainStateOf(train);
  if (!state) {
    const why = train === undefined ? "it holds no training state (it was written by an older nnc, or not by nnc train)" : "its training state is corrupt";
    throw new DataError("NNC507", `--resume: ${shownPath(path)}: ${why}; it still evaluates with nnc eval, but --resume cannot continue it exactly: train again with --overwrite, or into another --out`, path);
  }
  return { bytes, state, path };
}

/** A checkpoint with the training state added to its header (and a new checksum). */
export function withTrainState(bytes: Uint8Array, state: TrainState): Uint8Array {
  const { header, data } = parseCheckpoint(bytes);
  return encodeCheckpoint({ ...header, train: state }, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

/** The files derived from the history: rewritten after every checkpoint, and when a run resumes. */
function writeDerived(out: string, model: string, state: TrainState): void {
  const history = state.metrics;
  writeAtomic(join(out, OUT_FILES.csv), metricsCsv(history));
  // What best.nnck holds and why the run stopped, beside the numbers, for a script reading the run.
  const best = state.best && state.run.monitor !== undefined ? { best: { epoch: state.best.epoch, monitor: state.run.monitor } } : {};
  const stopped = state.stoppedEarly !== undefined ? { stoppedEarly: state.stoppedEarly } : {};
  writeAtomic(join(out, OUT_FILES.json), JSON.stringify({ model, ...best, ...stopped, metrics: history }, null, 2) + "\n");
  writeAtomic(join(out, OUT_FILES.plot), plotMetrics(`${model}: loss and accuracy per epoch`, history));
}

/**
 * Once every check has passed: the directory, the module the user keeps, and
 * (resuming) best.nnck and the derived files as the checkpoint says they
 * were, in case a crash came between its rename and theirs.
 */
export function prepareOut(out: string, code: string, model: string, resumed: Resumable | undefined): void {
  try {
    mkdirSync(out, { recursive: true });
  } catch (e) {
    throw writeError(out, e, "give --out a directory you can write to (it is created if missing)");
  }
  writeAtomic(join(out, OUT_FILES.module), code);
  if (resumed) {
    // best.nnck is renamed after checkpoint.nnck: when the checkpoint is the best, it is best.nnck, byte for byte.
    if (resumed.state.best?.epoch === resumed.state.epoch) writeAtomic(join(out, OUT_FILES.best), resumed.bytes);
    writeDerived(out, model, resumed.state);
  } else {
    // --overwrite: an old best.nnck (or old-style state) would pass for this run's.
    for (const f of [OUT_FILES.best, OUT_FILES.legacyState]) if (existsSync(join(out, f))) unlinkSync(join(out, f));
  }
}

/**
 * An epoch's files: checkpoint.nnck first (the unit --resume reads), then
 * best.nnck when the epoch is the best so far (prepareOut repairs it after a
 * crash between the two), then the derived files.
 */
export function saveEpoch(out: string, model: string, checkpoint: Uint8Array, state: TrainState, isBest: boolean): void {
  writeAtomic(join(out, OUT_FILES.checkpoint), checkpoint);
  if (isBest) writeAtomic(join(out, OUT_FILES.best), checkpoint);
  writeDerived(out, model, state);
}
