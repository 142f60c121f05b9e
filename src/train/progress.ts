// What nnc train prints while it runs and when an epoch ends: the progress
// bar, the epoch lines, durations and percentages.
import cliProgress from "cli-progress";
import type { EpochMetrics } from "./files.ts";
import { runProgress, type LoopOptions } from "./loop.ts";

export const pct = (v: number | undefined) => (v === undefined ? "   -  " : `${(100 * v).toFixed(2)}%`);

/** An epoch's line; the validation columns only in a run with --validation, the rate only with a schedule. */
function formatEpoch(m: EpochMetrics, o: LoopOptions, etaSeconds: number): string {
  const width = String(o.epochs).length;
  const val = o.validation ? `  val loss ${m.valLoss === undefined ? "  -  " : m.valLoss.toPrecision(5)} ${pct(m.valAccuracy)}` : "";
  const lr = m.lr !== undefined ? `  lr ${m.lr.toPrecision(3)}` : "";
  return `epoch ${String(m.epoch).padStart(width)}/${o.epochs}  loss ${m.loss.toPrecision(5)}  train ${pct(m.trainAccuracy)}${val}  test ${pct(m.testAccuracy)}${lr}  ${Math.round(m.samplesPerSecond)} samples/s  ${formatDuration(etaSeconds)} left`;
}

export function formatDuration(s: number): string {
  if (!Number.isFinite(s)) return "?";
  if (s < 60) return `${Math.round(s)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
}

/**
 * What nnc train shows while it runs: on a terminal one progress bar over the
 * whole run (see runProgress), stopped while an epoch's line prints; a line
 * per evaluated epoch (and the last) in any case.
 */
export class Progress {
  private readonly started = performance.now();
  private readonly bar: cliProgress.SingleBar | undefined;
  private shown = false;

  constructor(private readonly o: LoopOptions) {
    this.bar = process.stdout.isTTY
      ? new cliProgress.SingleBar({ format: `epoch {epoch}/${o.epochs} [{bar}] {percentage}% | loss {loss} | {speed} samples/s | {eta_formatted}`, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
      : undefined;
  }

  seconds(): number {
    return (performance.now() - this.started) / 1000;
  }

  step(epoch: number, done: number, total: number, loss: number): void {
    if (!this.bar) return;
    const run = runProgress(this.o, epoch, done, total);
    if (!this.shown) this.bar.start(run.total, run.done - 1, { epoch, loss: "-", speed: "-" });
    this.shown = true;
    const speed = Math.round(((run.done * this.o.batch) / Math.max(1e-9, performance.now() - this.started)) * 1000);
    this.bar.update(run.done, { epoch, loss: loss.toPrecision(4), speed });
  }

  epoch(m: EpochMetrics): void {
    if (m.trainAccuracy === undefined && m.epoch !== this.o.epochs) return;
    const perEpoch = this.seconds() / (m.epoch - this.o.startEpoch);
    this.stop();
    process.stdout.write(formatEpoch(m, this.o, perEpoch * (this.o.epochs - m.epoch)) + "\n");
  }

  stop(): void {
    if (this.shown) this.bar?.stop();
    this.shown = false;
  }
}
