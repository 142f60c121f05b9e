// Labelled text for word-based models. A document becomes its words
// (tokenize), each word an id in a vocabulary built from the training
// documents (the most frequent words, up to a size; every other word is the
// unknown token), and the ids are shaped to the model's one input:
//   int[batch, words]  the document's first `words` ids, padded with <pad> (id 0)
//   [batch, V]         a bag of words: 1 at the id of each word the document has
//                      (V is the vocabulary's size, <pad> and <unk> included)
// The vocabulary is saved beside the checkpoint (vocab.json) so that eval and
// predict give new text the ids the model was trained with.

import { DataError } from "./errors.ts";
import { resolveSpec, type DataSpec, type RawArray, type RawData } from "./dataset.ts";

export const PAD = "<pad>";
export const UNK = "<unk>";
/** The vocabulary file `nnc train` writes beside its checkpoint. */
export const VOCABULARY_FILE = "vocab.json";
/** The vocabulary's size for an int-id input when the model has no `vocab` dim to say it. */
export const DEFAULT_VOCABULARY = 10000;

/** Documents, with a class label each when the source has them. */
export interface TextCorpus {
  texts: string[];
  labels?: number[];
  /** Where they came from, for messages. */
  file: string;
}

// Words are runs of letters and digits, apostrophes inside them kept ("don't").
const WORD = /[\p{L}\p{N}]+(?:'[\p{L}\p{N}]+)*/gu;

export function tokenize(text: string): string[] {
  return text.toLowerCase().match(WORD) ?? [];
}

/** <pad>, <unk>, then the words of the documents by frequency (ties in code-point order), `size` entries at most. */
export function buildVocabulary(texts: readonly string[], size: number): string[] {
  if (!Number.isSafeInteger(size) || size < 3) {
    throw new DataError("NNC505", `a vocabulary needs room for <pad>, <unk> and at least one word; its size is ${size}`);
  }
  const counts = new Map<string, number>();
  for (const text of texts) for (const word of tokenize(text)) counts.set(word, (counts.get(word) ?? 0) + 1);
  const words = [...counts.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
    .slice(0, size - 2)
    .map(([w]) => w);
  return [PAD, UNK, ...words];
}

/** The input a text source feeds, and how wide its rows are. */
function textInput(specs: readonly DataSpec[], dims: Record<string, number>, file: string): { spec: DataSpec; width: number } {
  const inputs = specs.filter((s) => s.role === "input");
  if (inputs.length !== 1 || inputs[0]!.shape.length !== 2) {
    throw new DataError("NNC504",
      `${file}: text feeds a model with one input of shape int[batch, words] (word ids) or [batch, vocab] (a bag of words); ` +
      `this model's inputs are ${inputs.map((s) => `${s.name}: [${s.shape.join(", ")}]`).join("; ") || "none"}`, file);
  }
  return { spec: inputs[0]!, width: resolveSpec(inputs[0]!, dims, file).rowSize };
}

/** The vocabulary's size: a bag's width, else the model's `vocab` dim, else DEFAULT_VOCABULARY. */
export function vocabularySize(specs: readonly DataSpec[], dims: Record<string, number>, file: string): number {
  const { spec, width } = textInput(specs, dims, file);
  return spec.dtype === "f32" ? width : dims["vocab"] ?? DEFAULT_VOCABULARY;
}

/** Ids or bags of words for every document, shaped for the model's input, and the labels as given. */
export function encodeCorpus(corpus: TextCorpus, vocabulary: readonly string[], specs: readonly DataSpec[], dims: Record<string, number>): RawData {
  const { file } = corpus;
  const { spec, width } = textInput(specs, dims, file);
  if (spec.dtype === "f32" && width < vocabulary.length) {
    throw new DataError("NNC504",
      `${file}: the model's input ${spec.name}: [${spec.shape.join(", ")}] takes a bag of ${width} words, but the vocabulary has ${vocabulary.length} entries`, file);
  }
  const ids = new Map(vocabulary.map((w, i) => [w, i]));
  const rows = corpus.texts.length;
  const data = new Float64Array(rows * width);
  corpus.texts.forEach((text, r) => {
    const words = tokenize(text).map((w) => ids.get(w) ?? 1);
    if (spec.dtype === "f32") for (const id of words) data[r * width + id] = 1;
    else data.set(words.slice(0, width), r * width);
  });
  const features: RawArray = { dims: [rows, width], data, file };
  return corpus.labels ? { features, labels: { dims: [rows], data: corpus.labels, file } } : { features };
}

/**
 * A text file: FILE.tsv holds `label<TAB>text` per line (the label a class
 * number), FILE.txt one unlabelled document per line. Blank lines are skipped.
 */
export function parseTextFile(text: string, file: string, labelled: boolean): TextCorpus {
  const texts: string[] = [];
  const labels: number[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    if (line.trim() === "") return;
    if (!labelled) {
      texts.push(line);
      return;
    }
    const tab = line.indexOf("\t");
    const label = line.slice(0, Math.max(tab, 0)).trim();
    if (tab < 0 || !/^\d+$/.test(label)) {
      const found = tab < 0 ? "has no tab" : `starts with "${label.slice(0, 20)}"`;
      throw new DataError("NNC504", `${file}:${i + 1}: line ${i + 1} ${found}; a .tsv line is a class number, a tab, then the text`, file);
    }
    labels.push(Number(label));
    texts.push(line.slice(tab + 1));
  });
  if (texts.length === 0) throw new DataError("NNC504", `${file}: the file holds no text`, file);
  return labelled ? { texts, labels, file } : { texts, file };
}

/** vocab.json: the tokens in id order. */
export function vocabularyJson(vocabulary: readonly string[]): string {
  return JSON.stringify({ format: "nnc-vocabulary", version: 1, tokens: vocabulary }) + "\n";
}

export function parseVocabulary(text: string, file: string): string[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new DataError("NNC502", `${file}: not a vocabulary file: ${(e as Error).message}`, file);
  }
  const v = value as { format?: unknown; version?: unknown; tokens?: unknown };
  if (typeof v !== "object" || v === null || v.format !== "nnc-vocabulary" || v.version !== 1) {
    throw new DataError("NNC502", `${file}: not a vocabulary file (expected "format": "nnc-vocabulary", "version": 1)`, file);
  }
  const tokens = v.tokens;
  if (!Array.isArray(tokens) || tokens.length < 3 || tokens[0] !== PAD || tokens[1] !== UNK) {
    throw new DataError("NNC502", `${file}: the vocabulary's tokens must start with "${PAD}", "${UNK}" and hold at least one word`, file);
  }
  const seen = new Set<unknown>();
  const bad = tokens.findIndex((t) => {
    if (typeof t !== "string" || t === "" || seen.has(t)) return true;
    seen.add(t);
    return false;
  });
  if (bad >= 0) throw new DataError("NNC502", `${file}: token ${bad} of the vocabulary is ${JSON.stringify(tokens[bad])}; tokens are distinct, non-empty strings`, file);
  return tokens as string[];
}
