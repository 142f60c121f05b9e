// Checkpoints: version 2 of the format in docs/checkpoint.md ("NNCK", a
// version, a header length, a CRC-32 of everything after it, a JSON header,
// then every tensor as little-endian float32). Version 1 (no checksum) is
// still read. Every header field is validated before a byte is used, so a
// damaged or edited file is an error naming what is wrong, never a model
// that silently holds other numbers. nnc train reads and rewrites the header
// with the same functions (src/cli-train.ts), so there is one parser.

/** A tensor a checkpoint holds: its name, where it lives in the arena, and its shape. */
export type TensorEntry = readonly [name: string, offset: number, shape: readonly number[]];

/** One tensor as the header describes it: `offset` counts bytes from the start of the data section. */
export interface CheckpointTensor {
  name: string;
  shape: number[];
  offset: number;
  length: number;
}

export interface CheckpointHeader {
  format: string;
  version: number;
  model: string;
  dims: Record<string, number>;
  step: number;
  seed: number;
  tensors: CheckpointTensor[];
  /** What nnc train adds so that --resume can continue exactly (src/train/files.ts); other writers leave it out. */
  train?: unknown;
}

export interface ParsedCheckpoint {
  header: CheckpointHeader;
  /** The data section: tensor `t` is `data[t.offset / 4 …]` as little-endian float32. */
  data: DataView;
}

/** "NNCK" read as a little-endian u32. */
export const CHECKPOINT_MAGIC = 0x4b434e4e;
export const CHECKPOINT_VERSION = 2;

/** CRC-32 (IEEE 802.3, the one of zip and PNG) of `bytes`. */
export function checksumOfCheckpoint(bytes: Uint8Array): number {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = table[(crc ^ bytes[i]!) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A version 2 checkpoint of a header and its data section (whose length the header's tensors must account for). */
export function encodeCheckpoint(header: CheckpointHeader, data: Uint8Array): Uint8Array {
  const head = new TextEncoder().encode(JSON.stringify({ ...header, format: "nnc-checkpoint", version: CHECKPOINT_VERSION }));
  const start = 16 + Math.ceil(head.length / 4) * 4;
  const bytes = new Uint8Array(start + data.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, CHECKPOINT_MAGIC, true);
  view.setUint32(4, CHECKPOINT_VERSION, true);
  view.setUint32(8, head.length, true);
  bytes.set(head, 16);
  bytes.set(data, start);
  view.setUint32(12, checksumOfCheckpoint(bytes.subarray(16)), true);
  return bytes;
}

export function writeCheckpoint(model: string, dims: Record<string, number>, step: number, seed: number, f32: Float32Array, entries: readonly TensorEntry[]): Uint8Array {
  let offset = 0;
  const tensors = entries.map(([name, , shape]) => {
    const length = shape.reduce((a, b) => a * b, 1);
    const t = { name, shape: [...shape], offset, length };
    offset += length * 4;
    return t;
  });
  const data = new Uint8Array(offset);
  const view = new DataView(data.buffer);
  entries.forEach(([, at], i) => {
    const t = tensors[i]!;
    for (let j = 0; j < t.length; j++) view.setFloat32(t.offset + j * 4, f32[at + j]!, true);
  });
  return encodeCheckpoint({ format: "nnc-checkpoint", version: CHECKPOINT_VERSION, model, dims, step, seed, tensors }, data);
}

/** Whether `v` is a whole number from `min` to `max`. */
function wholeIn(v: unknown, min: number, max: number): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= min && v <= max;
}

/** The header's tensors, checked to lie one after another from offset 0 with lengths that match their shapes; returns the data section's length. */
function tensorsOfCheckpoint(tensors: unknown): number {
  if (!Array.isArray(tensors)) throw new Error("loadCheckpoint: the header has no `tensors` list");
  const names = new Set<string>();
  let offset = 0;
  for (const t of tensors as Partial<CheckpointTensor>[]) {
    const name = typeof t?.name === "string" && t.name !== "" ? t.name : undefined;
    if (name === undefined) throw new Error(`loadCheckpoint: tensor ${names.size + 1} of the header has no name`);
    if (names.has(name)) throw new Error(`loadCheckpoint: the header lists ${name} twice`);
    names.add(name);
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => wholeIn(d, 0, 2 ** 31))) throw new Error(`loadCheckpoint: ${name} has no valid shape in the header`);
    const size = shape.reduce((a: number, b: number) => a * b, 1);
    if (t.length !== size) throw new Error(`loadCheckpoint: ${name} has length ${String(t.length)} in the header but its shape [${shape.join(", ")}] holds ${size} values`);
    if (t.offset !== offset) throw new Error(`loadCheckpoint: ${name} has offset ${String(t.offset)} in the header where ${offset} was expected (tensors lie one after another)`);
    offset += size * 4;
  }
  return offset;
}

/** Every field of the header, checked. */
function headerOfCheckpoint(h: Partial<CheckpointHeader> | null, version: number): CheckpointHeader {
  if (typeof h !== "object" || h === null || Array.isArray(h)) throw new Error("loadCheckpoint: the checkpoint's header is not a JSON object");
  if (h.format !== "nnc-checkpoint") throw new Error(`loadCheckpoint: the header's format is ${JSON.stringify(h.format)}, not "nnc-checkpoint"`);
  if (h.version !== version) throw new Error(`loadCheckpoint: the header says version ${String(h.version)} but the file is version ${version}`);
  if (typeof h.model !== "string") throw new Error("loadCheckpoint: the header names no model");
  const dims = h.dims;
  if (typeof dims !== "object" || dims === null || Array.isArray(dims) || !Object.values(dims).every((v) => wholeIn(v, 1, 2 ** 31))) throw new Error("loadCheckpoint: the header's dims are not positive whole numbers");
  if (!wholeIn(h.step, 0, Number.MAX_SAFE_INTEGER)) throw new Error(`loadCheckpoint: the header's step ${String(h.step)} is not a whole number`);
  if (!wholeIn(h.seed, 0, 0xffffffff)) throw new Error(`loadCheckpoint: the header's seed ${String(h.seed)} is not a whole number from 0 to 4294967295`);
  return h as CheckpointHeader;
}

/** The header and data section of a checkpoint, every field and the checksum verified; throws an Error saying what is wrong. */
export function parseCheckpoint(bytes: Uint8Array): ParsedCheckpoint {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 12 || view.getUint32(0, true) !== CHECKPOINT_MAGIC) throw new Error("loadCheckpoint: not an nnc checkpoint");
  const version = view.getUint32(4, true);
  if (version !== 1 && version !== CHECKPOINT_VERSION) throw new Error(`loadCheckpoint: checkpoint format version ${version} is not supported (this module reads versions 1 and ${CHECKPOINT_VERSION})`);
  // Version 1 has no checksum word: its header starts at byte 12.
  const at = version === 1 ? 12 : 16;
  const length = view.getUint32(8, true);
  if (bytes.length < at || at + length > bytes.length) throw new Error("loadCheckpoint: the checkpoint is truncated");
  let parsed: Partial<CheckpointHeader> | null;
  try {
    parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(at, at + length))) as Partial<CheckpointHeader> | null;
  } catch {
    throw new Error("loadCheckpoint: the checkpoint's header is corrupt");
  }
  const header = headerOfCheckpoint(parsed, version);
  const dataLength = tensorsOfCheckpoint(header.tensors);
  const start = at + Math.ceil(length / 4) * 4;
  if (start + dataLength > bytes.length) throw new Error("loadCheckpoint: the checkpoint is truncated");
  if (start + dataLength < bytes.length) throw new Error(`loadCheckpoint: the checkpoint has ${bytes.length - start - dataLength} bytes after its last tensor`);
  // Last, so that a damaged header or length is named above; this catches any other changed byte.
  if (version !== 1 && view.getUint32(12, true) !== checksumOfCheckpoint(bytes.subarray(16))) throw new Error("loadCheckpoint: the checksum does not match: the file was damaged or edited");
  return { header, data: new DataView(bytes.buffer, bytes.byteOffset + start, dataLength) };
}

/**
 * Loads a checkpoint's tensors into the arena and returns the step and seed
 * to continue from (dropout masks follow them). Everything is checked before
 * anything is written, so a bad checkpoint leaves the model as it was.
 */
export function readCheckpoint(bytes: Uint8Array, model: string, f32: Float32Array, entries: readonly TensorEntry[]): [step: number, seed: number] {
  const { header, data } = parseCheckpoint(bytes);
  if (header.model !== model) throw new Error(`loadCheckpoint: the checkpoint is of model "${header.model}", not "${model}"`);
  const found = new Map(header.tensors.map((t) => [t.name, t]));
  for (const [name, , shape] of entries) {
    const t = found.get(name);
    if (t === undefined) {
      if (name.startsWith("param/")) throw new Error(`loadCheckpoint: the checkpoint has no ${name.slice(6)}`);
      continue;
    }
    if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
      throw new Error(`loadCheckpoint: ${name} has shape [${t.shape.join(", ")}] in the checkpoint but [${shape.join(", ")}] in this model`);
    }
    for (let j = 0; j < t.length; j++) {
      const v = data.getFloat32(t.offset + j * 4, true);
      if (!Number.isFinite(v)) throw new Error(`loadCheckpoint: ${name} holds ${v} at index ${j}: the checkpoint is damaged`);
    }
  }
  for (const [name, at] of entries) {
    const t = found.get(name);
    if (t === undefined) continue;
    for (let j = 0; j < t.length; j++) f32[at + j] = data.getFloat32(t.offset + j * 4, true);
  }
  return [header.step, header.seed];
}
