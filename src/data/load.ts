// Finding and reading a data set, then fitting it to the model (dataset.ts).
// Sources:
//   "mnist", "fashion-mnist", "spam-assassin"   named data sets (sources.ts)
//   "fortunes"       Debian's fortunes, as character windows for a language model (chars.ts)
//   a directory      IDX files named as MNIST and Fashion-MNIST ship them:
//                    train-images-idx3-ubyte, train-labels-idx1-ubyte, and optionally
//                    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte ("." for the
//                    second "-" and a ".gz" suffix are accepted too); or CIFAR-10's
//                    data_batch_1.bin … data_batch_5.bin and test_batch.bin (cifar.ts)
//   FILE.csv         one example per line; the label is the column named like the
//                    model's target, else the one named `label`, else the first column
//                    when the model has a target; option labelColumn picks another (a
//                    name, a 0-based index, or false for none)
//   FILE.npy         the features; option labels names a .npy of labels beside it
//   FILE.bin         one CIFAR-10 binary file
//   FILE.tsv, .txt   text: `label<TAB>text` lines, or unlabelled lines (text.ts)
// A CSV, NPY, BIN or text source has a test set only when option test (and
// testLabels for NPY) names one. limit applies to the training set only; normalize to both.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { extname, isAbsolute, join, relative } from "node:path";
import { fortunesCorpus, loadCharCorpus } from "./chars.ts";
import { CIFAR_TEST_FILE, CIFAR_TRAIN_FILES, concatRaw, parseCifar } from "./cifar.ts";
import { parseCsv } from "./csv.ts";
import { fitToModel, type DataSpec, type Dataset, type FitOptions, type RawArray, type RawData } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { gunzip, isGzip, parseIdx } from "./idx.ts";
import { parseNpy } from "./npy.ts";
import { fashionMnistDirectory, mnistDirectory, spamAssassin, splitCorpus } from "./sources.ts";
import { buildVocabulary, encodeCorpus, parseTextFile, parseVocabulary, vocabularySize, type TextCorpus } from "./text.ts";

export interface LoadOptions extends FitOptions {
  /** NPY: the labels .npy for the training features. */
  labels?: string;
  /** CSV or NPY: a test file of the same kind. */
  test?: string;
  /** NPY: the labels .npy for the test features. */
  testLabels?: string;
  /** CSV: the label column, by header name or 0-based index; false for none. */
  labelColumn?: string | number | false;
  /** CSV: see parseCsv. */
  header?: "auto" | boolean;
  delimiter?: string;
  /** Text: the vocab.json of a trained model, whose ids new text must get; without it, a vocabulary is built from the training text. */
  vocabularyFile?: string;
}

export interface LoadedData {
  train: Dataset;
  test?: Dataset;
  /** Text: the vocabulary the ids refer to, to save beside the checkpoint. */
  vocabulary?: readonly string[];
}

/** A path as the user would like to read it: relative to the working directory when inside it. */
function display(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel !== "" && !rel.startsWith("..") && !isAbsolute(rel) ? rel : path;
}

export function readBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EACCES" ? "permission denied"
      : code === "EISDIR" ? "is a directory, not a file" : (e as Error).message;
    throw new DataError("NNC501", `${display(path)}: cannot read: ${why}`, path);
  }
}

/** Reads a file, gunzipping it when its bytes say so (data.csv.gz, x.npy.gz). */
function readMaybeGzipped(path: string): Uint8Array {
  const bytes = readBytes(path);
  return isGzip(bytes) ? gunzip(bytes, display(path)) : bytes;
}

function idxFile(dir: string, names: string[], stem: string, kind: string): string | undefined {
  for (const sep of ["-", "."]) {
    for (const gz of ["", ".gz"]) {
      const name = `${stem}${sep}${kind}-ubyte${gz}`;
      if (names.includes(name)) return join(dir, name);
    }
  }
  return undefined;
}

function readIdx(path: string): RawArray {
  const file = display(path);
  return { ...parseIdx(readBytes(path), file), file };
}

function loadIdxDirectory(dir: string, names: string[], specs: readonly DataSpec[], dims: Record<string, number>, options: FitOptions): LoadedData {
  const find = (stem: string, kind: string): string | undefined => idxFile(dir, names, stem, kind);
  const need = (stem: string, kind: string): string => {
    const found = find(stem, kind);
    if (found) return found;
    throw new DataError("NNC501",
      `${display(dir)}: no ${stem}-${kind}-ubyte[.gz] here; a directory of IDX files needs train-images-idx3-ubyte and ` +
      `train-labels-idx1-ubyte, and t10k-images-idx3-ubyte and t10k-labels-idx1-ubyte for a test set`, dir);
  };
  const trainRaw = { features: readIdx(need("train-images", "idx3")), labels: readIdx(need("train-labels", "idx1")) };
  const train = fitToModel(trainRaw, specs, dims, display(dir), options);
  if (!find("t10k-images", "idx3") && !find("t10k-labels", "idx1")) return { train };
  const testRaw = { features: readIdx(need("t10k-images", "idx3")), labels: readIdx(need("t10k-labels", "idx1")) };
  return { train, test: fitToModel(testRaw, specs, dims, display(dir), { normalize: options.normalize, labelsOptional: options.labelsOptional }) };
}

function readCsv(path: string, specs: readonly DataSpec[], options: LoadOptions): RawData {
  const file = display(path);
  const text = new TextDecoder("utf-8").decode(readMaybeGzipped(path));
  const table = parseCsv(text, file, { header: options.header, delimiter: options.delimiter });
  let label: number | undefined;
  const { labelColumn } = options;
  if (typeof labelColumn === "string") {
    label = table.columns?.indexOf(labelColumn) ?? -1;
    if (label < 0) {
      const has = table.columns ? `its columns are ${table.columns.slice(0, 5).join(", ")}${table.columns.length > 5 ? ", …" : ""}` : "it has no header";
      throw new DataError("NNC505", `${file}: no column named "${labelColumn}" for the labels; ${has}`, file);
    }
  } else if (typeof labelColumn === "number") {
    if (!Number.isSafeInteger(labelColumn) || labelColumn < 0 || labelColumn >= table.cols) {
      throw new DataError("NNC505", `${file}: label column ${labelColumn} is out of range; the file has columns 0..${table.cols - 1}`, file);
    }
    label = labelColumn;
  } else if (labelColumn === undefined) {
    // A column named like the model's target (streetlight's `walk`), else `label`, else the first.
    const targets = specs.filter((s) => s.role === "target").map((s) => s.name);
    const asTarget = table.columns?.findIndex((c) => targets.includes(c)) ?? -1;
    const named = asTarget >= 0 ? asTarget : (table.columns?.findIndex((c) => c.toLowerCase() === "label") ?? -1);
    label = named >= 0 ? named : targets.length > 0 ? 0 : undefined;
  }
  const { firstLine } = table;
  if (label === undefined) return { features: { dims: [table.rows, table.cols], data: table.data, file, firstLine } };
  if (table.cols < 2) throw new DataError("NNC504", `${file}: the file has one column, the labels, and no features`, file);

  const width = table.cols - 1;
  const features = new Float64Array(table.rows * width);
  const labels = new Float64Array(table.rows);
  for (let r = 0; r < table.rows; r++) {
    const row = table.data.subarray(r * table.cols, (r + 1) * table.cols);
    labels[r] = row[label]!;
    features.set(row.subarray(0, label), r * width);
    features.set(row.subarray(label + 1), r * width + label);
  }
  return { features: { dims: [table.rows, width], data: features, file, firstLine }, labels: { dims: [table.rows], data: labels, file, firstLine } };
}

function readNpyPair(path: string, labelsPath: string | undefined): RawData {
  const read = (p: string): RawArray => {
    const file = display(p);
    return { ...parseNpy(readMaybeGzipped(p), file), file };
  };
  return labelsPath === undefined ? { features: read(path) } : { features: read(path), labels: read(labelsPath) };
}

function reject(cond: unknown, option: string, why: string, source: string): void {
  if (cond) throw new DataError("NNC505", `${source}: option ${option} makes no sense here: ${why}`, source);
}

function readCifar(path: string): RawData {
  return parseCifar(readBytes(path), display(path));
}

/** CIFAR-10's data_batch_N.bin files (those present, at least one) and test_batch.bin when there. */
function loadCifarDirectory(dir: string, names: string[], specs: readonly DataSpec[], dims: Record<string, number>, fit: FitOptions, testFit: FitOptions): LoadedData {
  const batches = CIFAR_TRAIN_FILES.filter((n) => names.includes(n));
  if (batches.length === 0) {
    throw new DataError("NNC501", `${display(dir)}: a CIFAR-10 directory needs data_batch_1.bin … data_batch_5.bin for training; only ${CIFAR_TEST_FILE} is here`, dir);
  }
  const raw = concatRaw(batches.map((n) => readCifar(join(dir, n))), display(dir));
  const train = fitToModel(raw, specs, dims, display(dir), fit);
  if (!names.includes(CIFAR_TEST_FILE)) return { train };
  return { train, test: fitToModel(readCifar(join(dir, CIFAR_TEST_FILE)), specs, dims, display(dir), testFit) };
}

function readText(path: string, labelled: boolean): TextCorpus {
  const file = display(path);
  return parseTextFile(new TextDecoder("utf-8").decode(readMaybeGzipped(path)), file, labelled);
}

/** Text through a vocabulary (given, or built from the training text) into the model's one input. */
function loadText(train: TextCorpus, test: TextCorpus | undefined, specs: readonly DataSpec[], dims: Record<string, number>, options: LoadOptions): LoadedData {
  reject(options.normalize, "normalize", "text becomes word ids or bags of words, not pixels", train.file);
  const saved = options.vocabularyFile;
  if (saved !== undefined && !existsSync(saved)) {
    throw new DataError("NNC501",
      `${display(saved)}: no vocabulary beside the checkpoint; text needs the one nnc train saved there, to get the ids the model learned`, saved);
  }
  // Built from the rows trained on: with --limit, the words of the rest are unknown.
  const vocabulary = saved === undefined ? buildVocabulary(train.texts.slice(0, options.limit), vocabularySize(specs, dims, train.file))
    : parseVocabulary(new TextDecoder("utf-8").decode(readBytes(saved)), display(saved));
  const fit = (c: TextCorpus, limit?: number): Dataset =>
    fitToModel(encodeCorpus(c, vocabulary, specs, dims), specs, dims, c.file, { limit, labelsOptional: options.labelsOptional });
  const loaded: LoadedData = { train: fit(train, options.limit), vocabulary };
  return test ? { ...loaded, test: fit(test) } : loaded;
}

/** A source given as a file, by its extension. */
function loadFile(path: string, source: string, specs: readonly DataSpec[], dims: Record<string, number>, options: LoadOptions, fit: FitOptions, testFit: FitOptions): LoadedData {
  const csvOnly = options.labelColumn !== undefined || options.header !== undefined || options.delimiter !== undefined;
  const ext = extname(path.replace(/\.gz$/i, "")).toLowerCase();
  if (ext !== ".csv") reject(csvOnly, "labelColumn/header/delimiter", "they apply to CSV files", source);
  if (ext !== ".npy") reject(options.labels ?? options.testLabels, "labels", "only a .npy file keeps its labels in another file", source);
  if (ext === ".csv") {
    const train = fitToModel(readCsv(path, specs, options), specs, dims, display(path), fit);
    if (options.test === undefined) return { train };
    return { train, test: fitToModel(readCsv(options.test, specs, options), specs, dims, display(options.test), testFit) };
  }
  if (ext === ".npy") {
    reject(options.testLabels !== undefined && options.test === undefined, "testLabels", "there is no test file (option test)", source);
    reject(options.test !== undefined && (options.labels === undefined) !== (options.testLabels === undefined),
      "test", "give labels for both the training and the test features, or for neither", source);
    const train = fitToModel(readNpyPair(path, options.labels), specs, dims, display(path), fit);
    if (options.test === undefined) return { train };
    return { train, test: fitToModel(readNpyPair(options.test, options.testLabels), specs, dims, display(options.test), testFit) };
  }
  if (ext === ".bin") {
    const train = fitToModel(readCifar(path), specs, dims, display(path), fit);
    if (options.test === undefined) return { train };
    return { train, test: fitToModel(readCifar(options.test), specs, dims, display(options.test), testFit) };
  }
  if (ext === ".tsv" || ext === ".txt") {
    const test = options.test === undefined ? undefined : readText(options.test, extname(options.test.replace(/\.gz$/i, "")).toLowerCase() === ".tsv");
    return loadText(readText(path, ext === ".tsv"), test, specs, dims, options);
  }
  throw new DataError("NNC502",
    `${source}: unrecognised data source; expected mnist, fashion-mnist, spam-assassin, fortunes, a directory of IDX or CIFAR-10 files, ` +
    `or a .csv, .npy, .bin (CIFAR-10), .tsv or .txt (text) file`, source);
}

/**
 * Reads a data source and fits it to the model's inputs and targets.
 * `specs` are the model's `input` and `target` declarations; `dims` the sizes
 * of named dims (batch excepted).
 */
export function loadDataset(
  source: string,
  specs: readonly DataSpec[],
  dims: Record<string, number>,
  options: LoadOptions = {},
): LoadedData {
  const fit: FitOptions = { limit: options.limit, normalize: options.normalize, labelsOptional: options.labelsOptional };
  const testFit: FitOptions = { normalize: options.normalize, labelsOptional: options.labelsOptional };
  const csvOnly = options.labelColumn !== undefined || options.header !== undefined || options.delimiter !== undefined;
  if (source === "spam-assassin") {
    reject(options.test ?? options.labels ?? options.testLabels, "test/labels", "the corpus holds its labels, and a fifth of it is the test set", source);
    reject(csvOnly, "labelColumn/header/delimiter", "they apply to CSV files", source);
    const { train, test } = splitCorpus(spamAssassin());
    return loadText(train, test, specs, dims, options);
  }
  if (source === "fortunes") {
    reject(options.test ?? options.labels ?? options.testLabels, "test/labels", "every tenth fortune is the validation set, and the labels are the next characters", source);
    reject(csvOnly, "labelColumn/header/delimiter", "they apply to CSV files", source);
    reject(options.normalize, "normalize", "text becomes character ids, not pixels", source);
    const saved = options.vocabularyFile;
    if (saved !== undefined && !existsSync(saved)) {
      throw new DataError("NNC501", `${display(saved)}: no vocabulary beside the checkpoint; the model's ids are those nnc train saved there`, saved);
    }
    const vocabulary = saved === undefined ? undefined : parseVocabulary(new TextDecoder("utf-8").decode(readBytes(saved)), display(saved));
    return loadCharCorpus(fortunesCorpus(), specs, dims, { limit: options.limit, labelsOptional: options.labelsOptional, ...(vocabulary ? { vocabulary } : {}) });
  }
  const path = source === "mnist" ? mnistDirectory() : source === "fashion-mnist" ? fashionMnistDirectory() : source;
  let names: string[] | undefined;
  try {
    names = statSync(path).isDirectory() ? readdirSync(path) : undefined;
  } catch {
    throw new DataError("NNC501", `${source}: no such file or directory`, source);
  }
  if (!names) return loadFile(path, source, specs, dims, options, fit, testFit);
  reject(options.test ?? options.testLabels, "test", "a directory holds its own test set (t10k-… or test_batch.bin)", source);
  reject(options.labels, "labels", "a directory holds its own labels", source);
  reject(csvOnly, "labelColumn/header/delimiter", "they apply to CSV files", source);
  if (names.includes(CIFAR_TEST_FILE) || CIFAR_TRAIN_FILES.some((n) => names.includes(n))) {
    return loadCifarDirectory(path, names, specs, dims, fit, testFit);
  }
  return loadIdxDirectory(path, names, specs, dims, fit);
}
