// What every emitted module needs besides kernels: reading dims, checking the
// arrays a caller passes, training options, and checkpoints. Checkpoints are
// version 1 of the format in docs/checkpoint.md: "NNCK", a version, a JSON
// header, then every tensor as little-endian float32.

/** A dim's size: the one given, else the default; a clear error otherwise. */
export function dimension(dims: object, name: string, fallback: number | undefined): number {
  // Own properties only: a dim named `constructor` or `toString` must not read Object.prototype's.
  const value = Object.hasOwn(dims, name) ? (dims as Record<string, number | undefined>)[name] ?? fallback : fallback;
  if (value === undefined) throw new Error(`createModel: dims.${name} is required`);
  if (!Number.isInteger(value) || value < 1) throw new Error(`createModel: dims.${name} must be a positive integer, got ${String(value)}`);
  return value;
}

/** The array a caller passed for `name`, if it has the type and size the model expects. */
export function checked<T extends Float32Array | Int32Array>(
  value: unknown,
  name: string,
  type: { new (n: number): T; readonly name: string },
  size: number,
  shape: string,
  dims: Record<string, number>,
): T {
  if (!(value instanceof type)) {
    const got = value === undefined || value === null ? "nothing" : typeof value === "object" ? value.constructor.name : typeof value;
    throw new Error(`${name}: expected a ${type.name} of shape ${shape}, got ${got}`);
  }
  if (value.length !== size) {
    throw new Error(`${name}: expected shape ${shape} (${size} values${Object.keys(dims).length > 0 ? ` with ${Object.entries(dims).map(([k, v]) => `${k} = ${v}`).join(", ")}` : ""}), got ${value.length} values`);
  }
  return value;
}

/** A training option, or its default; finite and not negative. */
export function option(value: number | undefined, fallback: number, name: string): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new Error(`trainStep: ${name} must be a finite non-negative number, got ${String(v)}`);
  return v;
}

/** A tensor a checkpoint holds: its name, where it lives in the arena, and its shape. */
export type TensorEntry = readonly [name: string, offset: number, shape: readonly number[]];

/** "NNCK" read as a little-endian u32. */
export const CHECKPOINT_MAGIC = 0x4b434e4e;
export const CHECKPOINT_VERSION = 1;

export function writeCheckpoint(model: string, dims: Record<string, number>, step: number, seed: number, f32: Float32Array, entries: readonly TensorEntry[]): Uint8Array {
  let offset = 0;
  const tensors = entries.map(([name, , shape]) => {
    const length = shape.reduce((a, b) => a * b, 1);
    const t = { name, shape, offset, length };
    offset += length * 4;
    return t;
  });
  const head = new TextEncoder().encode(JSON.stringify({ format: "nnc-checkpoint", version: CHECKPOINT_VERSION, model, dims, step, seed, tensors }));
  const start = 12 + Math.ceil(head.length / 4) * 4;
  const bytes = new Uint8Array(start + offset);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, CHECKPOINT_MAGIC, true);
  view.setUint32(4, CHECKPOINT_VERSION, true);
  view.setUint32(8, head.length, true);
  bytes.set(head, 12);
  entries.forEach(([, at], i) => {
    const t = tensors[i]!;
    for (let j = 0; j < t.length; j++) view.setFloat32(start + t.offset + j * 4, f32[at + j]!, true);
  });
  return bytes;
}

/**
 * Loads a checkpoint's tensors into the arena and returns the step and seed
 * to continue from (dropout masks follow them). Everything is checked before
 * anything is written, so a bad checkpoint leaves the model as it was.
 */
export function readCheckpoint(bytes: Uint8Array, model: string, f32: Float32Array, entries: readonly TensorEntry[]): [step: number, seed: number] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || view.getUint32(0, true) !== CHECKPOINT_MAGIC) throw new Error("loadCheckpoint: not an nnc checkpoint");
  const version = view.getUint32(4, true);
  if (version !== CHECKPOINT_VERSION) throw new Error(`loadCheckpoint: checkpoint format version ${version} is not supported (this module reads version ${CHECKPOINT_VERSION})`);
  const length = view.getUint32(8, true);
  if (12 + length > bytes.length) throw new Error("loadCheckpoint: the checkpoint is truncated");
  let head: { model: string; step: number; seed: number; tensors: { name: string; shape: number[]; offset: number; length: number }[] };
  try {
    head = JSON.parse(new TextDecoder().decode(bytes.subarray(12, 12 + length)));
  } catch {
    throw new Error("loadCheckpoint: the checkpoint's header is corrupt");
  }
  if (head.model !== model) throw new Error(`loadCheckpoint: the checkpoint is of model "${head.model}", not "${model}"`);
  const start = 12 + Math.ceil(length / 4) * 4;
  const found = new Map(head.tensors.map((t) => [t.name, t]));
  for (const [name, , shape] of entries) {
    const t = found.get(name);
    if (t === undefined) {
      if (name.startsWith("param/")) throw new Error(`loadCheckpoint: the checkpoint has no ${name.slice(6)}`);
      continue;
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`loadCheckpoint: ${name} has shape [${t.shape.join(", ")}] in the checkpoint but [${shape.join(", ")}] in this model`);
    }
    if (start + t.offset + t.length * 4 > bytes.length) throw new Error("loadCheckpoint: the checkpoint is truncated");
  }
  for (const [name, at] of entries) {
    const t = found.get(name);
    if (t === undefined) continue;
    for (let j = 0; j < t.length; j++) f32[at + j] = view.getFloat32(start + t.offset + j * 4, true);
  }
  return [head.step, head.seed >>> 0];
}
