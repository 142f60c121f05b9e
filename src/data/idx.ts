// Reader for the IDX format of MNIST, Fashion-MNIST and EMNIST:
//   bytes 0-1  zero
//   byte  2    element type: 0x08 u8, 0x09 i8, 0x0B i16, 0x0C i32, 0x0D f32, 0x0E f64
//   byte  3    number of dimensions
//   then one big-endian u32 size per dimension, then the elements, big-endian, C order.
// Files are often shipped gzipped (.gz); those are unpacked transparently. Every
// field is checked: a wrong magic, a file shorter than its header promises, or
// bytes left after the data are errors, never a silently wrong shape.

import { gunzipSync } from "node:zlib";
import { decodeArray, ELEMENT_BYTES, elementCount, type ElementKind, type NumericArray } from "./binary.ts";
import { DataError, formatDims } from "./errors.ts";

export interface IdxArray {
  dims: number[];
  data: NumericArray;
}

const IDX_TYPES: Record<number, Exclude<ElementKind, "i64">> = {
  0x08: "u8", 0x09: "i8", 0x0b: "i16", 0x0c: "i32", 0x0d: "f32", 0x0e: "f64",
};

/** True when the bytes start with the gzip magic 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/** Unpacks gzip bytes; anything zlib rejects (bad CRC, cut short) is NNC502. */
export function gunzip(bytes: Uint8Array, file: string): Uint8Array {
  try {
    return gunzipSync(bytes);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new DataError("NNC502", `${file}: not a valid gzip file (${why}); download it again or unpack it by hand`, file);
  }
}

function hex(b: number | undefined): string {
  return b === undefined ? "--" : b.toString(16).padStart(2, "0");
}

/** What the header promises, in words: "60000 images of 28×28", "60000 labels". */
function describe(dims: readonly number[], file: string): string {
  const [n, ...rest] = dims as [number, ...number[]];
  if (rest.length === 0) return `${n} ${/label/i.test(file) ? "labels" : "values"}`;
  return `${n} ${rest.length === 2 ? "images" : "items"} of ${formatDims(rest)}`;
}

export function parseIdx(input: Uint8Array, file: string): IdxArray {
  const gz = isGzip(input);
  const bytes = gz ? gunzip(input, file) : input;
  const unpacked = gz ? " after gunzip" : "";

  if (bytes.length < 4) {
    throw new DataError("NNC502",
      `${file}: not an IDX file: it has ${bytes.length} bytes${unpacked}; an IDX header needs at least 4`, file);
  }
  const [z0, z1, type, ndims] = [bytes[0]!, bytes[1]!, bytes[2]!, bytes[3]!];
  const kind = IDX_TYPES[type];
  if (z0 !== 0 || z1 !== 0 || kind === undefined) {
    throw new DataError("NNC502",
      `${file}: not an IDX file: the magic number is ${[z0, z1, type, ndims].map(hex).join(" ")}; ` +
      `expected 00 00 followed by a type (08 u8, 09 i8, 0b i16, 0c i32, 0d f32, 0e f64) and a dimension count`, file);
  }
  if (ndims === 0) {
    throw new DataError("NNC502", `${file}: bad IDX header: it declares 0 dimensions; expected at least 1`, file);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) {
    throw new DataError("NNC503",
      `${file}: truncated: the header declares ${ndims} dimensions (${headerBytes} header bytes) ` +
      `but the file has ${bytes.length} bytes${unpacked}`, file);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, headerBytes);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));

  const count = elementCount(dims);
  const expected = headerBytes + count * ELEMENT_BYTES[kind];
  if (bytes.length < expected) {
    const promise = Number.isFinite(expected) ? `${expected} bytes` : "more bytes than any file holds";
    throw new DataError("NNC503",
      `${file}: truncated: the header promises ${describe(dims, file)} (${promise}) ` +
      `but the file has ${bytes.length} bytes${unpacked}`, file);
  }
  if (bytes.length > expected) {
    throw new DataError("NNC502",
      `${file}: ${bytes.length - expected} unexpected bytes after the data: the header promises ` +
      `${describe(dims, file)} (${expected} bytes) but the file has ${bytes.length} bytes${unpacked}`, file);
  }
  return { dims, data: decodeArray(bytes, headerBytes, count, kind, false) };
}
