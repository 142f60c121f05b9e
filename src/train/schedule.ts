// Learning-rate schedules of `nnc train`: a linear warm-up, then a constant,
// step or cosine rate. The rate is worked out per step by the training loop
// and handed to the module's trainStep in one options object reused every
// step, so a schedule costs no allocation. README.md ("Learning-rate
// schedules") states the formulas these functions compute.

export const SCHEDULES = ["constant", "step", "cosine"] as const;
export type ScheduleName = (typeof SCHEDULES)[number];

export interface Schedule {
  readonly name: ScheduleName;
  /** Epochs of linear warm-up before the schedule proper (0: none); may be fractional. */
  readonly warmup: number;
  /** step: epochs between two decays. */
  readonly stepSize: number;
  /** step: the factor of each decay. */
  readonly gamma: number;
}

export const SCHEDULE_DEFAULTS: Schedule = { name: "constant", warmup: 0, stepSize: 10, gamma: 0.1 };

export const isScheduleName = (s: string): s is ScheduleName => (SCHEDULES as readonly string[]).includes(s);

/**
 * The learning rate of step `s` (counted from 0 over the whole run, not the
 * epoch, so a resumed run continues the curve), with `perEpoch` steps in an
 * epoch and `epochs` epochs in the run:
 *   warm-up (s < W·S):  base · (s + 1) / (W·S)
 *   constant:           base
 *   step:               base · gamma^floor(e / step_size), e = floor(s / S) the epoch from 0
 *   cosine:             base · ½ · (1 + cos(π · (s − W·S) / (E·S − W·S)))
 */
export function scheduledLr(base: number, sch: Schedule, s: number, perEpoch: number, epochs: number): number {
  const warm = sch.warmup * perEpoch;
  if (s < warm) return (base * (s + 1)) / warm;
  switch (sch.name) {
    case "constant":
      return base;
    case "step":
      return base * sch.gamma ** Math.floor(Math.floor(s / perEpoch) / sch.stepSize);
    case "cosine": {
      const span = epochs * perEpoch - warm;
      return span > 0 ? base * 0.5 * (1 + Math.cos((Math.PI * Math.min(s - warm, span)) / span)) : base;
    }
  }
}

/** In words, for the line nnc train prints when it starts: `cosine after 2 epochs of warm-up`. */
export function describeSchedule(sch: Schedule): string {
  const name = sch.name === "step" ? `step (×${sch.gamma} every ${sch.stepSize} epoch${sch.stepSize === 1 ? "" : "s"})` : sch.name;
  return sch.warmup > 0 ? `${name} after ${sch.warmup} epoch${sch.warmup === 1 ? "" : "s"} of warm-up` : name;
}
