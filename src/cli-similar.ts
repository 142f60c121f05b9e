// `nnc similar CHECKPOINT WORD…`: the words whose embedding rows point the
// same way as WORD's (cosine similarity; or, with --metric euclidean, the
// book's own measure, the distance between rows), read from a trained checkpoint and
// the vocabulary nnc train saved beside it. Grokking Deep Learning's lesson 11
// ("words similar to 'beautiful'"): a net that sums words' rows of E to
// classify text learns rows that place words which push the answer alike
// near one another. Needs no .nn file: the checkpoint names its params and
// their shapes, and the embedding is the param with one row per word.
import { dirname, join } from "node:path";
import { Option, type Command } from "commander";
import { parseCheckpoint } from "./backend/cpu/runtime/checkpoint.ts";
import { formatOption, UsageError } from "./cli-common.ts";
import { CodedError, readBinaryFile, shownPath } from "./cli-files.ts";
import { DataError, parseVocabulary, PAD, UNK, VOCABULARY_FILE } from "./data/index.ts";
import { closest } from "./diag/suggest.ts";

/** A [rows, width] param of a checkpoint, row-major. */
export interface Embedding {
  name: string;
  shape: [rows: number, width: number];
  data: Float32Array;
}

export interface Neighbour {
  word: string;
  id: number;
  score: number;
}

/** Every param of a checkpoint (tensors named `param/NAME`), by name, in the checkpoint's order. */
export function checkpointParams(bytes: Uint8Array, file: string): Map<string, { shape: number[]; data: Float32Array }> {
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(bytes);
  } catch (e) {
    throw new CodedError("NNC507", `${shownPath(file)}: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}`, "give a checkpoint nnc train wrote (checkpoint.nnck or best.nnck)");
  }
  const params = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const t of parsed.header.tensors) {
    if (!t.name.startsWith("param/")) continue;
    const data = new Float32Array(t.length);
    for (let i = 0; i < t.length; i++) data[i] = parsed.data.getFloat32(t.offset + 4 * i, true);
    params.set(t.name.slice("param/".length), { shape: t.shape, data });
  }
  return params;
}

const shapeText = (shape: readonly number[]) => `[${shape.join(", ")}]`;
const listParams = (params: ReadonlyMap<string, { shape: number[] }>) =>
  [...params].map(([name, p]) => `${shownPath(name)} ${shapeText(p.shape)}`).join(", ") || "none";

/**
 * The embedding: `--param NAME`, else the one 2-D param with a row per word
 * (first axis the vocabulary's size). When the corpus had fewer distinct
 * words than the model's `vocab` dim, the vocabulary is shorter than the
 * table: a table with more rows than words fits (the extra rows are ids no
 * word was given, so never trained), but one whose rows match exactly wins.
 */
export function chooseEmbedding(params: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, words: number, asked: string | undefined, file: string): Embedding {
  const fits = (shape: readonly number[]) => shape.length === 2 && shape[0]! >= words && shape[1]! >= 1;
  if (asked !== undefined) {
    const p = params.get(asked);
    if (!p) {
      const near = closest(asked, params.keys());
      throw new CodedError("NNC542", `${shownPath(file)} has no param \`${shownPath(asked)}\`; its params are ${listParams(params)}`,
        near !== undefined ? `did you mean \`--param ${shownPath(near)}\`?` : "name one of its params with --param");
    }
    if (!fits(p.shape)) {
      throw new CodedError("NNC543", `--param ${shownPath(asked)} is ${shapeText(p.shape)}, not an embedding [${words}, d]: one row per word of the ${words}-word vocabulary`,
        "name the param the model looks words up in (the table of embed(ids, E), or the first matrix of a bag of words)");
    }
    return { name: asked, shape: [p.shape[0]!, p.shape[1]!], data: p.data };
  }
  const candidates = [...params].filter(([, p]) => fits(p.shape));
  const exact = candidates.filter(([, p]) => p.shape[0] === words);
  const chosen = exact.length > 0 ? exact : candidates;
  if (chosen.length === 0) {
    throw new CodedError("NNC542", `${shownPath(file)} has no embedding: no param is [${words}, d], one row per word of the ${words}-word vocabulary; its params are ${listParams(params)}`,
      "check that this checkpoint belongs to the vocabulary beside it (a model trained on text), or name the param with --param");
  }
  if (chosen.length > 1) {
    throw new CodedError("NNC544", `several params of ${shownPath(file)} could be the embedding: ${listParams(new Map(chosen))}`,
      `choose one with --param (for example \`--param ${shownPath(chosen[0]![0])}\`)`);
  }
  const [name, p] = chosen[0]!;
  return { name, shape: [p.shape[0]!, p.shape[1]!], data: p.data };
}

/** Euclidean norms of the first `rows` rows, in float64. */
function rowNorms(e: Embedding, rows: number): Float64Array {
  const [, d] = e.shape;
  const norms = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < d; j++) s += e.data[r * d + j]! ** 2;
    norms[r] = Math.sqrt(s);
  }
  return norms;
}

/** How rows are compared: the angle between them, or (the book's `similar`) minus the distance between them. */
export type Metric = "cosine" | "euclidean";

/**
 * The `top` words whose rows are nearest to row `id`, in float64, best
 * first, ties by id: the highest cosine similarity, or with "euclidean" the
 * highest score −‖E[r] − E[id]‖ (the seed material's own measure, which
 * also weighs a row's length). The word itself, <pad> and <unk> are left out
 * (they are not words a reader compares with). A zero row has no direction:
 * its cosine similarity to anything is taken as 0.
 */
export function nearestWords(e: Embedding, vocabulary: readonly string[], id: number, top: number, metric: Metric = "cosine"): Neighbour[] {
  const [, d] = e.shape;
  const rows = vocabulary.length;
  const norms = metric === "cosine" ? rowNorms(e, rows) : undefined;
  const scored: Neighbour[] = [];
  for (let r = 0; r < rows; r++) {
    const word = vocabulary[r]!;
    if (r === id || word === PAD || word === UNK) continue;
    let sum = 0;
    if (norms) {
      for (let j = 0; j < d; j++) sum += e.data[id * d + j]! * e.data[r * d + j]!;
      const norm = norms[id]! * norms[r]!;
      scored.push({ word, id: r, score: norm === 0 ? 0 : sum / norm });
    } else {
      for (let j = 0; j < d; j++) sum += (e.data[r * d + j]! - e.data[id * d + j]!) ** 2;
      scored.push({ word, id: r, score: -Math.sqrt(sum) });
    }
  }
  scored.sort((a, b) => b.score - a.score || a.id - b.id);
  return scored.slice(0, top);
}

/** vocab.json beside the checkpoint (or the file given); missing or damaged, it is NNC541. */
function readVocabulary(path: string): string[] {
  const help = "nnc train saves vocab.json beside the checkpoint when it trains on text (--data spam-assassin, or a .tsv file); keep it there, or name it with --vocabulary";
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(readBinaryFile(path, "vocabulary"));
  } catch (e) {
    const reason = e instanceof CodedError ? e.message.replace(/^cannot read /, "") : (e as Error).message;
    throw new CodedError("NNC541", `no vocabulary: cannot read ${reason}`, help);
  }
  try {
    return parseVocabulary(text, shownPath(path));
  } catch (e) {
    // The parser's message may quote the file: its control characters are escaped, as in a path.
    if (e instanceof DataError) throw new CodedError("NNC541", `no usable vocabulary: ${shownPath(e.message)}`, help);
    throw e;
  }
}

/** A query word's id: as given, else lower-cased as training text is; every unknown word is reported, each with the closest word. */
function wordIds(words: readonly string[], vocabulary: readonly string[], vocabularyFile: string): number[] {
  const ids = new Map(vocabulary.map((w, i) => [w, i]));
  const errors: CodedError[] = [];
  const found = words.map((w) => {
    const id = ids.get(w) ?? ids.get(w.toLowerCase());
    if (id !== undefined) return id;
    const near = closest(w.toLowerCase(), vocabulary.slice(2));
    errors.push(new CodedError("NNC540", `\`${shownPath(w)}\` is not in the vocabulary (${shownPath(vocabularyFile)}, ${vocabulary.length} words)`,
      near !== undefined ? `did you mean \`${shownPath(near)}\`?` : "the vocabulary holds the training text's most frequent words, lower-cased"));
    return -1;
  });
  if (errors.length > 0) throw new SeveralErrors(errors);
  return found;
}

class SeveralErrors extends Error {
  constructor(readonly errors: CodedError[]) {
    super(errors.map((e) => e.message).join("; "));
  }
}

interface SimilarFlags {
  param?: string;
  top: number;
  metric?: Metric;
  format: "text" | "json";
  vocabulary?: string;
}

/** What the command prints, for both formats. */
export interface SimilarResult {
  checkpoint: string;
  vocabulary: string;
  param: string;
  shape: [number, number];
  metric: Metric;
  words: { word: string; id: number; nearest: Neighbour[] }[];
}

export function similar(checkpoint: string, words: readonly string[], flags: Omit<SimilarFlags, "format">): SimilarResult {
  const vocabularyFile = flags.vocabulary ?? join(dirname(checkpoint), VOCABULARY_FILE);
  const bytes = readBinaryFile(checkpoint, "checkpoint");
  const params = checkpointParams(bytes, checkpoint);
  const vocabulary = readVocabulary(vocabularyFile);
  const e = chooseEmbedding(params, vocabulary.length, flags.param, checkpoint);
  const ids = wordIds(words, vocabulary, vocabularyFile);
  return {
    checkpoint: shownPath(checkpoint),
    vocabulary: shownPath(vocabularyFile),
    param: e.name,
    shape: e.shape,
    metric: flags.metric ?? "cosine",
    words: ids.map((id) => ({ word: vocabulary[id]!, id, nearest: nearestWords(e, vocabulary, id, flags.top, flags.metric) })),
  };
}

export function formatSimilar(r: SimilarResult): string {
  const by = r.metric === "cosine" ? "cosine similarity" : "Euclidean distance (the score is minus the distance)";
  const lines = [`# nearest words by ${by} of the rows of ${shownPath(r.param)} ${shapeText(r.shape)}, from ${r.checkpoint}`];
  for (const q of r.words) {
    const width = Math.max(0, ...q.nearest.map((n) => [...shownPath(n.word)].length));
    lines.push("", `${shownPath(q.word)}:`);
    for (const n of q.nearest) lines.push(`  ${shownPath(n.word).padEnd(width)}  ${n.score >= 0 ? " " : ""}${n.score.toFixed(4)}`);
  }
  return lines.join("\n") + "\n";
}

function positiveInt(v: string): number {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new UsageError(`--top expects a positive whole number, got \`${v}\``);
  return Number(v);
}

export function addSimilarCommand(program: Command): void {
  program
    .command("similar")
    .description("the words nearest to each WORD by cosine similarity of a trained embedding's rows (Grokking Deep Learning, lesson 11)")
    .argument("<checkpoint>", "a checkpoint nnc train wrote for a model trained on text (vocab.json beside it)")
    .argument("<words...>", "words of the vocabulary")
    .option("--param <name>", "the embedding param (default: the one [vocab, d] param, a row per word)")
    .option("--top <n>", "how many neighbours per word", positiveInt, 10)
    .addOption(new Option("--metric <metric>", "cosine similarity, or euclidean: minus the distance, the seed material's measure").choices(["cosine", "euclidean"]).default("cosine"))
    .option("--vocabulary <file>", `the vocabulary (default: ${VOCABULARY_FILE} beside the checkpoint)`)
    .addOption(formatOption())
    .action((checkpoint: string, words: string[], flags: SimilarFlags) => {
      let result: SimilarResult;
      try {
        result = similar(checkpoint, words, flags);
      } catch (e) {
        if (!(e instanceof SeveralErrors)) throw e;
        for (const err of e.errors) process.stderr.write(err.render());
        process.exitCode = 1;
        return;
      }
      process.stdout.write(flags.format === "json" ? JSON.stringify(result, null, 2) + "\n" : formatSimilar(result));
      process.exitCode = 0;
    });
}
