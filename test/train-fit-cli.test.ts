// The fit options of `nnc train` as a user runs them (issue 13): a bad value
// of each is a coded usage error before anything is written; a run with a
// validation split reports it in the progress line, the CSV, the JSON and the
// plot; --patience stops a run that no longer improves and says so; a
// shuffled, scheduled run that crashes resumes to the numbers of an
// uninterrupted one; --help lists every option.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseCheckpoint } from "../src/backend/cpu/runtime/checkpoint.ts";
import { scheduledLr } from "../src/train/schedule.ts";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-fit-"));

function nnc(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(dir, "cache"), ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const MODEL = join(dir, "tiny.nn");
const modelText = (train: string) => `model tiny
dim batch
input x: [batch, 4]
target y: [batch, 3]
param W0: [4, 8] = uniform(-0.5, 0.5)
param W1: [8, 3] = uniform(-0.5, 0.5)
p = softmax(tanh(x W0) W1)
output p
loss = cross_entropy(p, y)
train ${train}
`;
writeFileSync(MODEL, modelText("adam(lr = 0.05, batch = 5, epochs = 4)"));
const rows = Array.from({ length: 40 }, (_, i) => {
  const f = [Math.sin(i), Math.cos(3 * i), (i % 7) / 7, ((i * 13) % 11) / 11];
  return `${(i * 7) % 3},${f.map((v) => v.toFixed(4)).join(",")}`;
});
const CSV = join(dir, "data.csv");
writeFileSync(CSV, `label,a,b,c,d\n${rows.join("\n")}\n`);
const DATA = ["--data", CSV];

const csvRows = (out: string) => {
  const [head, ...body] = readFileSync(join(out, "metrics.csv"), "utf8").trim().split("\n");
  const names = head!.split(",");
  return body.map((l) => Object.fromEntries(l.split(",").map((v, i) => [names[i]!, v])));
};
const metricsJson = (out: string) => JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { best?: { epoch: number; monitor: string }; stoppedEarly?: number; metrics: Record<string, number>[] };

describe("a bad fit option is a coded usage error, and nothing is written", () => {
  const cases: [string[], string, RegExp][] = [
    [["--validation", "1.5"], "NNC530", /--validation expects a share .* got `1\.5`/],
    [["--validation", "0"], "NNC530", /got `0`/],
    [["--validation", "0.01"], "NNC530", /leaves no row for validation/],
    [["--patience", "-1"], "NNC532", /--patience expects a whole number .* got `-1`/],
    [["--patience", "2.5"], "NNC532", /got `2\.5`/],
    [["--schedule", "linear"], "NNC533", /unknown learning-rate schedule `linear`/],
    [["--warmup", "-1"], "NNC534", /--warmup expects/],
    [["--warmup", "9"], "NNC534", /warm-up of 9 epochs is longer than the run \(4 epochs\)/],
    [["--schedule", "step", "--step-size", "0"], "NNC534", /--step-size expects a positive whole number/],
    [["--schedule", "cosine", "--gamma", "0.5"], "NNC535", /--gamma is read only by the step schedule, and this run's is cosine/],
    [["--monitor", "accuracy"], "NNC531", /unknown metric `accuracy`/],
    [["--monitor", "val_loss"], "NNC531", /needs a validation split/],
    [["--monitor", "test_accuracy"], "NNC531", /needs a test set/],
  ];
  it.each(cases)("%j: %s", (flags, code, message) => {
    const out = join(dir, `bad-${code}-${flags.join("_")}`);
    const r = nnc(["train", MODEL, ...DATA, "--out", out, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`error[${code}]`);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).toContain("= help:");
    expect(existsSync(out)).toBe(false);
  });
});

describe("--validation, --monitor and --patience", () => {
  const out = join(dir, "val");
  // lr 0: the params never change, so val_accuracy cannot improve after epoch 1 and patience 1 stops the run after epoch 2.
  const r = nnc(["train", MODEL, ...DATA, "--out", out, "--validation", "0.25", "--monitor", "val_accuracy", "--patience", "1", "--lr", "0"]);

  it("reports the held-out rows beside train and test in the progress line", () => {
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("40 training rows (10 of them held out for validation), batch 5");
    expect(r.stdout).toMatch(/epoch 1\/4 {2}loss \S+ {2}train \S+ {2}val loss \S+ \S+%/);
  });

  it("stops early, says why, and best.nnck holds the monitored best", () => {
    expect(r.stdout).toContain("stopped early after epoch 2: val_accuracy has not improved for 1 evaluated epoch since epoch 1");
    expect(r.stdout).toMatch(/best\.nnck holds epoch 1 \(val_accuracy \d+\.\d\d%\)/);
    expect(r.stdout).not.toContain("epoch 3/4");
    const json = metricsJson(out);
    expect(json.stoppedEarly).toBe(2);
    expect(json.best).toEqual({ epoch: 1, monitor: "val_accuracy" });
    expect(json.metrics.map((m) => m["epoch"])).toEqual([1, 2]);
    expect(json.metrics[0]!["valAccuracy"]).toBe(json.metrics[1]!["valAccuracy"]);
  });

  it("writes the validation columns into the CSV and curves into the plot", () => {
    const csv = csvRows(out);
    expect(csv).toHaveLength(2);
    for (const row of csv) {
      expect(Number(row["val_loss"])).toBeGreaterThan(0);
      expect(Number(row["val_accuracy"])).toBeGreaterThanOrEqual(0);
      expect(row["test_accuracy"]).toBe("");
    }
    const svg = readFileSync(join(out, "metrics.svg"), "utf8");
    expect(svg).toContain("val accuracy");
    expect(svg.match(/stroke-dasharray="2 3" points=/g)).toHaveLength(2);
  });

  it("a resumed run that stopped early stays stopped while --patience is given", () => {
    const again = nnc(["train", MODEL, ...DATA, "--out", out, "--validation", "0.25", "--monitor", "val_accuracy", "--patience", "1", "--lr", "0", "--resume"]);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain("stopped early at epoch 2");
    expect(metricsJson(out).metrics).toHaveLength(2);
  });

  it("--resume refuses another validation share or shuffling, and says which", () => {
    const other = nnc(["train", MODEL, ...DATA, "--out", out, "--validation", "0.5", "--monitor", "val_accuracy", "--lr", "0", "--resume", "--no-shuffle"]);
    expect(other.code).toBe(1);
    expect(other.stderr).toContain("error[NNC512]");
    expect(other.stderr).toContain("the validation share was 0.25, now 0.5 (--validation)");
    expect(other.stderr).toContain("the run shuffled its rows each epoch, now it does not (--no-shuffle)");
  });
});

describe("shuffling and schedules through nnc train", () => {
  const shuffled = join(dir, "shuffled");
  const ordered = join(dir, "ordered");
  const a = nnc(["train", MODEL, ...DATA, "--out", shuffled]);
  const b = nnc(["train", MODEL, ...DATA, "--out", ordered, "--no-shuffle"]);

  it("shuffles by default, and --no-shuffle feeds the rows in file order (other numbers)", () => {
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    expect(b.stdout).toContain("rows in file order");
    expect(a.stdout).not.toContain("rows in file order");
    expect(csvRows(shuffled)[0]!["loss"]).not.toBe(csvRows(ordered)[0]!["loss"]);
  });

  it("takes the schedule from the train statement, the command line winning, and logs each epoch's rate", () => {
    const file = join(dir, "scheduled.nn");
    writeFileSync(file, modelText(`adam(lr = 0.05, batch = 5, epochs = 4, schedule = "step", step_size = 1, gamma = 0.5)`));
    const fromFile = nnc(["train", file, ...DATA, "--out", join(dir, "step")]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain("step (×0.5 every 1 epoch)");
    expect(csvRows(join(dir, "step")).map((row) => Number(row["lr"]))).toEqual([0.05, 0.025, 0.0125, 0.00625]);
    const fromCli = nnc(["train", file, ...DATA, "--out", join(dir, "cos"), "--schedule", "cosine", "--warmup", "1"]);
    expect(fromCli.code).toBe(0);
    expect(fromCli.stdout).toContain("cosine after 1 epoch of warm-up");
    // 40 rows in batches of 5: 8 steps an epoch; each epoch logs its last step's rate.
    const want = [7, 15, 23, 31].map((s) => scheduledLr(0.05, { name: "cosine", warmup: 1, stepSize: 10, gamma: 0.1 }, s, 8, 4));
    csvRows(join(dir, "cos")).forEach((row, i) => expect(Number(row["lr"])).toBeCloseTo(want[i]!, 12));
  });

  it("a shuffled, scheduled run with a validation split that crashes resumes to the numbers of an uninterrupted one", () => {
    const flags = ["--validation", "0.2", "--schedule", "cosine", "--warmup", "1"];
    const full = join(dir, "full");
    expect(nnc(["train", MODEL, ...DATA, "--out", full, ...flags]).code).toBe(0);
    const crashed = join(dir, "crashed");
    // Renames: model.ts, then per epoch checkpoint.nnck, best.nnck when best, and the three metrics files: 9 is within epoch 2.
    expect(nnc(["train", MODEL, ...DATA, "--out", crashed, ...flags], { NNC_TEST_EXIT_AFTER_RENAME: "9" }).code).toBe(75);
    const before = metricsJson(crashed).metrics.length;
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(4);
    const resumed = nnc(["train", MODEL, ...DATA, "--out", crashed, ...flags, "--resume"]);
    expect(resumed.stderr).toBe("");
    expect(resumed.code).toBe(0);
    const numbers = (out: string) => metricsJson(out).metrics.map(({ samplesPerSecond: _s, seconds: _t, ...m }) => m);
    expect(numbers(crashed)).toEqual(numbers(full));
    const tensors = (out: string) => {
      const { data } = parseCheckpoint(readFileSync(join(out, "checkpoint.nnck")));
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex");
    };
    expect(tensors(crashed)).toBe(tensors(full));
  });
});

const gpu = await webgpuDevice();
describe.skipIf(typeof gpu === "string" && !REQUIRED)("on WebGPU", () => {
  it("a shuffled, scheduled run with a validation split and a tail batch gets the CPU's numbers", { timeout: 300_000 }, () => {
    expect(gpu, `no WebGPU device; to run this without a GPU: ${SETUP_COMMAND}`).not.toBeTypeOf("string");
    // 32 training rows in batches of 6: five whole batches and a tail of 2, whose step carries the optimizer state across.
    const flags = [...DATA, "--validation", "0.2", "--batch", "6", "--schedule", "cosine", "--warmup", "1", "--epochs", "3"];
    const cpu = nnc(["train", MODEL, ...flags, "--out", join(dir, "fit-cpu")]);
    const webgpu = nnc(["train", MODEL, ...flags, "--target", "webgpu", "--out", join(dir, "fit-gpu")]);
    expect(cpu.code).toBe(0);
    expect(webgpu.stderr).toBe("");
    expect(webgpu.code).toBe(0);
    const a = metricsJson(join(dir, "fit-cpu")).metrics;
    const b = metricsJson(join(dir, "fit-gpu")).metrics;
    expect(b.map((m) => m["lr"])).toEqual(a.map((m) => m["lr"]));
    a.forEach((m, i) => {
      expect(b[i]!["loss"]).toBeCloseTo(m["loss"]!, 5);
      expect(b[i]!["valLoss"]).toBeCloseTo(m["valLoss"]!, 5);
      expect(b[i]!["valAccuracy"]).toBe(m["valAccuracy"]);
    });
  });
});
if (typeof gpu === "string" && !REQUIRED) console.warn(`nnc train --target webgpu (fit options) skipped: ${gpu}. To run it without a GPU: ${SETUP_COMMAND}`);

describe("--help", () => {
  it("lists every fit option of nnc train", () => {
    const r = nnc(["train", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of ["--no-shuffle", "--validation <share>", "--monitor <metric>", "--patience <n>", "--schedule <name>", "--warmup <epochs>", "--step-size <epochs>", "--gamma <x>"]) expect(r.stdout).toContain(flag);
  });
});
