// Trained work is never lost or trusted blindly (issue 17, parts 4 and 7):
// a crash between any two of nnc train's renames resumes to exactly the
// numbers of an uninterrupted run; --out holding a checkpoint is refused
// without --resume or --overwrite; a refused --resume writes nothing and
// says what differs; best.nnck is kept apart from the last checkpoint.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { encodeCheckpoint, parseCheckpoint } from "../src/backend/cpu/runtime/checkpoint.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-resume-"));

function nnc(args: string[], env: Record<string, string> = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(dir, "cache"), ...env } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** nnc run without waiting, so that the crash runs share the cores. */
function nncAsync(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: "1", XDG_CACHE_HOME: join(dir, "cache"), ...env }, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("close", (code) => done({ code: code ?? -1, stderr }));
  });
}

/** `f` over every item, at most `n` at a time. */
async function pool<T, R>(items: readonly T[], n: number, f: (t: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await f(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: n }, worker));
  return results;
}

function model(name: string, activation: string, train = "adam(lr = 0.05, batch = 5, epochs = 2)"): string {
  const path = join(dir, name);
  writeFileSync(
    path,
    `model tiny
dim batch
input x: [batch, 4]
target y: [batch, 3]
param W0: [4, 8] = uniform(-0.5, 0.5)
param W1: [8, 3] = uniform(-0.5, 0.5)
h = ${activation}(x W0)
p = softmax(h W1)
output p
loss = cross_entropy(p, y)
train ${train}
`,
  );
  return path;
}

const TANH = model("tiny.nn", "tanh");
const rows = Array.from({ length: 40 }, (_, i) => {
  const f = [Math.sin(i), Math.cos(3 * i), (i % 7) / 7, ((i * 13) % 11) / 11];
  return `${(i * 7) % 3},${f.map((v) => v.toFixed(4)).join(",")}`;
});
const CSV = join(dir, "data.csv");
writeFileSync(CSV, `label,a,b,c,d\n${rows.join("\n")}\n`);
const OTHER_CSV = join(dir, "other.csv");
writeFileSync(OTHER_CSV, `label,a,b,c,d\n${rows.reverse().join("\n")}\n`);
const DATA = ["--data", CSV, "--test-data", CSV];

/** What must come out the same: the tensors of both checkpoints, and every metric but the timings. */
function outcome(out: string) {
  const tensors = (f: string) => {
    const { data } = parseCheckpoint(readFileSync(join(out, f)));
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("hex");
  };
  const metrics = (JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { metrics: Record<string, number>[] }).metrics.map(({ samplesPerSecond: _s, seconds: _t, ...m }) => m);
  const csvEpochs = readFileSync(join(out, "metrics.csv"), "utf8").trim().split("\n").slice(1).map((l) => l.split(",").slice(0, 5).join(","));
  return { checkpoint: tensors("checkpoint.nnck"), best: tensors("best.nnck"), metrics, csvEpochs };
}

/** Every file of a directory with its bytes, to show that a refused command wrote nothing. */
function snapshot(out: string): Record<string, string> {
  return Object.fromEntries(readdirSync(out).map((f) => [f, readFileSync(join(out, f)).toString("hex")]));
}

describe("a crash between any two renames", () => {
  const full = join(dir, "full");
  const reference = nnc(["train", TANH, ...DATA, "--out", full]);

  it("resumes to the numbers of an uninterrupted run", { timeout: 600_000 }, async () => {
    expect(reference.stderr).toBe("");
    expect(reference.code).toBe(0);
    const want = outcome(full);
    // model.ts, then per epoch checkpoint.nnck, best.nnck (when best) and the three metrics files.
    const epochs = want.metrics.length;
    const bests = want.metrics.filter((m, i) => want.metrics.slice(0, i).every((e) => m["testAccuracy"]! > e["testAccuracy"]!)).length;
    const renames = 1 + epochs * 4 + bests;
    const points = Array.from({ length: renames + 1 }, (_, i) => i + 1);
    const crashed = await pool(points, 4, (k) => nncAsync(["train", TANH, ...DATA, "--out", join(dir, `crash-${k}`)], { NNC_TEST_EXIT_AFTER_RENAME: String(k) }));
    // Each rename is a crash point, until k is past the last rename and the run ends normally.
    const killed = points.filter((_, i) => crashed[i]!.code === 75);
    expect(killed).toEqual(points.slice(0, renames));
    expect(crashed.at(-1)!.code).toBe(0);
    const again = await pool(killed, 4, (k) => {
      const out = join(dir, `crash-${k}`);
      // Killed before its first checkpoint, a run starts again; after it, it resumes.
      return nncAsync(["train", TANH, ...DATA, "--out", out, ...(existsSync(join(out, "checkpoint.nnck")) ? ["--resume"] : [])]);
    });
    killed.forEach((k, i) => {
      expect(again[i]!.stderr, `crash after rename ${k}`).toBe("");
      expect(again[i]!.code).toBe(0);
      expect(outcome(join(dir, `crash-${k}`)), `crash after rename ${k}`).toEqual(want);
    });
  });

  it("keeps best.nnck: the epoch of the highest test accuracy", () => {
    const header = parseCheckpoint(readFileSync(join(full, "best.nnck"))).header as { train: { best: { epoch: number; score: number }; epoch: number } };
    const metrics = (JSON.parse(readFileSync(join(full, "metrics.json"), "utf8")) as { metrics: { epoch: number; testAccuracy: number }[] }).metrics;
    const top = metrics.reduce((b, m) => (m.testAccuracy > b.testAccuracy ? m : b));
    expect(header.train.best).toEqual({ epoch: top.epoch, score: top.testAccuracy });
    expect(header.train.epoch).toBe(top.epoch);
  });
});

describe("trained work in --out", () => {
  const out = join(dir, "work");
  const first = nnc(["train", TANH, ...DATA, "--out", out]);

  it("is not replaced without --resume or --overwrite, and nothing is written", () => {
    expect(first.code).toBe(0);
    const before = snapshot(out);
    const r = nnc(["train", TANH, ...DATA, "--epochs", "1", "--out", out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error\[NNC510\]: .*work already holds trained work \(checkpoint\.nnck: trained for 2 epochs, test accuracy [\d.]+%\)/);
    expect(r.stderr).toContain("--resume");
    expect(r.stderr).toContain("--overwrite");
    expect(snapshot(out)).toEqual(before);
  });

  const refusals: [string, string[], RegExp][] = [
    ["a model of other ops and the same shapes", ["train", model("relu.nn", "relu"), ...DATA], /graph differs/],
    ["another optimizer", ["train", model("sgd.nn", "tanh", "sgd(lr = 0.05, batch = 5, epochs = 2)"), ...DATA], /`train` statement differs/],
    ["another seed", ["train", TANH, ...DATA, "--seed", "9"], /the seed was 1, now 9/],
    ["another batch", ["train", TANH, ...DATA, "--batch", "4"], /the batch size was 5, now 4/],
    ["other data", ["train", TANH, "--data", OTHER_CSV, "--test-data", CSV], /the data were `--data .*data\.csv --test-data .*`, now `--data .*other\.csv/],
  ];
  it.each(refusals)("--resume refuses %s, says what differs and writes nothing", (_, args, message) => {
    const before = snapshot(out);
    const r = nnc([...args, "--out", out, "--resume", "--epochs", "3"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC512\]/);
    expect(r.stderr).toMatch(message);
    expect(snapshot(out)).toEqual(before);
  });

  it("--resume continues when only the epochs asked for changed in the file, and notes another --lr", () => {
    const more = join(dir, "more");
    expect(nnc(["train", TANH, ...DATA, "--epochs", "1", "--out", more]).code).toBe(0);
    const r = nnc(["train", model("more.nn", "tanh", "adam(lr = 0.05, batch = 5, epochs = 3)"), ...DATA, "--out", more, "--resume", "--lr", "0.01"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("note: --resume with learning rate 0.01; the run so far used 0.05\n");
    expect(r.stdout).toMatch(/epoch 3\/3/);
    expect(r.stdout).not.toMatch(/epoch 1\/3/);
  });

  it("--eval-every counts from epoch 0, so a resumed run evaluates the epochs an uninterrupted one does", () => {
    const evaluated = (out: string) =>
      (JSON.parse(readFileSync(join(out, "metrics.json"), "utf8")) as { metrics: { epoch: number; testAccuracy?: number }[] }).metrics.filter((m) => m.testAccuracy !== undefined).map((m) => m.epoch);
    const whole = join(dir, "every-whole");
    const parts = join(dir, "every-parts");
    expect(nnc(["train", TANH, ...DATA, "--epochs", "5", "--eval-every", "2", "--out", whole]).code).toBe(0);
    expect(nnc(["train", TANH, ...DATA, "--epochs", "1", "--eval-every", "2", "--out", parts]).code).toBe(0);
    expect(nnc(["train", TANH, ...DATA, "--epochs", "5", "--eval-every", "2", "--out", parts, "--resume"]).code).toBe(0);
    expect(evaluated(whole)).toEqual([2, 4, 5]);
    // Epoch 1 was the last of the first run, so it was evaluated then; after it, the same epochs as the whole run.
    expect(evaluated(parts)).toEqual([1, 2, 4, 5]);
  });

  it("a damaged training state in the checkpoint is a coded error for --resume", () => {
    const bad = join(dir, "bad-state");
    expect(nnc(["train", TANH, ...DATA, "--epochs", "1", "--out", bad]).code).toBe(0);
    const { header, data } = parseCheckpoint(readFileSync(join(bad, "checkpoint.nnck")));
    writeFileSync(join(bad, "checkpoint.nnck"), encodeCheckpoint({ ...header, train: { epoch: "two" } }, new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
    const r = nnc(["train", TANH, ...DATA, "--out", bad, "--resume"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC507\]: .*training state is corrupt/);
    const flipped = readFileSync(join(bad, "checkpoint.nnck"));
    flipped[flipped.length - 1]! ^= 1;
    writeFileSync(join(bad, "checkpoint.nnck"), flipped);
    const r2 = nnc(["train", TANH, ...DATA, "--out", bad, "--resume"]);
    expect(r2.stderr).toMatch(/error\[NNC507\]: .*checksum does not match/);
    expect(r2.stderr).not.toMatch(/\n\s+at /);
  });

  it("a version 1 checkpoint still evaluates, and --resume refuses it with a clear message", () => {
    const old = join(dir, "v1");
    expect(nnc(["train", TANH, ...DATA, "--epochs", "1", "--out", old]).code).toBe(0);
    const { header, data } = parseCheckpoint(readFileSync(join(old, "checkpoint.nnck")));
    const { train: _train, ...v1Header } = { ...header, version: 1 };
    const head = new TextEncoder().encode(JSON.stringify(v1Header));
    const start = 12 + Math.ceil(head.length / 4) * 4;
    const v1 = new Uint8Array(start + data.byteLength);
    new DataView(v1.buffer).setUint32(0, 0x4b434e4e, true);
    new DataView(v1.buffer).setUint32(4, 1, true);
    new DataView(v1.buffer).setUint32(8, head.length, true);
    v1.set(head, 12);
    v1.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), start);
    writeFileSync(join(old, "checkpoint.nnck"), v1);
    expect(nnc(["eval", TANH, ...DATA, "--checkpoint", join(old, "checkpoint.nnck")]).code).toBe(0);
    const r = nnc(["train", TANH, ...DATA, "--out", old, "--resume"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC507\]: .*holds no training state \(it was written by an older nnc.*--overwrite/);
  });

  it("eval refuses a checkpoint holding a NaN weight (exit 1), and a directory", () => {
    const { header, data } = parseCheckpoint(readFileSync(join(out, "checkpoint.nnck")));
    const copy = new Uint8Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
    new DataView(copy.buffer).setFloat32(8, NaN, true);
    const nan = join(dir, "nan.nnck");
    writeFileSync(nan, encodeCheckpoint(header, copy));
    const r = nnc(["eval", TANH, ...DATA, "--checkpoint", nan]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error\[NNC507\]: .*nan\.nnck: param\/W0 holds NaN at index 2/);
    const d = nnc(["eval", TANH, ...DATA, "--checkpoint", out]);
    expect(d.code).toBe(2);
    expect(d.stderr).toMatch(/error\[NNC509\]: cannot read .*work: it is a directory/);
    const ok = nnc(["eval", TANH, ...DATA, "--checkpoint", join(out, "best.nnck")]);
    expect(ok.code).toBe(0);
    // Compiled modules go to the per-user cache, not into the working directory.
    expect(existsSync(join(dir, ".cache"))).toBe(false);
  });

  it("--overwrite replaces the run", () => {
    const r = nnc(["train", TANH, ...DATA, "--epochs", "1", "--out", out, "--overwrite"]);
    expect(r.code).toBe(0);
    expect(parseCheckpoint(readFileSync(join(out, "checkpoint.nnck"))).header.train).toMatchObject({ epoch: 1 });
    expect(nnc(["train", TANH, ...DATA, "--out", out, "--overwrite", "--resume"]).code).toBe(2);
  });
});
