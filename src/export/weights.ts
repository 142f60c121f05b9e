// Weights in and out of the compiler: a model's params written as a
// safetensors file or a folder of .npy files (one NAME.npy per param), and
// read back from either, or from an nnc checkpoint, for
// `nnc train --init-from` and `nnc export --checkpoint`. Reading shares the
// emitted modules' code (runtime/weights.ts); every failure is a DataError:
// NNC501 a missing file, NNC502 a malformed one, NNC513 tensors that do not
// fit the model (missing, extra or mis-shaped, all listed).
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { matchParams, readSafetensorsParams, type LoadedTensor } from "../backend/cpu/runtime/weights.ts";
import { DataError } from "../data/errors.ts";
import { parseNpy } from "../data/npy.ts";
import type { ShapedGraph } from "../ir/graph.ts";
import { parseCheckpoint } from "../backend/cpu/runtime/checkpoint.ts";

export interface NamedTensor {
  readonly name: string;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

const concat = (parts: readonly Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
};
const bytesOf = (a: Float32Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A safetensors file of float32 tensors, in the given order; the header is padded with spaces to 8 bytes, as the format recommends. */
export function writeSafetensors(tensors: readonly NamedTensor[], metadata: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of tensors) {
    header[t.name] = { dtype: "F32", shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (new TextEncoder().encode(json).length % 8)) % 8);
  const head = new TextEncoder().encode(json);
  const length = new Uint8Array(8);
  new DataView(length.buffer).setUint32(0, head.length, true);
  return concat([length, head, ...tensors.map((t) => bytesOf(t.data))]);
}

/** One .npy file (version 1.0, little-endian float32, C order). */
export function writeNpy(shape: readonly number[], data: Float32Array): Uint8Array {
  const dict = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(", ")}${shape.length === 1 ? "," : ""}), }`;
  // The header (magic, version, length, dict, newline) fills a multiple of 64 bytes.
  const pad = 64 - ((10 + dict.length + 1) % 64);
  const text = new TextEncoder().encode(dict + " ".repeat(pad % 64) + "\n");
  const head = new Uint8Array(10);
  head.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  new DataView(head.buffer).setUint16(8, text.length, true);
  return concat([head, text, bytesOf(data)]);
}

/** The param tensors of an nnc checkpoint (docs/checkpoint.md), by param name, read by the runtime's one checkpoint parser (every field and the checksum verified). */
function checkpointTensors(bytes: Uint8Array, file: string): Map<string, LoadedTensor> {
  let parsed: ReturnType<typeof parseCheckpoint>;
  try {
    parsed = parseCheckpoint(bytes);
  } catch (e) {
    throw new DataError("NNC507", `${file}: ${(e as Error).message.replace(/^loadCheckpoint: /, "")}`, file);
  }
  const out = new Map<string, LoadedTensor>();
  for (const t of parsed.header.tensors) {
    if (!t.name.startsWith("param/")) continue;
    out.set(t.name.slice("param/".length), { shape: t.shape, data: Float32Array.from({ length: t.length }, (_, i) => parsed.data.getFloat32(t.offset + 4 * i, true)) });
  }
  return out;
}

/** Every .npy file of a folder, by name without the extension. */
function npyTensors(dir: string): Map<string, LoadedTensor> {
  const out = new Map<string, LoadedTensor>();
  for (const f of readdirSync(dir).filter((f) => f.endsWith(".npy")).sort()) {
    const a = parseNpy(new Uint8Array(readFileSync(join(dir, f))), join(dir, f));
    out.set(f.slice(0, -4), { shape: a.dims, data: Float32Array.from(a.data as ArrayLike<number>) });
  }
  return out;
}

/** The tensors of a weights file or folder: safetensors, an nnc checkpoint (its params) or a folder of .npy files. */
export function readWeights(path: string): Map<string, LoadedTensor> {
  if (!existsSync(path)) throw new DataError("NNC501", `${path}: no such file or folder`, path);
  if (statSync(path).isDirectory()) return npyTensors(path);
  const bytes = new Uint8Array(readFileSync(path));
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true) === 0x4b434e4e) return checkpointTensors(bytes, path);
  try {
    return readSafetensorsParams(bytes);
  } catch (e) {
    throw new DataError("NNC502", `${path}: ${(e as Error).message}`, path);
  }
}

/** A model's params from a weights file or folder, matched by name and checked by shape. */
export function weightsFor(g: Pick<ShapedGraph, "params" | "shapes">, path: string, dims: Readonly<Record<string, number>>): Record<string, Float32Array> {
  const specs = g.params.map((p) => ({ name: p.name, shape: g.shapes[p.node]! }));
  try {
    return matchParams(readWeights(path), specs, dims);
  } catch (e) {
    if (e instanceof DataError) throw e;
    throw new DataError("NNC513", `${path}: ${(e as Error).message}`, path);
  }
}
