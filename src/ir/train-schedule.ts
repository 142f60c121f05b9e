// The learning-rate schedule of a `train` statement: `schedule = "cosine"`,
// `warmup = 2` (epochs), and for "step" `step_size` and `gamma`. The numbers
// are kept with the statement's other options; the name apart, being the one
// option that is a string. src/train/schedule.ts computes the rates.
import type { DiagnosticBag } from "../diag/diagnostic.ts";
import { didYouMean } from "../diag/suggest.ts";
import type { Argument } from "../syntax/ast.ts";
import { isScheduleName, SCHEDULES, type ScheduleName } from "../train/schedule.ts";

/** The `train` options that shape the schedule; only "step" reads step_size and gamma. */
export const SCHEDULE_OPTIONS = ["schedule", "warmup", "step_size", "gamma"] as const;
const STEP_ONLY = ["step_size", "gamma"];

export const isScheduleOption = (key: string): boolean => (SCHEDULE_OPTIONS as readonly string[]).includes(key);

/** `schedule = "…"`: the name, or undefined after reporting it (NNC251 not a string, NNC250 unknown). */
export function readScheduleName(arg: Argument, bag: DiagnosticBag): ScheduleName | undefined {
  const v = arg.value;
  if (v.kind !== "string") {
    bag.error("NNC251", v.span, "`schedule` takes a name in quotes", { hint: `write one of ${SCHEDULES.map((s) => `"${s}"`).join(", ")}` });
    return undefined;
  }
  if (!isScheduleName(v.value)) {
    bag.error("NNC250", v.span, `unknown learning-rate schedule "${v.value}"`, { hint: didYouMean(v.value, [...SCHEDULES]) ?? `schedules: ${SCHEDULES.join(", ")}` });
    return undefined;
  }
  return v.value;
}

/** Whether a schedule option's number is valid (NNC253 otherwise): warmup ≥ 0 epochs, step_size a positive whole number of epochs, gamma > 0. */
export function checkScheduleNumber(key: string, v: number, arg: Argument, bag: DiagnosticBag): boolean {
  const ok = key === "warmup" ? v >= 0 : key === "step_size" ? Number.isInteger(v) && v >= 1 : v > 0;
  if (!ok) {
    const want = key === "warmup" ? "a non-negative number of epochs" : key === "step_size" ? "a positive whole number of epochs" : "a positive factor";
    bag.error("NNC253", arg.value.span, `\`${key}\` must be ${want}, got ${v}`);
  }
  return ok;
}

/** step_size or gamma given for a schedule that does not read them (NNC252). */
export function checkStepOnly(args: readonly Argument[], schedule: ScheduleName | undefined, bag: DiagnosticBag): boolean {
  if (schedule === "step") return true;
  let ok = true;
  for (const arg of args) {
    if (!arg.keyword || !STEP_ONLY.includes(arg.keyword.text)) continue;
    bag.error("NNC252", arg.keyword.span, `\`${arg.keyword.text}\` is read only by \`schedule = "step"\`, and this schedule is ${schedule === undefined ? "constant" : `"${schedule}"`}`, {
      hint: `add \`schedule = "step"\`, or remove \`${arg.keyword.text}\``,
    });
    ok = false;
  }
  return ok;
}
