// The bridge from arrays read off disk to a model's declared inputs and
// targets. The model's `input`/`target` declarations arrive as DataSpecs; the
// data as one features array and an optional labels array, first axis = rows.
// Matching is by values per row (row-major order is kept, so 28×28 images feed
// [batch, 784] or [batch, 28, 28, 1] alike); class labels become one-hot rows
// for a [batch, C] float target. Anything that does not fit is an NNC504 that
// says what the model expects and what the data has; nothing is guessed.

import { DataError, formatSize, plural } from "./errors.ts";

/** One `input` or `target` of the model. shape[0] is the batch axis. */
export interface DataSpec {
  name: string;
  shape: readonly (number | string)[];
  dtype: "f32" | "i32";
  role: "input" | "target";
  /** For an integer target of class ids: how many classes there are (labels must lie in 0..classes − 1). */
  classes?: number;
}

/** Every named array holds all rows contiguously: rows × (values per row). */
export interface Dataset {
  readonly rows: number;
  readonly columns: ReadonlyMap<string, Float32Array | Int32Array>;
}

export interface RawArray {
  dims: number[];
  data: ArrayLike<number>;
  /** The file it came from, for messages; the `file` given to fitToModel otherwise. */
  file?: string;
  /** For text files (CSV): the line row 0 came from, so messages say `file:line` rather than a row from 0. */
  firstLine?: number;
}

/** "file:line: the features hold" for a text file, else "file: row r of the features holds". */
function rowHolds(a: RawArray, r: number, what: string, file: string): string {
  return a.firstLine !== undefined ? `${file}:${a.firstLine + r}: the ${what} hold` : `${file}: row ${r} of the ${what} holds`;
}

export interface RawData {
  features: RawArray;
  labels?: RawArray;
}

export interface FitOptions {
  /** Keep the first N rows, in file order (an integer ≥ 1, at most the rows there are). */
  limit?: number;
  /** Divide the features by 255 (true) or by the given number; float inputs only. */
  normalize?: boolean | number;
  /** Data without labels feeds only the inputs (for predictions) instead of being an error. */
  labelsOptional?: boolean;
}

export interface Resolved extends DataSpec {
  rowSize: number;
  text: string; // "l0: [batch, 784]"
}

/** A spec with its values per row worked out from the dims; NNC504 when a size is unknown. */
export function resolveSpec(spec: DataSpec, dims: Record<string, number>, file: string): Resolved {
  const text = `${spec.name}: ${spec.dtype === "i32" ? "int" : ""}[${spec.shape.join(", ")}]`;
  if (spec.shape.length === 0) {
    throw new DataError("NNC504", `${file}: the model's ${spec.role} ${text} has no batch axis, so rows of data cannot feed it`, file);
  }
  let rowSize = 1;
  for (const axis of spec.shape.slice(1)) {
    const size = typeof axis === "number" ? axis : dims[axis];
    if (size === undefined) {
      throw new DataError("NNC504",
        `${file}: the model's ${spec.role} ${text} uses the size \`${axis}\`, which has no value; give it with --dim ${axis}=N`, file);
    }
    if (!Number.isSafeInteger(size) || size < 1) {
      throw new DataError("NNC504", `${file}: the model's ${spec.role} ${text} has the size ${String(axis)} = ${size}; sizes must be whole numbers ≥ 1`, file);
    }
    rowSize *= size;
  }
  return { ...spec, rowSize, text };
}

function checkOptions(options: FitOptions, file: string): { limit?: number; scale?: number; pixels: boolean } {
  const { limit, normalize } = options;
  if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 1)) {
    throw new DataError("NNC505", `${file}: --limit must be a whole number of rows ≥ 1; got ${limit}`, file);
  }
  if (typeof normalize === "number" && !(Number.isFinite(normalize) && normalize > 0)) {
    throw new DataError("NNC505", `${file}: --normalize must be a number > 0 to divide the features by; got ${normalize}`, file);
  }
  const scale = normalize === true ? 255 : normalize === false ? undefined : normalize;
  return { limit, scale, pixels: normalize === true };
}

function checkArray(a: RawArray, what: string, file: string): number {
  const name = a.file ?? file;
  if (a.dims.length === 0) throw new DataError("NNC504", `${name}: the ${what} are a single value; expected one row per example`, name);
  const n = a.dims.reduce((x, y) => x * y, 1);
  if (a.data.length !== n) {
    throw new DataError("NNC504", `${name}: the ${what} have ${a.data.length} values but their shape ${a.dims.join("×")} needs ${n}`, name);
  }
  if (a.dims[0] === 0) throw new DataError("NNC504", `${name}: the ${what} have no rows`, name);
  return a.dims[0]!;
}

/** "several arrays are missing" message shared by inputs and targets. */
function onlyOneArray(role: string, specs: Resolved[], fits: (s: Resolved) => boolean, what: string, file: string): never {
  const fed = specs.filter(fits);
  const missing = specs.filter((s) => s !== fed[0]);
  const feeds = fed.length > 0 ? `, which fits ${fed[0]!.name}` : ", which fits none of them";
  throw new DataError("NNC504",
    `${file}: the model has ${plural(specs.length, role)} (${specs.map((s) => s.text).join("; ")}) but the data gives ` +
    `one ${what}${feeds}; missing: ${missing.map((s) => s.name).join(", ")}`, file);
}

function toInt32(a: RawArray, rows: number, size: number, what: string, file: string): Int32Array {
  const out = new Int32Array(rows * size);
  for (let i = 0; i < out.length; i++) {
    const v = a.data[i]!;
    if (!Number.isInteger(v) || v < -2147483648 || v > 2147483647) {
      throw new DataError("NNC504", `${rowHolds(a, Math.floor(i / size), what, file)} ${v}; an int input or target needs whole numbers that fit in 32 bits`, file);
    }
    out[i] = v;
  }
  return out;
}

function toFloat32(a: RawArray, rows: number, size: number, scale: number, what: string, file: string): Float32Array {
  const out = new Float32Array(rows * size);
  for (let i = 0; i < out.length; i++) {
    const v = a.data[i]!;
    if (!Number.isFinite(v)) throw new DataError("NNC504", `${rowHolds(a, Math.floor(i / size), what, file)} ${v}; every value must be a finite number`, file);
    out[i] = v / scale;
  }
  return out;
}

/** With --normalize (÷255), the features must look like 0..255 pixels; dividing twice is silently wrong. */
function checkPixels(a: RawArray, count: number, file: string): void {
  let max = -Infinity, min = Infinity, fractional = false;
  for (let i = 0; i < count; i++) {
    const v = a.data[i]!;
    if (v > max) max = v;
    if (v < min) min = v;
    if (!fractional && !Number.isInteger(v)) fractional = true;
  }
  if (min < 0 || max > 255) {
    throw new DataError("NNC505", `${file}: --normalize divides by 255, for pixels in 0..255, but the features range over ${min}..${max}; give --normalize N to divide by N, or leave it out`, file);
  }
  if (fractional && max <= 1) {
    throw new DataError("NNC505", `${file}: --normalize divides by 255, but the features already lie in 0..1; leave --normalize out`, file);
  }
}

function fitFeatures(raw: RawArray, input: Resolved, rows: number, opts: ReturnType<typeof checkOptions>, file: string): Float32Array | Int32Array {
  const name = raw.file ?? file;
  const perRow = raw.dims.slice(1);
  const size = perRow.reduce((x, y) => x * y, 1);
  if (size !== input.rowSize) {
    throw new DataError("NNC504",
      `${name}: the model's input ${input.text} expects ${input.rowSize} values per row; the data has ${formatSize(perRow)} values per row`, name);
  }
  if (input.dtype === "i32") {
    if (opts.scale !== undefined) throw new DataError("NNC505", `${name}: --normalize makes no sense for the int input ${input.text} (ids)`, name);
    return toInt32(raw, rows, size, "features", name);
  }
  if (opts.pixels) checkPixels(raw, rows * size, name);
  return toFloat32(raw, rows, size, opts.scale ?? 1, "features", name);
}

function fitLabels(raw: RawArray, target: Resolved, rows: number, file: string): Float32Array | Int32Array {
  const name = raw.file ?? file;
  const perRow = raw.dims.slice(1);
  const size = perRow.reduce((x, y) => x * y, 1);
  if (size === target.rowSize) {
    if (target.dtype !== "i32") return toFloat32(raw, rows, size, 1, "labels", name);
    const ids = toInt32(raw, rows, size, "labels", name);
    const classes = target.classes;
    const bad = classes === undefined ? -1 : ids.findIndex((k) => k < 0 || k >= classes);
    if (bad >= 0) {
      const r = Math.floor(bad / size);
      throw new DataError("NNC504",
        `${raw.firstLine !== undefined ? `${name}:${raw.firstLine + r}: the label` : `${name}: the label of row ${r}`} is ${ids[bad]}, but the model's target ${target.text} has ${classes} classes (labels 0..${classes! - 1})`, name);
    }
    return ids;
  }
  if (size !== 1 || target.dtype !== "f32" || target.shape.length !== 2) {
    const oneHot = target.dtype === "f32" && target.shape.length === 2 ? ` (or one class index per row, to one-hot encode)` : "";
    throw new DataError("NNC504",
      `${name}: the model's target ${target.text} expects ${target.rowSize} values per row${oneHot}; the labels have ${formatSize(perRow)}`, name);
  }
  // One class index per row → a one-hot row of the target's width.
  const classes = target.rowSize;
  const out = new Float32Array(rows * classes);
  for (let r = 0; r < rows; r++) {
    const label = raw.data[r]!;
    if (!Number.isInteger(label) || label < 0 || label >= classes) {
      throw new DataError("NNC504",
        `${raw.firstLine !== undefined ? `${name}:${raw.firstLine + r}: the label` : `${name}: the label of row ${r}`} is ${label}, but the model's target ${target.text} has ${classes} classes (labels 0..${classes - 1})`, name);
    }
    out[r * classes + label] = 1;
  }
  return out;
}

/**
 * Fits raw arrays to the model: the features feed the model's one input, the
 * labels its one target. Labels are ignored when the model declares no target
 * (its loss then uses only inputs, as an autoencoder's does).
 */
export function fitToModel(
  raw: RawData,
  specs: readonly DataSpec[],
  dims: Record<string, number>,
  file: string,
  options: FitOptions = {},
): Dataset {
  const opts = checkOptions(options, file);
  const total = checkArray(raw.features, "features", file);
  if (raw.labels) {
    const labelRows = checkArray(raw.labels, "labels", file);
    if (labelRows !== total) {
      const f = raw.features.file ?? "the features", l = raw.labels.file ?? "the labels";
      throw new DataError("NNC504", `${file}: ${f} has ${total} rows but ${l} has ${labelRows}; every example needs one label`, file);
    }
  }
  if (opts.limit !== undefined && opts.limit > total) {
    throw new DataError("NNC505", `${file}: --limit ${opts.limit} asks for more rows than the ${total} there are`, file);
  }
  const rows = opts.limit ?? total;

  const inputs = specs.filter((s) => s.role === "input").map((s) => resolveSpec(s, dims, file));
  const targets = specs.filter((s) => s.role === "target").map((s) => resolveSpec(s, dims, file));
  if (inputs.length === 0) throw new DataError("NNC504", `${file}: the model declares no input for the data to feed`, file);
  const featureSize = raw.features.dims.slice(1).reduce((x, y) => x * y, 1);
  if (inputs.length > 1) {
    onlyOneArray("input", inputs, (s) => s.rowSize === featureSize, `array of features (${formatSize(raw.features.dims.slice(1))} values per row)`, file);
  }
  const columns = new Map<string, Float32Array | Int32Array>();
  columns.set(inputs[0]!.name, fitFeatures(raw.features, inputs[0]!, rows, opts, file));

  if (targets.length > 0 && !(options.labelsOptional && !raw.labels)) {
    if (!raw.labels) {
      throw new DataError("NNC504", `${file}: the model's target ${targets.map((t) => t.text).join(", ")} needs labels, but the data has none`, file);
    }
    if (targets.length > 1) {
      const labelSize = raw.labels.dims.slice(1).reduce((x, y) => x * y, 1);
      onlyOneArray("target", targets, (t) => t.rowSize === labelSize || (labelSize === 1 && t.shape.length === 2), "array of labels", file);
    }
    columns.set(targets[0]!.name, fitLabels(raw.labels, targets[0]!, rows, file));
  }
  return { rows, columns };
}
