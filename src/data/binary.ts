// Decoding of packed numeric arrays shared by the IDX (big-endian) and NPY
// (either endianness) readers. DataView reads make the result independent of
// the host's byte order and of the buffer's alignment.

export type NumericArray = Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;

/** The element kinds both formats can hold; "i64" decodes into a Float64Array. */
export type ElementKind = "u8" | "i8" | "i16" | "i32" | "i64" | "f32" | "f64";

export const ELEMENT_BYTES: Record<ElementKind, number> = {
  u8: 1, i8: 1, i16: 2, i32: 4, i64: 8, f32: 4, f64: 8,
};

/** A value of an i64 array that a double cannot hold exactly. */
export class Int64RangeError extends Error {
  constructor(readonly index: number, readonly value: bigint) {
    super(`value ${value} at element ${index} does not fit in ±2^53`);
  }
}

/**
 * Copies `count` elements of `kind` starting at `offset`. The caller has
 * checked that the bytes are there. The result owns its memory: a 47 MB file
 * buffer is not kept alive by a small slice of it.
 */
export function decodeArray(
  bytes: Uint8Array,
  offset: number,
  count: number,
  kind: ElementKind,
  littleEndian: boolean,
): NumericArray {
  if (kind === "u8") return bytes.slice(offset, offset + count);
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * ELEMENT_BYTES[kind]);
  if (kind === "i64") return decodeI64(view, count, littleEndian);
  const { make, get } = DECODERS[kind];
  const out = make(count);
  const size = ELEMENT_BYTES[kind];
  for (let i = 0; i < count; i++) out[i] = get(view, size * i, littleEndian);
  return out;
}

/** How each fixed-size kind is read: its array and its DataView getter. */
const DECODERS: { readonly [K in Exclude<ElementKind, "u8" | "i64">]: { make: (n: number) => Exclude<NumericArray, Uint8Array>; get: (v: DataView, at: number, le: boolean) => number } } = {
  i8: { make: (n) => new Int8Array(n), get: (v, at) => v.getInt8(at) },
  i16: { make: (n) => new Int16Array(n), get: (v, at, le) => v.getInt16(at, le) },
  i32: { make: (n) => new Int32Array(n), get: (v, at, le) => v.getInt32(at, le) },
  f32: { make: (n) => new Float32Array(n), get: (v, at, le) => v.getFloat32(at, le) },
  f64: { make: (n) => new Float64Array(n), get: (v, at, le) => v.getFloat64(at, le) },
};

/** i64 into doubles, refusing a value a double cannot hold exactly. */
function decodeI64(view: DataView, count: number, littleEndian: boolean): Float64Array {
  const out = new Float64Array(count);
  const limit = 2n ** 53n;
  for (let i = 0; i < count; i++) {
    const v = view.getBigInt64(8 * i, littleEndian);
    if (v > limit || v < -limit) throw new Int64RangeError(i, v);
    out[i] = Number(v);
  }
  return out;
}

/** Product of sizes, or Infinity once it passes 2^53 (no file is that big). */
export function elementCount(dims: readonly number[]): number {
  if (dims.includes(0)) return 0;
  let n = 1;
  for (const d of dims) {
    n *= d;
    if (n > Number.MAX_SAFE_INTEGER) return Infinity;
  }
  return n;
}
