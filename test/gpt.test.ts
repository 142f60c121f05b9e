// Example 2 of issue 12, a small GPT: its gradients on a tiny config, the
// character corpus loader (fortunes: split, vocabulary, windows, bad files)
// and `nnc sample`'s token choice and errors.
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { formatGradCheck, gradcheck } from "../src/check/gradcheck.ts";
import { pickToken, sampleText } from "../src/cli-sample.ts";
import { CodedError } from "../src/cli-files.ts";
import { charVocabulary, charWindows, DataError, encodeChars, fortunesCorpus, loadCharCorpus, PAD, UNK, type DataSpec } from "../src/data/index.ts";
import { runGrad } from "../src/pipeline.ts";

const ROOT = join(import.meta.dirname, "..");
const dir = mkdtempSync(join(tmpdir(), "nnc-gpt-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function caught<E>(fn: () => unknown, kind: new (...a: never[]) => E): E {
  try {
    fn();
  } catch (e) {
    if (e instanceof kind) return e;
    throw e;
  }
  throw new Error("expected an error");
}

describe("examples/gpt.nn", () => {
  it("passes gradcheck on a tiny config (heads of 4, width 8, block 4, vocab 6)", () => {
    const r = runGrad("examples/gpt.nn", readFileSync(join(ROOT, "examples/gpt.nn"), "utf8"));
    expect(r.diagnostics.items).toEqual([]);
    const check = gradcheck(r.grad!, { dims: { batch: 2, block: 4, vocab: 6, width: 8, head: 4, hidden: 8 } });
    expect(check.ok, formatGradCheck(check)).toBe(true);
    expect(check.params.map((p) => p.name)).toContain("blocks.3.a.h4.Wq");
  }, 120_000);
});

describe("the fortunes corpus", () => {
  const fortunes = join(dir, "fortunes");
  mkdirSync(fortunes);
  // 12 fortunes in two files; the strfile index and the .u8 link are skipped.
  writeFileSync(join(fortunes, "a"), Array.from({ length: 7 }, (_, i) => `fortune a${i}\n`).join("%\n"));
  writeFileSync(join(fortunes, "b"), Array.from({ length: 5 }, (_, i) => `fortune b${i}\n`).join("%\n"));
  writeFileSync(join(fortunes, "a.dat"), new Uint8Array([0, 0, 0, 2, 0xff]));

  it("holds out every tenth fortune, across files", () => {
    const c = fortunesCorpus(fortunes);
    expect(c.validation).toBe("fortune b2\n\n");
    expect(c.train.split("\n\n").filter((t) => t !== "")).toHaveLength(11);
    expect(c.train).not.toContain("b2");
  });

  it("builds a vocabulary of <pad>, <unk> and characters, the most frequent kept, in code-point order", () => {
    expect(charVocabulary("abca\n", 10)).toEqual([PAD, UNK, "\n", "a", "b", "c"]);
    expect(charVocabulary("aab c", 4)).toEqual([PAD, UNK, " ", "a"]); // a, then the first of the ties by code point
    expect(encodeChars("abz", [PAD, UNK, "a", "b"])).toEqual(Int32Array.from([2, 3, 1]));
  });

  it("cuts windows of block ids, the labels one character later", () => {
    const w = charWindows(Int32Array.from([5, 6, 7, 8, 9, 10, 11]), 3, "t");
    expect(w.features.dims).toEqual([2, 3]);
    expect(Array.from(w.features.data)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(Array.from(w.labels!.data)).toEqual([6, 7, 8, 9, 10, 11]);
    expect(caught(() => charWindows(Int32Array.from([1, 2]), 3, "t"), DataError).code).toBe("NNC504");
  });

  it("feeds a model with int[batch, block] input and target, and checks the vocab dim", () => {
    const specs: DataSpec[] = [
      { name: "tokens", shape: ["batch", "block"], dtype: "i32", role: "input" },
      { name: "next", shape: ["batch", "block"], dtype: "i32", role: "target" },
    ];
    const c = fortunesCorpus(fortunes);
    const d = loadCharCorpus(c, specs, { block: 4, vocab: 32 }, {});
    expect(d.train.rows).toBe(Math.floor((c.train.length - 1) / 4));
    expect(d.test.rows).toBe(Math.floor((c.validation.length - 1) / 4));
    const ids = d.train.columns.get("tokens")!, next = d.train.columns.get("next")!;
    expect(ids[1]).toBe(next[0]);
    expect(d.vocabulary[0]).toBe(PAD);
    const saved = [PAD, UNK, "a", "b", "c", "d"];
    expect(caught(() => loadCharCorpus(c, specs, { block: 4, vocab: 5 }, { vocabulary: saved }), DataError).message).toMatch(/vocab dim is 5/);
    const wrong: DataSpec[] = [{ name: "x", shape: ["batch", 4], dtype: "f32", role: "input" }];
    expect(caught(() => loadCharCorpus(c, wrong, { vocab: 32 }, {}), DataError).code).toBe("NNC504");
  });

  it("reports a missing corpus and a file that is not text", () => {
    expect(caught(() => fortunesCorpus(join(dir, "none")), DataError).code).toBe("NNC501");
    const bad = join(dir, "bad");
    mkdirSync(bad);
    writeFileSync(join(bad, "x"), new Uint8Array([0x66, 0x00, 0x0a]));
    expect(caught(() => fortunesCorpus(bad), DataError).code).toBe("NNC502");
    writeFileSync(join(bad, "x"), new Uint8Array([0xc3, 0x28]));
    expect(caught(() => fortunesCorpus(bad), DataError).message).toMatch(/not UTF-8/);
  });
});

describe("nnc sample", () => {
  const counter = (): (() => number) => {
    const us = [0.05, 0.5, 0.95];
    let i = 0;
    return () => us[i++ % us.length]!;
  };
  it("takes the argmax at temperature 0 and never draws <pad> or <unk>", () => {
    expect(pickToken([9, 9, 1, 3, 2], 0, counter())).toBe(3);
    for (let k = 0; k < 20; k++) expect(pickToken([50, 50, 1, 1, 1], 1, Math.random)).toBeGreaterThanOrEqual(2);
  });
  it("draws by the softmax of scores / temperature", () => {
    const scores = [0, 0, 0, Math.log(3)]; // weights 1 : 3 for ids 2 and 3
    expect(pickToken(scores, 1, () => 0.2)).toBe(2);
    expect(pickToken(scores, 1, () => 0.3)).toBe(3);
    // a high temperature flattens: 1 : 3^(1/100)
    expect(pickToken(scores, 100, () => 0.45)).toBe(2);
  });
  it("rejects a file that is not a checkpoint (NNC545) and a run directory without vocab.json (NNC546)", async () => {
    const run = join(dir, "run");
    mkdirSync(run);
    writeFileSync(join(run, "checkpoint.nnck"), "not a checkpoint");
    const o = { tokens: 5, temperature: 0, seed: 1, prompt: "" };
    await expect(sampleText(join(run, "checkpoint.nnck"), o)).rejects.toSatisfy((e) => e instanceof CodedError && e.code === "NNC545");
  });
});

describe("nnc sample on a trained run", () => {
  const BIN = join(ROOT, "bin", "nnc.js");
  const run = join(dir, "trained");
  const o = { tokens: 12, temperature: 0.8, seed: 3, prompt: "The " };
  it("trains a tiny GPT on fortunes with nnc train", { timeout: 240_000 }, () => {
    const r = spawnSync(process.execPath, [BIN, "train", "examples/gpt.nn", "--data", "fortunes", "--dim", "block=8", "--dim", "width=8", "--dim", "head=4", "--dim", "hidden=8", "--limit", "24", "--epochs", "1", "--out", run], { encoding: "utf8", cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stderr + r.stdout).toContain("wrote");
    expect(r.status).toBe(0);
  });
  it("writes the prompt and then the asked number of characters, the same for the same seed", async () => {
    const a = await sampleText(join(run, "checkpoint.nnck"), o);
    expect(a.startsWith("The ")).toBe(true);
    expect([...a].length).toBe(4 + 12);
    expect(await sampleText(join(run, "checkpoint.nnck"), o)).toBe(a);
  });
  it("takes the likeliest character at temperature 0, whatever the seed", async () => {
    const cold = { ...o, temperature: 0 };
    expect(await sampleText(join(run, "checkpoint.nnck"), { ...cold, seed: 1 })).toBe(await sampleText(join(run, "checkpoint.nnck"), { ...cold, seed: 2 }));
  });
  it("refuses a prompt character outside the vocabulary (NNC549)", async () => {
    await expect(sampleText(join(run, "checkpoint.nnck"), { ...o, prompt: "\u{1F600}" })).rejects.toSatisfy((e) => e instanceof CodedError && e.code === "NNC549");
  });
  it("samples from the command line, the module beside the checkpoint loaded as an ES module wherever the run lies", () => {
    const r = spawnSync(process.execPath, [BIN, "sample", join(run, "checkpoint.nnck"), "--tokens", "12", "--seed", "1", "--prompt", "The "], { encoding: "utf8", cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.startsWith("The ")).toBe(true);
  });
  it("has --help", () => {
    const r = spawnSync(process.execPath, [BIN, "sample", "--help"], { encoding: "utf8", cwd: ROOT });
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("--temperature");
  });
});
