// The options of `nnc train` that shape a fit beyond the optimizer: shuffling,
// the validation split, the metric best.nnck follows, early stopping and the
// learning-rate schedule. Each is checked when it is read, with its own code
// (NNC530–NNC535), before anything is loaded or written.
import type { Command } from "commander";
import { CodedError } from "../cli-files.ts";
import type { Dataset } from "../data/dataset.ts";
import type { GradGraph } from "../ir/graph.ts";
import { splitValidation } from "./batches.ts";
import { isMonitorName, MONITORS, type MonitorName, defaultMonitor } from "./files.ts";
import { isScheduleName, SCHEDULE_DEFAULTS, SCHEDULES, type Schedule } from "./schedule.ts";

export interface FitFlags {
  shuffle: boolean;
  validation?: number;
  monitor?: string;
  patience?: number;
  schedule?: string;
  warmup?: number;
  stepSize?: number;
  gamma?: number;
}

const usage = (code: "NNC530" | "NNC531" | "NNC532" | "NNC533" | "NNC534" | "NNC535", message: string, help: string) => new CodedError(code, message, help, 2);

function share(v: string): number {
  const n = Number(v);
  if (v.trim() === "" || !(n > 0 && n < 1)) throw usage("NNC530", `--validation expects a share of the training rows between 0 and 1 (exclusive), got \`${v}\``, "e.g. --validation 0.1 holds out the last tenth of the training rows");
  return n;
}

function patience(v: string): number {
  if (!/^\d+$/.test(v)) throw usage("NNC532", `--patience expects a whole number of epochs from 0 up, got \`${v}\``, "e.g. --patience 3 stops after 3 evaluated epochs without improvement");
  return Number(v);
}

function scheduleName(v: string): string {
  if (!isScheduleName(v)) throw usage("NNC533", `--schedule: unknown learning-rate schedule \`${v}\``, `use one of ${SCHEDULES.join(", ")} (a warm-up is --warmup, with any of them)`);
  return v;
}

function monitorName(v: string): string {
  if (!isMonitorName(v)) throw usage("NNC531", `--monitor: unknown metric \`${v}\``, `use one of ${Object.keys(MONITORS).join(", ")}`);
  return v;
}

function scheduleNumber(flag: string, test: (n: number) => boolean, want: string) {
  return (v: string): number => {
    const n = Number(v);
    if (v.trim() === "" || !Number.isFinite(n) || !test(n)) throw usage("NNC534", `${flag} expects ${want}, got \`${v}\``, "see `nnc train --help` and README.md (Learning-rate schedules)");
    return n;
  };
}

export function addFitOptions(cmd: Command): Command {
  return cmd
    .option("--no-shuffle", "feed the rows in file order (default: shuffled each epoch, by --seed)")
    .option("--validation <share>", "hold out the last share of the training rows (e.g. 0.1) and report loss and accuracy on them", share)
    .option("--monitor <metric>", "the metric best.nnck and --patience follow: val_loss, val_accuracy, test_loss, test_accuracy or loss (default: val_loss with --validation, else test_accuracy with a test set, else loss)", monitorName)
    .option("--patience <n>", "stop early after N evaluated epochs without improvement of --monitor", patience)
    .option("--schedule <name>", "learning-rate schedule: constant, step or cosine (default: the train statement's, else constant)", scheduleName)
    .option("--warmup <epochs>", "epochs of linear learning-rate warm-up before the schedule", scheduleNumber("--warmup", (n) => n >= 0, "a number of epochs from 0 up"))
    .option("--step-size <epochs>", "with --schedule step: epochs between two decays (default 10)", scheduleNumber("--step-size", (n) => Number.isInteger(n) && n >= 1, "a positive whole number of epochs"))
    .option("--gamma <x>", "with --schedule step: the factor of each decay (default 0.1)", scheduleNumber("--gamma", (n) => n > 0, "a factor above 0"));
}

/**
 * The schedule of the run: each part from the command line, else the train
 * statement, else its default; undefined for a constant rate without warm-up
 * (the module then keeps the rate it is given once).
 */
export function resolveSchedule(g: GradGraph, flags: FitFlags, epochs: number): Schedule | undefined {
  const file = g.train?.options;
  const sch: Schedule = {
    name: (flags.schedule as Schedule["name"] | undefined) ?? g.train?.schedule ?? SCHEDULE_DEFAULTS.name,
    warmup: flags.warmup ?? file?.get("warmup") ?? SCHEDULE_DEFAULTS.warmup,
    stepSize: flags.stepSize ?? file?.get("step_size") ?? SCHEDULE_DEFAULTS.stepSize,
    gamma: flags.gamma ?? file?.get("gamma") ?? SCHEDULE_DEFAULTS.gamma,
  };
  if (sch.name !== "step") {
    const given = flags.stepSize !== undefined ? "--step-size" : flags.gamma !== undefined ? "--gamma" : undefined;
    if (given) throw usage("NNC535", `${given} is read only by the step schedule, and this run's is ${sch.name}`, "add --schedule step, or drop " + given);
  }
  if (sch.warmup > epochs) throw usage("NNC534", `a warm-up of ${sch.warmup} epochs is longer than the run (${epochs} epochs)`, "shorten --warmup (or the train statement's warmup), or train for more --epochs");
  return sch.name === "constant" && sch.warmup === 0 ? undefined : sch;
}

/** The metric the run follows; NNC531 when it needs a validation split or test set the run does not have. */
export function resolveMonitor(flags: FitFlags, hasValidation: boolean, hasTest: boolean): MonitorName {
  if (flags.monitor === undefined) return defaultMonitor(hasValidation, hasTest);
  const monitor = flags.monitor as MonitorName;
  const needs = MONITORS[monitor].needs;
  if (needs === "validation" && !hasValidation) throw usage("NNC531", `--monitor ${monitor} needs a validation split, and this run has none`, "add --validation 0.1 (say), or monitor another metric");
  if (needs === "test" && !hasTest) throw usage("NNC531", `--monitor ${monitor} needs a test set, and this run's data have none`, "give --test-data, or monitor another metric (--validation makes val_loss and val_accuracy)");
  return monitor;
}

/** The validation split (--validation), checked to leave rows on both sides. */
export function withValidation(train: Dataset, share: number | undefined): { train: Dataset; validation?: Dataset } {
  if (share === undefined) return { train };
  const split = splitValidation(train, share);
  if (split.validation.rows === 0 || split.train.rows === 0) {
    const which = split.validation.rows === 0 ? "no row for validation" : "no row for training";
    throw usage("NNC530", `--validation ${share} of ${train.rows} training rows leaves ${which}`, "give a share that leaves at least one row on each side, or more data");
  }
  return split;
}
