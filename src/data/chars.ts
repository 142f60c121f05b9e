// Character-level text for language models (examples/gpt.nn). The text is
// cut into windows of `block` characters; each window feeds the model's one
// int input, and the same window one character later its one int target
// (the next character at every position), as nanoGPT's char models train.
//
// The named corpus `fortunes` is Debian's fortunes package: about 2.5 MB of
// English quotations, poems, jokes and definitions in plain text, with no
// download at run time (`apt-get install fortunes`). Why it: of the texts
// Debian and npm ship as plain files, it is the largest body of varied
// English prose and verse (the KJV package is in a compressed format of its
// own; no package ships Shakespeare or Gutenberg texts), the size of nanoGPT's
// Shakespeare (1.1 MB) or larger. Every tenth fortune is held out as the
// validation set, so both sets draw from every file.
//
// Ids: 0 is <pad> and 1 <unk>, as for word vocabularies (text.ts), then the
// characters of the training text, the most frequent first when they do not
// all fit, in code-point order. The vocabulary is saved beside the checkpoint.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fitToModel, resolveSpec, type DataSpec, type FitOptions, type RawData } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { PAD, UNK } from "./text.ts";

/** Where Debian's fortunes package puts its files. */
export const FORTUNES_DIR = "/usr/share/games/fortunes";

/** A text cut into a training part and a held-out validation part. */
export interface CharCorpus {
  train: string;
  validation: string;
  /** Where it came from, for messages. */
  file: string;
}

/** One fortune file's text, checked to be text: a NUL byte or invalid UTF-8 means the file is not what it should be. */
function readText(path: string): string {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (e) {
    throw new DataError("NNC501", `${path}: cannot read: ${(e as Error).message}`, path);
  }
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new DataError("NNC502", `${path}: not UTF-8 text; the fortunes corpus is plain text`, path);
  }
  if (text.includes("\u0000")) throw new DataError("NNC502", `${path}: holds a NUL byte: not a text file; the fortunes corpus is plain text`, path);
  return text;
}

/**
 * The fortunes corpus of a directory: every plain file in name order (the
 * strfile indexes, *.dat, and the *.u8 links are skipped), each split into
 * fortunes at its `%` lines; every tenth fortune goes to validation.
 */
export function fortunesCorpus(dir = FORTUNES_DIR): CharCorpus {
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    throw new DataError("NNC501",
      `fortunes: no fortunes corpus in ${dir}; install Debian's fortunes package (sudo apt-get install fortunes)`, dir);
  }
  const files = names.filter((n) => !n.endsWith(".dat") && !n.endsWith(".u8") && !n.startsWith(".") && statSync(join(dir, n)).isFile());
  if (files.length === 0) {
    throw new DataError("NNC501", `fortunes: ${dir} holds no fortune files; install Debian's fortunes package (sudo apt-get install fortunes)`, dir);
  }
  const train: string[] = [];
  const validation: string[] = [];
  let count = 0;
  for (const name of files) {
    for (const fortune of readText(join(dir, name)).split(/^%\r?\n/m)) {
      const text = fortune.trimEnd();
      if (text === "") continue;
      (count % 10 === 9 ? validation : train).push(text);
      count++;
    }
  }
  if (validation.length === 0) throw new DataError("NNC504", `fortunes: ${dir} holds ${count} fortunes; at least 10 are needed for a validation set`, dir);
  // A blank line between fortunes, as the model will see them.
  return { train: train.join("\n\n") + "\n\n", validation: validation.join("\n\n") + "\n\n", file: "fortunes" };
}

/** <pad>, <unk>, then the characters of the text (the `size - 2` most frequent), in code-point order. */
export function charVocabulary(text: string, size: number): string[] {
  if (!Number.isSafeInteger(size) || size < 3) {
    throw new DataError("NNC505", `a vocabulary needs room for <pad>, <unk> and at least one character; its size is ${size}`);
  }
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  const kept = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, size - 2)
    .map(([c]) => c)
    .sort((a, b) => a.codePointAt(0)! - b.codePointAt(0)!);
  return [PAD, UNK, ...kept];
}

/** The ids of the text's characters; a character not in the vocabulary is <unk> (1). */
export function encodeChars(text: string, vocabulary: readonly string[]): Int32Array {
  const ids = new Map(vocabulary.map((c, i) => [c, i]));
  return Int32Array.from(text, (c) => ids.get(c) ?? 1);
}

/** Non-overlapping windows of `block` ids as the features, each shifted by one as the labels. */
export function charWindows(ids: Int32Array, block: number, file: string): RawData {
  const rows = Math.floor((ids.length - 1) / block);
  if (rows < 1) throw new DataError("NNC504", `${file}: ${ids.length} characters make no window of ${block} with its next character`, file);
  const features = new Float64Array(rows * block);
  const labels = new Float64Array(rows * block);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < block; j++) {
      features[r * block + j] = ids[r * block + j]!;
      labels[r * block + j] = ids[r * block + j + 1]!;
    }
  }
  return { features: { dims: [rows, block], data: features, file }, labels: { dims: [rows, block], data: labels, file } };
}

/** The window length: the model must read int[batch, block] and predict int[batch, block]. */
function blockOf(specs: readonly DataSpec[], dims: Record<string, number>, file: string): number {
  const inputs = specs.filter((s) => s.role === "input");
  const targets = specs.filter((s) => s.role === "target");
  const ok = inputs.length === 1 && targets.length === 1 && inputs[0]!.dtype === "i32" && targets[0]!.dtype === "i32" &&
    inputs[0]!.shape.length === 2 && targets[0]!.shape.length === 2;
  const shown = (ss: DataSpec[]) => ss.map((s) => `${s.name}: ${s.dtype === "i32" ? "int" : ""}[${s.shape.join(", ")}]`).join("; ") || "none";
  if (!ok) {
    throw new DataError("NNC504",
      `${file}: character text feeds a language model with one input int[batch, block] (character ids) and one target int[batch, block] ` +
      `(the next character of each); this model's inputs are ${shown(inputs)} and its targets ${shown(targets)}`, file);
  }
  const block = resolveSpec(inputs[0]!, dims, file).rowSize;
  const width = resolveSpec(targets[0]!, dims, file).rowSize;
  if (width !== block) {
    throw new DataError("NNC504", `${file}: the input ${inputs[0]!.name} holds ${block} characters per row but the target ${targets[0]!.name} ${width}; they must match`, file);
  }
  return block;
}

/**
 * A character corpus as a model's training and validation (test) sets, with
 * its vocabulary: the saved one when given (sampling and evaluating a trained
 * model), else built from the training text, as large as the model's `vocab` dim.
 */
export function loadCharCorpus(corpus: CharCorpus, specs: readonly DataSpec[], dims: Record<string, number>, options: FitOptions & { vocabulary?: readonly string[] }) {
  const block = blockOf(specs, dims, corpus.file);
  const size = dims["vocab"];
  if (size === undefined && options.vocabulary === undefined) {
    throw new DataError("NNC504", `${corpus.file}: a character model needs a \`vocab\` dim (its number of token ids) to size the vocabulary`, corpus.file);
  }
  const vocabulary = options.vocabulary ?? charVocabulary(corpus.train, size!);
  if (size !== undefined && vocabulary.length > size) {
    throw new DataError("NNC504", `${corpus.file}: the vocabulary has ${vocabulary.length} tokens but the model's vocab dim is ${size}`, corpus.file);
  }
  const fit = (text: string, limit: number | undefined) =>
    fitToModel(charWindows(encodeChars(text, vocabulary), block, corpus.file), specs, dims, corpus.file, { limit, labelsOptional: options.labelsOptional });
  return { train: fit(corpus.train, options.limit), test: fit(corpus.validation, undefined), vocabulary };
}
