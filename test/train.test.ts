// `nnc train`, `nnc eval` and `nnc predict` as a user runs them, on the real
// bundled MNIST (a few hundred rows, so each run takes seconds): the files a
// run leaves, --resume, the refusal of a checkpoint whose shapes changed, the
// NaN watch keeping the last good checkpoint, and clear errors for bad data.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REQUIRED, SETUP_COMMAND, webgpuDevice } from "./webgpu-device.ts";
import { parseCheckpoint } from "../src/backend/cpu/runtime/checkpoint.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-train-"));

/** The JSON header of a checkpoint, read as docs/checkpoint.md describes the format. */
function readCheckpointHeader(bytes: Uint8Array): { model: string; tensors: { name: string; shape: number[] }[]; train: { epoch: number } } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("NNCK");
  expect(view.getUint32(4, true)).toBe(2);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + view.getUint32(8, true))));
}

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

function model(name: string, hidden: number): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `model small
dim batch
dim hidden = ${hidden}
input  l0: [batch, 784]
target y:  [batch, 10]
param W0: [784, hidden] = uniform(-0.1, 0.1)
param W1: [hidden, 10]  = uniform(-0.1, 0.1)
l1 = relu(l0 W0)
l2 = l1 W1
output l2
loss = sum((l2 - y)^2) / (2 * batch)
train sgd(lr = 0.005, batch = 1, epochs = 2)
`,
  );
  return path;
}

const SMALL = model("small.nn", 32);
const OUT = join(dir, "run");
const ARGS = ["--limit", "300", "--out", OUT];

describe("nnc train on the bundled MNIST", () => {
  const first = nnc("train", SMALL, ...ARGS);

  it("trains, reports every epoch and learns", () => {
    expect(first.stderr).toBe("");
    expect(first.code).toBe(0);
    expect(first.stdout).toContain("300 training rows, 10000 test rows, batch 1, 2 epochs");
    expect(first.stdout).toMatch(/epoch 1\/2 {2}loss [\d.]+ {2}train +[\d.]+% {2}test +[\d.]+%/);
    const final = /done in .*: test accuracy ([\d.]+)%/.exec(first.stdout);
    expect(final).not.toBeNull();
    // 300 images, two passes (53% with seed 1): far above the 10% of guessing.
    expect(Number(final![1])).toBeGreaterThan(40);
  });

  it("writes a checkpoint, metrics as CSV and JSON, a plot and the module", () => {
    const csv = readFileSync(join(OUT, "metrics.csv"), "utf8").trim().split("\n");
    expect(csv[0]).toBe("epoch,loss,train_accuracy,val_loss,val_accuracy,test_loss,test_accuracy,lr,samples_per_second,seconds");
    expect(csv.slice(1).map((l) => l.split(",")[0])).toEqual(["1", "2"]);
    const json = JSON.parse(readFileSync(join(OUT, "metrics.json"), "utf8")) as { model: string; metrics: { epoch: number; testAccuracy: number }[] };
    expect(json.model).toBe("small");
    expect(json.metrics.map((m) => m.epoch)).toEqual([1, 2]);
    expect(json.metrics[1]!.testAccuracy).toBeGreaterThan(0.4);
    const svg = readFileSync(join(OUT, "metrics.svg"), "utf8");
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("<polyline");
    expect(readFileSync(join(OUT, "model.ts"), "utf8")).toContain("export function createModel");
    const header = readCheckpointHeader(readFileSync(join(OUT, "checkpoint.nnck")));
    expect(header.model).toBe("small");
    expect(header.tensors.filter((t) => t.name.startsWith("param/")).map((t) => [t.name, t.shape])).toEqual([
      ["param/W0", [784, 32]],
      ["param/W1", [32, 10]],
    ]);
    // The training state travels inside the checkpoint, so the two can never disagree.
    expect(header.train.epoch).toBe(2);
    expect(existsSync(join(OUT, "train-state.json"))).toBe(false);
  });

  it("--resume continues from the checkpoint's epoch", () => {
    const r = nnc("train", SMALL, ...ARGS, "--resume", "--epochs", "3");
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(/epoch 1\/3/);
    expect(r.stdout).toMatch(/epoch 3\/3/);
    const csv = readFileSync(join(OUT, "metrics.csv"), "utf8").trim().split("\n");
    expect(csv.slice(1).map((l) => l.split(",")[0])).toEqual(["1", "2", "3"]);
  });

  it("--resume refuses a checkpoint whose shapes changed, and leaves it alone", () => {
    const before = readFileSync(join(OUT, "checkpoint.nnck"));
    const r = nnc("train", model("wider.nn", 48), ...ARGS, "--resume", "--epochs", "4");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC512\].*graph differs.*nothing was written/);
    expect(readFileSync(join(OUT, "checkpoint.nnck")).equals(before)).toBe(true);
  });

  it("stops on a non-finite loss, naming it, and keeps the last good checkpoint", () => {
    const before = readFileSync(join(OUT, "checkpoint.nnck"));
    const r = nnc("train", SMALL, ...ARGS, "--resume", "--epochs", "5", "--lr", "1e30");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC506\]: training stopped in epoch 4, step \d+: .*(Infinity|NaN)/);
    expect(r.stderr).toContain("the last good checkpoint (epoch 3)");
    expect(readFileSync(join(OUT, "checkpoint.nnck")).equals(before)).toBe(true);
  });

  it("evaluates and predicts with the checkpoint", () => {
    const ev = nnc("eval", SMALL, "--checkpoint", join(OUT, "checkpoint.nnck"));
    expect(ev.code).toBe(0);
    expect(ev.stdout).toMatch(/small on mnist \(test set, 10000 rows\): loss [\d.]+, accuracy [\d.]+%/);
    const pr = nnc("predict", SMALL, "--checkpoint", join(OUT, "checkpoint.nnck"), "--count", "3");
    expect(pr.code).toBe(0);
    const lines = pr.stdout.trim().split("\n");
    expect(lines[0]).toMatch(/row +predicted +expected +confidence/);
    expect(lines).toHaveLength(4);
    // The first test image of MNIST is a 7.
    expect(lines[1]).toMatch(/^ +0 +\d +7 /);
  });
});

/** A little-endian .npy file (version 1.0) of float32 or uint8 values. */
function npy(path: string, descr: "<f4" | "|u1", shape: number[], values: number[]): string {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  header += " ".repeat(63 - ((10 + header.length) % 64)) + "\n";
  const body = descr === "<f4" ? new Uint8Array(Float32Array.from(values).buffer) : Uint8Array.from(values);
  const head = new Uint8Array(10);
  head.set([0x93, ...Buffer.from("NUMPY"), 1, 0]);
  new DataView(head.buffer).setUint16(8, header.length, true);
  writeFileSync(path, Buffer.concat([head, Buffer.from(header, "latin1"), body]));
  return path;
}

describe("nnc train on data of your own", () => {
  it("reads NPY features with --labels and a test set with --test-data/--test-labels", () => {
    const rows = 20;
    const pixels = Array.from({ length: rows * 784 }, (_, i) => ((i * 37) % 256) / 255);
    const labels = Array.from({ length: rows }, (_, i) => i % 10);
    const x = npy(join(dir, "x.npy"), "<f4", [rows, 784], pixels);
    const y = npy(join(dir, "y.npy"), "|u1", [rows], labels);
    const r = nnc("train", SMALL, "--data", x, "--labels", y, "--test-data", x, "--test-labels", y, "--no-normalize", "--epochs", "1", "--out", join(dir, "npy"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("20 training rows, 20 test rows");
  });
});

describe("nnc train --threads", () => {
  it("shares the large products with a helper thread and gets the numbers of one thread, bit for bit", () => {
    // Batch 100: the first layer's products (100 × 32 × 784) are large enough to be split.
    const args = ["--limit", "300", "--batch", "100", "--epochs", "2"];
    const one = nnc("train", SMALL, ...args, "--out", join(dir, "one-thread"));
    const two = nnc("train", SMALL, ...args, "--threads", "2", "--out", join(dir, "two-threads"));
    expect(two.stderr).toBe("");
    expect([one.code, two.code]).toEqual([0, 0]);
    expect(two.stdout).toContain("batch 100, 2 epochs, sgd lr 0.005, 2 threads");
    expect(one.stdout).not.toContain("threads");
    const read = (run: string, file: string) => readFileSync(join(dir, run, file));
    // The tensors, bit for bit (the header's training state holds timings, which differ).
    const tensors = (run: string) => {
      const { data } = parseCheckpoint(read(run, "checkpoint.nnck"));
      return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    };
    expect(tensors("two-threads").equals(tensors("one-thread"))).toBe(true);
    const losses = (run: string) => (JSON.parse(read(run, "metrics.json").toString("utf8")) as { metrics: { loss: number; testLoss: number }[] }).metrics.map((m) => [m.loss, m.testLoss]);
    expect(losses("two-threads")).toEqual(losses("one-thread"));
  });

  it("is for the CPU target only", () => {
    const r = nnc("train", SMALL, "--limit", "10", "--threads", "2", "--target", "webgpu", "--out", join(dir, "gpu-threads"));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--threads is for --target cpu");
  });
});

const gpu = await webgpuDevice();
describe.skipIf(typeof gpu === "string" && !REQUIRED)("nnc train --target webgpu", () => {
  it("trains to the CPU's numbers, and its checkpoint evaluates on the CPU", () => {
    expect(gpu, `no WebGPU device; to run this without a GPU: ${SETUP_COMMAND}`).not.toBeTypeOf("string");
    const rows = 40;
    const x = npy(join(dir, "gx.npy"), "<f4", [rows, 784], Array.from({ length: rows * 784 }, (_, i) => ((i * 53) % 256) / 255));
    const y = npy(join(dir, "gy.npy"), "|u1", [rows], Array.from({ length: rows }, (_, i) => (i * 7) % 10));
    const data = ["--data", x, "--labels", y, "--test-data", x, "--test-labels", y, "--no-normalize", "--epochs", "2", "--batch", "8"];
    const cpu = nnc("train", SMALL, ...data, "--out", join(dir, "on-cpu"));
    const gpuRun = nnc("train", SMALL, ...data, "--target", "webgpu", "--out", join(dir, "on-gpu"));
    expect(gpuRun.stderr).toBe("");
    expect(gpuRun.code).toBe(0);
    expect(gpuRun.stdout).toMatch(/on WebGPU \(.+\)/);
    const metrics = (run: string) => (JSON.parse(readFileSync(join(dir, run, "metrics.json"), "utf8")) as { metrics: { loss: number; testLoss: number }[] }).metrics;
    expect(cpu.code).toBe(0);
    metrics("on-gpu").forEach((m, i) => {
      const c = metrics("on-cpu")[i]!;
      expect(Math.abs(m.loss - c.loss) / c.loss).toBeLessThan(1e-4);
      expect(Math.abs(m.testLoss - c.testLoss) / c.testLoss).toBeLessThan(1e-4);
    });
    const ev = nnc("eval", SMALL, "--checkpoint", join(dir, "on-gpu", "checkpoint.nnck"), "--data", x, "--labels", y, "--test-data", x, "--test-labels", y, "--no-normalize");
    expect(ev.code).toBe(0);
    expect(ev.stdout).toContain("test set, 40 rows");
  });
});
if (typeof gpu === "string" && !REQUIRED) console.warn(`nnc train --target webgpu skipped: ${gpu}. To run it without a GPU: ${SETUP_COMMAND}`);

describe("nnc train: bad input", () => {
  it("--resume without a checkpoint is a usage error", () => {
    const r = nnc("train", SMALL, "--limit", "10", "--out", join(dir, "empty"), "--resume");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("holds no checkpoint");
  });

  it("a truncated IDX file names the file", () => {
    const data = join(dir, "truncated");
    mkdirSync(data, { recursive: true });
    const images = new Uint8Array(16 + 784 * 2);
    new DataView(images.buffer).setUint32(0, 0x0803);
    new DataView(images.buffer).setUint32(4, 3); // says 3 images, holds 2
    new DataView(images.buffer).setUint32(8, 28);
    new DataView(images.buffer).setUint32(12, 28);
    const labels = new Uint8Array(8 + 3);
    new DataView(labels.buffer).setUint32(0, 0x0801);
    new DataView(labels.buffer).setUint32(4, 3);
    writeFileSync(join(data, "train-images-idx3-ubyte"), images);
    writeFileSync(join(data, "train-labels-idx1-ubyte"), labels);
    const r = nnc("train", SMALL, "--data", data, "--out", join(dir, "t"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC503\].*train-images-idx3-ubyte/);
    expect(existsSync(join(dir, "t", "checkpoint.nnck"))).toBe(false);
  });

  it("a CSV row of the wrong width names the file and line", () => {
    const csv = join(dir, "bad.csv");
    writeFileSync(csv, `label,${Array.from({ length: 784 }, (_, i) => `p${i}`).join(",")}\n3,${"0,".repeat(783)}0\n4,1,2\n`);
    const r = nnc("train", SMALL, "--data", csv, "--out", join(dir, "c"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC50\d\].*bad\.csv.*(line 3|:3)/);
  });

  it("a source with errors is reported like nnc check", () => {
    const bad = join(dir, "bad.nn");
    writeFileSync(bad, "dim batch\ninput x: [batch, 3]\ny = rleu(x)\noutput y\n");
    const r = nnc("train", bad, "--out", join(dir, "b"));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.nn:3:5/);
  });
});
