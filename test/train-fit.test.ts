// The training features users expect from fit (issue 13), below the CLI:
// the per-epoch shuffle (seeded, and the same after a resume), the
// validation split, early stopping's count, the learning-rate schedules'
// formulas and the rate reaching every trainStep in one reused object, and the
// schedule options of the `train` statement.
import { describe, expect, it } from "vitest";
import type { Dataset } from "../src/data/dataset.ts";
import { runGrad } from "../src/pipeline.ts";
import { epochOrder, Gatherer, splitValidation } from "../src/train/batches.ts";
import { bestScore, defaultMonitor, patienceRunOut, type EpochMetrics } from "../src/train/files.ts";
import { resolveSchedule } from "../src/train/fit-options.ts";
import { trainLoop, type LoopOptions, type TrainableModel } from "../src/train/loop.ts";
import { scheduledLr, SCHEDULE_DEFAULTS, type Schedule } from "../src/train/schedule.ts";
import { codes, frontEnd, rendered } from "./helpers.ts";

/** Rows 0…n-1: x holds the row's number twice, y one value. */
function numbered(n: number): Dataset {
  const x = new Float32Array(2 * n);
  const y = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    x[2 * r] = r;
    x[2 * r + 1] = r;
    y[r] = r % 2;
  }
  return { rows: n, columns: new Map<string, Float32Array>([["x", x], ["y", y]]) };
}

interface Seen {
  epochRows: number[][];
  lrs: number[];
  options: Set<unknown>;
}

/** A model that records what each trainStep receives: the rows of its batch (by x's first value), the lr and the options object. */
function spy(seen: Seen, epochOf: () => number): TrainableModel {
  let step = 0;
  return {
    get step() {
      return step;
    },
    forward: (inputs) => ({ p: new Float32Array((inputs["x"] as Float32Array).length / 2) }),
    loss: () => 0.5,
    trainStep(batch, options) {
      const x = batch["x"] as Float32Array;
      for (let i = 0; i < x.length; i += 2) (seen.epochRows[epochOf()] ??= []).push(x[i]!);
      seen.lrs.push(options!["lr"] as number);
      seen.options.add(options);
      step++;
      return 1 / step;
    },
    getParams: () => ({}),
    setParams: () => undefined,
    saveCheckpoint: () => new Uint8Array(),
    loadCheckpoint: () => undefined,
  };
}

function options(epochs: number, batch: number, extra: Partial<LoopOptions> = {}): LoopOptions {
  return { epochs, batch, startEpoch: 0, evalEvery: 1, trainOptions: { lr: 0.1 }, inputs: ["x"], targets: ["y"], output: "p", ...extra };
}

async function run(data: Dataset, o: LoopOptions): Promise<{ seen: Seen; history: EpochMetrics[] }> {
  const seen: Seen = { epochRows: [], lrs: [], options: new Set() };
  let epoch = o.startEpoch + 1;
  const model = spy(seen, () => epoch);
  const history = await trainLoop(() => model, data, undefined, o, { onStep: (e) => void (epoch = e), onEpoch: (m) => void (epoch = m.epoch + 1) }, model);
  return { seen, history };
}

describe("shuffling", () => {
  it("feeds every row once per epoch, in an order that changes with the epoch and the seed", async () => {
    const data = numbered(10);
    const { seen } = await run(data, options(3, 4, { shuffle: 7, startEpoch: 0 }));
    const all = Array.from({ length: 10 }, (_, i) => i);
    for (const e of [1, 2, 3]) expect([...seen.epochRows[e]!].sort((a, b) => a - b)).toEqual(all);
    expect(seen.epochRows[1]).not.toEqual(all);
    expect(seen.epochRows[1]).not.toEqual(seen.epochRows[2]);
    const other = await run(data, options(1, 4, { shuffle: 8 }));
    expect(other.seen.epochRows[1]).not.toEqual(seen.epochRows[1]);
  });

  it("is the same run after run for a seed, and a resumed run draws the orders an uninterrupted one does", async () => {
    const data = numbered(9);
    const full = await run(data, options(4, 2, { shuffle: 3 }));
    const again = await run(data, options(4, 2, { shuffle: 3 }));
    expect(again.seen.epochRows).toEqual(full.seen.epochRows);
    const resumed = await run(data, options(4, 2, { shuffle: 3, startEpoch: 2 }));
    expect(resumed.seen.epochRows.slice(3)).toEqual(full.seen.epochRows.slice(3));
  });

  it("keeps file order without a seed (--no-shuffle)", async () => {
    const { seen } = await run(numbered(5), options(2, 2));
    expect(seen.epochRows[1]).toEqual([0, 1, 2, 3, 4]);
    expect(seen.epochRows[2]).toEqual([0, 1, 2, 3, 4]);
  });

  it("epochOrder is a permutation, fixed by seed and epoch", () => {
    const a = epochOrder(new Uint32Array(50), 1, 5);
    expect([...a].sort((p, q) => p - q)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...epochOrder(new Uint32Array(50), 1, 5)]).toEqual([...a]);
    expect([...epochOrder(new Uint32Array(50), 1, 6)]).not.toEqual([...a]);
    expect([...epochOrder(new Uint32Array(4), undefined, 5)]).toEqual([0, 1, 2, 3]);
  });

  it("gathers rows into one buffer per column, reused every call", () => {
    const data = numbered(6);
    const g = new Gatherer(data, ["x", "y"], 2);
    const order = Uint32Array.from([5, 2, 0, 1, 3, 4]);
    const first = g.gather(order, 0);
    expect([...(first["x"] as Float32Array)]).toEqual([5, 5, 2, 2]);
    const xs = first["x"];
    const second = g.gather(order, 2);
    expect(second["x"]).toBe(xs);
    expect([...(second["x"] as Float32Array)]).toEqual([0, 0, 1, 1]);
    expect([...(second["y"] as Float32Array)]).toEqual([0, 1]);
  });
});

describe("the validation split", () => {
  it("holds out the last share of the rows, before any shuffling", () => {
    const { train, validation } = splitValidation(numbered(10), 0.2);
    expect(train.rows).toBe(8);
    expect(validation.rows).toBe(2);
    expect([...validation.columns.get("x")!]).toEqual([8, 8, 9, 9]);
    expect([...train.columns.get("y")!]).toEqual([0, 1, 0, 1, 0, 1, 0, 1]);
  });

  it("is never trained on: a shuffled run sees only the training rows", async () => {
    const { train, validation } = splitValidation(numbered(10), 0.3);
    const { seen } = await run(train, options(2, 3, { shuffle: 1, validation }));
    expect([...seen.epochRows[1]!].sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it("is evaluated beside the training set: its loss and accuracy in the epoch's metrics", async () => {
    const { train, validation } = splitValidation(numbered(10), 0.5);
    const { history } = await run(train, options(1, 5, { validation }));
    expect(history[0]!.valLoss).toBe(0.5);
    // The spy predicts 0 for every row, whose target is its row number mod 2: rows 5…9 hold three 1s.
    expect(history[0]!.valAccuracy).toBeCloseTo(2 / 5, 12);
  });
});

describe("monitoring and early stopping", () => {
  const m = (epoch: number, fields: Partial<EpochMetrics>): EpochMetrics => ({ epoch, loss: 1, samplesPerSecond: 1, seconds: 1, ...fields });

  it("scores losses lower-is-better and accuracies higher-is-better", () => {
    expect(bestScore(m(1, { valLoss: 0.3 }), "val_loss")).toBe(-0.3);
    expect(bestScore(m(1, { valAccuracy: 0.9 }), "val_accuracy")).toBe(0.9);
    expect(bestScore(m(1, {}), "val_accuracy")).toBeUndefined();
    expect(defaultMonitor(true, true)).toBe("val_loss");
    expect(defaultMonitor(false, true)).toBe("test_accuracy");
    expect(defaultMonitor(false, false)).toBe("loss");
  });

  it("stops after `patience` evaluated epochs without improvement, counting only evaluated ones", () => {
    const history = [m(1, { valLoss: 0.5 }), m(2, {}), m(3, { valLoss: 0.6 }), m(4, { valLoss: 0.55 })];
    const best = { epoch: 1 };
    expect(patienceRunOut(history.slice(0, 3), "val_loss", best, 2)).toBe(false);
    expect(patienceRunOut(history, "val_loss", best, 2)).toBe(true);
    expect(patienceRunOut(history, "val_loss", best, 3)).toBe(false);
    expect(patienceRunOut(history.slice(0, 1), "val_loss", best, 0)).toBe(false);
    expect(patienceRunOut(history.slice(0, 3), "val_loss", best, 0)).toBe(true);
  });

  it("ends the loop when onEpoch says stop", async () => {
    const model = spy({ epochRows: [], lrs: [], options: new Set() }, () => 0);
    const history = await trainLoop(() => model, numbered(4), undefined, options(10, 2), { onEpoch: (e) => (e.epoch === 3 ? "stop" : undefined) }, model);
    expect(history.map((e) => e.epoch)).toEqual([1, 2, 3]);
  });
});

describe("learning-rate schedules", () => {
  const sch = (s: Partial<Schedule>): Schedule => ({ ...SCHEDULE_DEFAULTS, ...s });

  it("warm up linearly, then follow the schedule", () => {
    // 2 epochs of 5 steps warm-up: steps 0…9 at 0.1·(s+1)/10.
    const warm = sch({ name: "constant", warmup: 2 });
    expect(scheduledLr(0.1, warm, 0, 5, 10)).toBeCloseTo(0.01, 15);
    expect(scheduledLr(0.1, warm, 4, 5, 10)).toBeCloseTo(0.05, 15);
    expect(scheduledLr(0.1, warm, 9, 5, 10)).toBeCloseTo(0.1, 15);
    expect(scheduledLr(0.1, warm, 30, 5, 10)).toBe(0.1);
  });

  it("cosine falls from the rate to 0 over the steps after the warm-up", () => {
    const cos = sch({ name: "cosine", warmup: 2 });
    // 10 epochs of 5 steps; the cosine spans steps 10…50.
    expect(scheduledLr(1, cos, 10, 5, 10)).toBe(1);
    expect(scheduledLr(1, cos, 30, 5, 10)).toBeCloseTo(0.5, 12);
    expect(scheduledLr(1, cos, 20, 5, 10)).toBeCloseTo(0.5 * (1 + Math.SQRT1_2), 12);
    expect(scheduledLr(1, cos, 50, 5, 10)).toBeCloseTo(0, 12);
  });

  it("step multiplies by gamma every step_size epochs", () => {
    const step = sch({ name: "step", stepSize: 3, gamma: 0.5 });
    expect([0, 14, 15, 29, 30, 45].map((s) => scheduledLr(0.8, step, s, 5, 20))).toEqual([0.8, 0.8, 0.4, 0.4, 0.2, 0.1]);
  });

  it("reaches every trainStep through one options object, the rate counted over the whole run (and after a resume)", async () => {
    const schedule = { base: 0.2, schedule: sch({ name: "cosine", warmup: 1 }) };
    // 5 rows in batches of 2: two whole batches and a tail, 3 steps an epoch.
    const full = await run(numbered(5), options(3, 2, { schedule, trainOptions: {} }));
    // One object for every step: the schedule sets its lr, nothing is made per step.
    expect(full.seen.options.size).toBe(1);
    const want = Array.from({ length: 9 }, (_, s) => scheduledLr(0.2, schedule.schedule, s, 3, 3));
    expect(full.seen.lrs).toEqual(want);
    expect(full.history.map((e) => e.lr)).toEqual([want[2], want[5], want[8]]);
    const resumed = await run(numbered(5), options(3, 2, { schedule, trainOptions: {}, startEpoch: 1 }));
    expect(resumed.seen.lrs).toEqual(want.slice(3));
  });
});

describe("the train statement's schedule", () => {
  const model = (train: string) => `dim batch\ninput x: [batch, 2]\ntarget y: [batch, 1]\nparam W: [2, 1]\np = sigmoid(x W)\noutput p\nloss = mse(p, y)\ntrain ${train}\n`;
  const graph = (train: string) => {
    const r = runGrad("m.nn", model(train));
    if (!r.grad) throw new Error(rendered(r));
    return r.grad;
  };

  it("is read from the statement, and each part given on the command line wins", () => {
    const g = graph(`adam(lr = 1e-3, schedule = "step", warmup = 1, step_size = 2, gamma = 0.5, epochs = 8)`);
    expect(g.train?.schedule).toBe("step");
    expect(resolveSchedule(g, { shuffle: true }, 8)).toEqual({ name: "step", warmup: 1, stepSize: 2, gamma: 0.5 });
    expect(resolveSchedule(g, { shuffle: true, schedule: "cosine", warmup: 0 }, 8)).toEqual({ name: "cosine", warmup: 0, stepSize: 2, gamma: 0.5 });
    expect(resolveSchedule(graph("sgd(lr = 0.1)"), { shuffle: true }, 8)).toBeUndefined();
  });

  it("refuses an unknown schedule, a bare name, an option the schedule does not read and a value out of range", () => {
    expect(codes(frontEnd(model(`sgd(schedule = "cosin")`)))).toEqual(["NNC250"]);
    expect(codes(frontEnd(model(`sgd(schedule = cosine)`)))).toEqual(["NNC251"]);
    expect(codes(frontEnd(model(`sgd(schedule = "cosine", step_size = 2)`)))).toEqual(["NNC252"]);
    expect(codes(frontEnd(model(`sgd(gamma = 0.5)`)))).toEqual(["NNC252"]);
    expect(codes(frontEnd(model(`sgd(schedule = "step", step_size = 1.5)`)))).toEqual(["NNC253"]);
    expect(codes(frontEnd(model(`sgd(schedule = "step", gamma = 0)`)))).toEqual(["NNC253"]);
    expect(codes(frontEnd(model(`sgd(warmup = -2)`)))).toEqual(["NNC253"]);
    expect(codes(frontEnd(model(`sgd(schedule = "cosine", schedule = "step")`)))).toEqual(["NNC219"]);
  });
});
