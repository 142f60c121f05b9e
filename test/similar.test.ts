// `nnc similar`: the nearest words of a trained embedding by cosine
// similarity. The ranking is checked against a float64 reference on
// checkpoints written with the runtime's own checkpoint writer; every error
// (NNC540–544, and a damaged checkpoint's NNC507) through the function and,
// for exit codes and rendering, through the command; and the whole lesson end
// to end: train the sentiment net on a few hundred Spam Assassin e-mails and
// ask for neighbours.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { writeCheckpoint, type TensorEntry } from "../src/backend/cpu/runtime/checkpoint.ts";
import { CodedError } from "../src/cli-files.ts";
import { nearestWords, similar, type Embedding, type SimilarResult } from "../src/cli-similar.ts";
import { PAD, spamAssassin, splitCorpus, tokenize, UNK, vocabularyJson } from "../src/data/index.ts";

const ROOT = join(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "nnc.js");
const dir = mkdtempSync(join(tmpdir(), "nnc-similar-"));

function nnc(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", cwd: ROOT, env: { ...process.env, NO_COLOR: "1" } });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Deterministic values in [-1, 1) (a small LCG), so the tests need no fixtures. */
function values(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

/** A run directory as nnc train leaves it: a checkpoint of these params (written by the runtime's writer) and vocab.json. */
function runDir(name: string, params: Record<string, { shape: number[]; data: Float32Array }>, vocabulary?: string[]): string {
  const out = join(dir, name);
  mkdirSync(out, { recursive: true });
  const entries: TensorEntry[] = [];
  const arena: number[] = [];
  for (const [p, { shape, data }] of Object.entries(params)) {
    entries.push([`param/${p}`, arena.length, shape]);
    arena.push(...data);
  }
  // Optimizer state has the param's shape but is not a param: it must never be taken for the embedding.
  const first = Object.entries(params)[0]!;
  entries.push([`state/${first[0]}/1`, arena.length, first[1].shape]);
  arena.push(...first[1].data.map((v) => -v));
  writeFileSync(join(out, "checkpoint.nnck"), writeCheckpoint("toy", {}, 7, 1, Float32Array.from(arena), entries));
  if (vocabulary) writeFileSync(join(out, "vocab.json"), vocabularyJson(vocabulary));
  return join(out, "checkpoint.nnck");
}

const WORDS = [PAD, UNK, "good", "great", "bad", "awful", "movie", "plot", "zero", "fine", "dull"];
const V = WORDS.length;
const D = 6;

/** E with known geometry where it matters (great ∥ good, awful = −good, zero a zero row), pseudo-random elsewhere. */
function toyEmbedding(): Float32Array {
  const e = values(V * D, 42);
  const row = (w: string) => WORDS.indexOf(w) * D;
  for (let j = 0; j < D; j++) {
    e[row("great") + j] = 3 * e[row("good") + j]!;
    e[row("awful") + j] = -e[row("good") + j]!;
    e[row("zero") + j] = 0;
  }
  return e;
}

const TOY_E = toyEmbedding();
const TOY = runDir("toy", { E: { shape: [V, D], data: TOY_E }, W: { shape: [D, 1], data: values(D, 7) } }, WORDS);

/** The float64 reference: cosine of the float32 rows (or minus their distance), every other word but <pad> and <unk>, best first. */
function reference(e: Float32Array, d: number, vocabulary: string[], word: string, metric: "cosine" | "euclidean" = "cosine"): { word: string; score: number }[] {
  const q = vocabulary.indexOf(word);
  const row = (r: number) => Array.from(e.subarray(r * d, (r + 1) * d), Number);
  const dot = (a: number[], b: number[]) => a.reduce((s, x, j) => s + x * b[j]!, 0);
  return vocabulary
    .map((w, r) => {
      const a = row(q);
      const b = row(r);
      const n = Math.sqrt(dot(a, a)) * Math.sqrt(dot(b, b));
      const diff = a.map((x, j) => x - b[j]!);
      return { word: w, r, score: metric === "euclidean" ? -Math.sqrt(dot(diff, diff)) : n === 0 ? 0 : dot(a, b) / n };
    })
    .filter((x) => x.r !== q && x.word !== PAD && x.word !== UNK)
    .sort((a, b) => b.score - a.score || a.r - b.r)
    .map(({ word: w, score }) => ({ word: w, score }));
}

function codedError(f: () => unknown): CodedError {
  try {
    f();
  } catch (e) {
    if (e instanceof CodedError) return e;
    // Several unknown words come together: the first one stands for them here.
    const several = (e as { errors?: CodedError[] }).errors;
    if (several?.[0]) return several[0];
    throw e;
  }
  throw new Error("expected an error");
}

describe("the ranking", () => {
  it("matches the float64 reference for every word, scores and order", () => {
    const e: Embedding = { name: "E", shape: [V, D], data: TOY_E };
    for (const word of WORDS.slice(2)) {
      const got = nearestWords(e, WORDS, WORDS.indexOf(word), 100);
      const want = reference(TOY_E, D, WORDS, word);
      expect(got.map((n) => n.word)).toEqual(want.map((n) => n.word));
      got.forEach((n, i) => expect(Math.abs(n.score - want[i]!.score)).toBeLessThan(1e-12));
    }
  });

  it("with --metric euclidean, ranks by minus the distance (the seed material's measure), against the float64 reference", () => {
    const e: Embedding = { name: "E", shape: [V, D], data: TOY_E };
    for (const word of WORDS.slice(2)) {
      const got = nearestWords(e, WORDS, WORDS.indexOf(word), 100, "euclidean");
      const want = reference(TOY_E, D, WORDS, word, "euclidean");
      expect(got.map((n) => n.word)).toEqual(want.map((n) => n.word));
      got.forEach((n, i) => expect(Math.abs(n.score - want[i]!.score)).toBeLessThan(1e-12));
    }
    // Length counts: great (3 × good) is parallel to good but far from it, so it is not first.
    const good = nearestWords(e, WORDS, WORDS.indexOf("good"), 100, "euclidean");
    expect(good[0]!.word).not.toBe("great");
    expect(good.find((n) => n.word === "great")!.score).toBeCloseTo(-2 * Math.hypot(...TOY_E.subarray(2 * D, 3 * D)), 6);
  });

  it("puts a parallel row first at 1 and the opposite row last at −1, and leaves out the word itself, <pad> and <unk>", () => {
    const e: Embedding = { name: "E", shape: [V, D], data: TOY_E };
    const got = nearestWords(e, WORDS, WORDS.indexOf("good"), 100);
    expect(got[0]!.word).toBe("great");
    expect(got[0]!.score).toBeCloseTo(1, 6);
    expect(got.at(-1)!.word).toBe("awful");
    expect(got.at(-1)!.score).toBeCloseTo(-1, 6);
    expect(got.find((n) => n.word === "zero")!.score).toBe(0);
    expect(got.map((n) => n.word)).not.toContain("good");
    expect(got.map((n) => n.word)).not.toContain(PAD);
    expect(got.map((n) => n.word)).not.toContain(UNK);
    expect(got).toHaveLength(V - 3);
  });

  it("keeps the top N, and reads the checkpoint's param (not its optimizer state) through the command's own path", () => {
    const r = similar(TOY, ["good", "Plot"], { top: 3 });
    expect(r.param).toBe("E");
    expect(r.shape).toEqual([V, D]);
    expect(r.words.map((w) => w.word)).toEqual(["good", "plot"]); // a capitalised word is looked up lower-cased, as training text is
    expect(r.words[0]!.nearest.map((n) => n.word)).toEqual(reference(TOY_E, D, WORDS, "good").slice(0, 3).map((n) => n.word));
    expect(r.words[1]!.nearest.map((n) => n.word)).toEqual(reference(TOY_E, D, WORDS, "plot").slice(0, 3).map((n) => n.word));
  });
});

describe("errors", () => {
  it("NNC540: a word not in the vocabulary, with the closest one", () => {
    const e = codedError(() => similar(TOY, ["god"], { top: 3 }));
    expect(e.code).toBe("NNC540");
    expect(e.message).toContain("`god` is not in the vocabulary");
    expect(e.help).toBe("did you mean `good`?");
  });

  it("NNC541: no vocabulary beside the checkpoint, or a damaged one", () => {
    const lonely = runDir("lonely", { E: { shape: [V, D], data: TOY_E } });
    let e = codedError(() => similar(lonely, ["good"], { top: 3 }));
    expect(e.code).toBe("NNC541");
    expect(e.message).toContain(join("lonely", "vocab.json"));
    expect(e.help).toContain("--vocabulary");
    writeFileSync(join(dir, "lonely", "vocab.json"), '{"format": "nnc-vocabulary", "version": 1, "tokens": ["a"]}');
    e = codedError(() => similar(lonely, ["good"], { top: 3 }));
    expect(e.code).toBe("NNC541");
    expect(e.message).toContain("must start with");
    // --vocabulary names one elsewhere.
    expect(similar(lonely, ["good"], { top: 1, vocabulary: join(dir, "toy", "vocab.json") }).words[0]!.nearest[0]!.word).toBe("great");
  });

  it("NNC542: --param names no param (with the closest), or no param has a row per word", () => {
    let e = codedError(() => similar(TOY, ["good"], { top: 3, param: "e" }));
    expect(e.code).toBe("NNC542");
    expect(e.message).toContain("has no param `e`; its params are E [11, 6], W [6, 1]");
    expect(e.help).toBe("did you mean `--param E`?");
    const other = runDir("other", { E: { shape: [V - 2, D], data: TOY_E.subarray(0, (V - 2) * D) } }, WORDS);
    e = codedError(() => similar(other, ["good"], { top: 3 }));
    expect(e.code).toBe("NNC542");
    expect(e.message).toContain("no param is [11, d]");
  });

  it("NNC543: --param names a param that is not [vocab, d]", () => {
    const e = codedError(() => similar(TOY, ["good"], { top: 3, param: "W" }));
    expect(e.code).toBe("NNC543");
    expect(e.message).toContain("--param W is [6, 1], not an embedding [11, d]");
  });

  it("NNC544: two params could be the embedding; --param chooses", () => {
    const two = runDir("two", { A: { shape: [V, D], data: TOY_E }, B: { shape: [V, 2], data: values(V * 2, 3) } }, WORDS);
    const e = codedError(() => similar(two, ["good"], { top: 3 }));
    expect(e.code).toBe("NNC544");
    expect(e.message).toContain("A [11, 6], B [11, 2]");
    expect(similar(two, ["good"], { top: 3, param: "B" }).param).toBe("B");
  });

  it("takes the one table with more rows than the vocabulary has words (a corpus with fewer words than the model's vocab dim)", () => {
    const wide = runDir("wide", { E: { shape: [V + 4, D], data: values((V + 4) * D, 9) }, W: { shape: [D, 1], data: values(D, 7) } }, WORDS);
    const r = similar(wide, ["good"], { top: 100 });
    expect(r.shape).toEqual([V + 4, D]);
    expect(r.words[0]!.nearest).toHaveLength(V - 3);
  });

  it("NNC507: a damaged checkpoint", () => {
    const bytes = readFileSync(TOY);
    bytes[bytes.length - 1] ^= 1;
    const damaged = join(dir, "toy", "damaged.nnck");
    writeFileSync(damaged, bytes);
    const e = codedError(() => similar(damaged, ["good"], { top: 3 }));
    expect(e.code).toBe("NNC507");
    expect(e.message).toContain("checksum");
  });
});

describe("the command", () => {
  it("prints each word's neighbours with their scores", () => {
    const r = nnc("similar", TOY, "good", "bad", "--top", "2");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const [second] = reference(TOY_E, D, WORDS, "bad").slice(1, 2);
    expect(r.stdout).toContain("# nearest words by cosine similarity of the rows of E [11, 6]");
    expect(r.stdout).toContain("\ngood:\n  great   1.0000\n");
    expect(r.stdout).toContain(`  ${second!.word}`);
    expect(r.stdout.split("\n").filter((l) => l.startsWith("  "))).toHaveLength(4);
    const euclidean = nnc("similar", TOY, "good", "--top", "1", "--metric", "euclidean");
    expect(euclidean.code).toBe(0);
    const [nearest] = reference(TOY_E, D, WORDS, "good", "euclidean");
    expect(euclidean.stdout).toContain("# nearest words by Euclidean distance (the score is minus the distance)");
    expect(euclidean.stdout).toContain(`\ngood:\n  ${nearest!.word}  ${nearest!.score.toFixed(4)}\n`);
  });

  it("--format json gives the same words and the float64 scores", () => {
    const r = nnc("similar", TOY, "movie", "--format", "json");
    expect(r.code).toBe(0);
    const json = JSON.parse(r.stdout) as SimilarResult;
    expect(json.param).toBe("E");
    expect(json.metric).toBe("cosine");
    expect(json.words[0]!.nearest.map((n) => n.word)).toEqual(reference(TOY_E, D, WORDS, "movie").map((n) => n.word));
    json.words[0]!.nearest.forEach((n, i) => expect(n.score).toBeCloseTo(reference(TOY_E, D, WORDS, "movie")[i]!.score, 12));
  });

  it("reports every unknown word, exits 1; a bad --top is a usage error (exit 2)", () => {
    const r = nnc("similar", TOY, "god", "plto", "movie");
    expect(r.code).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain("error[NNC540]: `god` is not in the vocabulary");
    expect(r.stderr).toContain("= help: did you mean `good`?");
    expect(r.stderr).toContain("error[NNC540]: `plto` is not in the vocabulary");
    expect(r.stderr).toContain("= help: did you mean `plot`?");
    expect(nnc("similar", TOY, "good", "--top", "0").code).toBe(2);
    expect(nnc("similar", TOY).code).toBe(2);
  });

  it("a checkpoint that cannot be read is NNC509 naming it (exit 2), a vocabulary that is not one NNC541, never a stack trace", () => {
    const missing = nnc("similar", join(dir, "no-such.nnck"), "good");
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe(`error[NNC509]: cannot read ${join(dir, "no-such.nnck")}: no such file or directory\n  = help: check that the path names the checkpoint, and that you may read it\n`);
    const directory = nnc("similar", dir, "good");
    expect(directory.code).toBe(2);
    expect(directory.stderr).toContain(`error[NNC509]: cannot read ${dir}: it is a directory`);
    const notJson = join(dir, "not-vocab.json");
    writeFileSync(notJson, "# a note\nnot json\n");
    const bad = nnc("similar", TOY, "good", "--vocabulary", notJson);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error\[NNC541\]: no usable vocabulary: .*not-vocab\.json: not a vocabulary file: [^\n]*\n {2}= help: [^\n]*\n$/);
  });

  it("has --help", () => {
    const r = nnc("similar", "--help");
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: nnc similar \[options\] <checkpoint> <words\.\.\.>/);
    for (const flag of ["--param", "--top", "--metric", "--vocabulary", "--format"]) expect(r.stdout).toContain(flag);
  });
});

// Lesson 11 end to end: the sentiment net (ids form) trained by `nnc train` on
// a few hundred e-mails, then its embedding's neighbours. The learnt part of
// a row is how the word pushes the answer, so the neighbours of words only
// spam uses should be words of spam, and those of words only ham uses, of ham.
describe("lesson 11 on Spam Assassin, end to end", () => {
  const out = join(dir, "sentiment_spam");
  const LIMIT = 400;
  let train: ReturnType<typeof nnc>;
  beforeAll(() => {
    train = nnc("train", "examples/sentiment_spam.nn", "--data", "spam-assassin", "--limit", String(LIMIT), "--epochs", "3", "--eval-every", "3", "--out", out);
  }, 300_000);

  /** Each word's share of spam among the training e-mails that have it in their first 100 words (what the model sees). */
  function spamShares(): { share: (w: string) => number; docs: (w: string) => number } {
    const train = splitCorpus(spamAssassin()).train;
    const docs = new Map<string, number>();
    const spam = new Map<string, number>();
    train.texts.slice(0, LIMIT).forEach((t, i) => {
      for (const w of new Set(tokenize(t).slice(0, 100))) {
        docs.set(w, (docs.get(w) ?? 0) + 1);
        if (train.labels![i] === 1) spam.set(w, (spam.get(w) ?? 0) + 1);
      }
    });
    return { share: (w) => (spam.get(w) ?? 0) / (docs.get(w) ?? 1), docs: (w) => docs.get(w) ?? 0 };
  }

  it("trains, and the neighbours of spam's own words are spam's words, those of ham's are ham's", () => {
    expect(train.stderr).toBe("");
    expect(train.code).toBe(0);
    expect(train.stdout).toContain(`${LIMIT} training rows, 1209 test rows`);
    const vocabulary = (JSON.parse(readFileSync(join(out, "vocab.json"), "utf8")) as { tokens: string[] }).tokens;
    const { share, docs } = spamShares();
    // The 3 words (in 20 e-mails or more) most given to spam, and the 3 most given to ham.
    const ranked = vocabulary.slice(2).filter((w) => docs(w) >= 20).sort((a, b) => share(b) - share(a) || (a < b ? -1 : 1));
    const spamWords = ranked.slice(0, 3);
    const hamWords = ranked.slice(-3);
    expect(spamWords.every((w) => share(w) > 0.8) && hamWords.every((w) => share(w) < 0.05), `${spamWords} / ${hamWords}`).toBe(true);

    const r = nnc("similar", join(out, "checkpoint.nnck"), ...spamWords, ...hamWords, "--format", "json");
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const result = JSON.parse(r.stdout) as SimilarResult;
    expect(result.param).toBe("E");
    expect(result.shape).toEqual([5000, 100]);
    const meanShare = (words: string[]) => {
      const nearest = result.words.filter((q) => words.includes(q.word)).flatMap((q) => q.nearest);
      return nearest.reduce((s, n) => s + share(n.word), 0) / nearest.length;
    };
    for (const q of result.words) {
      expect(q.nearest).toHaveLength(10);
      for (const [i, n] of q.nearest.entries()) {
        expect(vocabulary[n.id]).toBe(n.word);
        expect(n.word).not.toBe(q.word);
        expect(Math.abs(n.score)).toBeLessThanOrEqual(1);
        if (i > 0) expect(n.score).toBeLessThanOrEqual(q.nearest[i - 1]!.score);
      }
    }
    const spammy = meanShare(spamWords);
    const hammy = meanShare(hamWords);
    expect(spammy - hammy, `neighbours' spam share: ${spammy.toFixed(3)} for ${spamWords}, ${hammy.toFixed(3)} for ${hamWords}`).toBeGreaterThan(0.25);
  });
});
