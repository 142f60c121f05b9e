// Reader for NumPy's .npy format (versions 1.0, 2.0 and 3.0):
//   "\x93NUMPY", major, minor, header length (u16 LE in 1.0, u32 LE after),
//   a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
//   padded with spaces to a 64-byte boundary, then the raw elements.
// The dict is read by a small parser of Python literals (strings, ints, bools,
// None, tuples, lists, dicts), never by eval, and every field is checked.

import { decodeArray, ELEMENT_BYTES, elementCount, type ElementKind, Int64RangeError, type NumericArray } from "./binary.ts";
import { DataError, formatDims } from "./errors.ts";

export interface NpyArray {
  dims: number[];
  data: NumericArray;
  /** The dtype as written in the file, e.g. "<f4"; int64 data comes back as a Float64Array. */
  descr: string;
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY
const KINDS: Record<string, ElementKind> = { f4: "f32", f8: "f64", u1: "u8", i1: "i8", i2: "i16", i4: "i32", i8: "i64" };
const SUPPORTED = "<f4 <f8 |u1 |i1 <i2 <i4 <i8 (or big-endian >…)";

type PyValue = string | number | boolean | null | PyValue[] | Map<string, PyValue>;

/** A recursive-descent parser for the Python literals np.save writes. */
class LiteralParser {
  private pos = 0;
  constructor(private readonly text: string, private readonly fail: (why: string) => never) {}

  parseAll(): PyValue {
    const value = this.value(0);
    this.skipSpace();
    if (this.pos < this.text.length) this.fail(`unexpected ${JSON.stringify(this.text.slice(this.pos, this.pos + 10))} after the dict`);
    return value;
  }

  private skipSpace(): void {
    while (this.pos < this.text.length && " \t\r\n".includes(this.text[this.pos]!)) this.pos++;
  }

  private value(depth: number): PyValue {
    if (depth > 16) this.fail("nested too deeply");
    this.skipSpace();
    const c = this.text[this.pos];
    if (c === "{") return this.dict(depth);
    if (c === "(") return this.sequence(")", depth);
    if (c === "[") return this.sequence("]", depth);
    if (c === "'" || c === '"') return this.string();
    const word = /^(True|False|None|-?\d+L?)/.exec(this.text.slice(this.pos, this.pos + 32));
    if (!word) this.fail(`unexpected ${c === undefined ? "end of header" : JSON.stringify(c)} at offset ${this.pos}`);
    this.pos += word[0].length;
    if (word[0] === "True") return true;
    if (word[0] === "False") return false;
    if (word[0] === "None") return null;
    const n = Number(word[0].replace("L", "")); // Python 2 wrote 3L for longs
    if (!Number.isSafeInteger(n)) this.fail(`integer ${word[0]} is too large`);
    return n;
  }

  private string(): string {
    const quote = this.text[this.pos++]!;
    const end = this.text.indexOf(quote, this.pos);
    if (end < 0) this.fail("unterminated string");
    const s = this.text.slice(this.pos, end);
    if (s.includes("\\")) this.fail("escapes in strings are not supported");
    this.pos = end + 1;
    return s;
  }

  private sequence(close: string, depth: number): PyValue[] {
    this.pos++;
    const items: PyValue[] = [];
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === close) { this.pos++; return items; }
      items.push(this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== close) this.fail(`expected "," or "${close}" at offset ${this.pos}`);
    }
  }

  private dict(depth: number): Map<string, PyValue> {
    this.pos++;
    const map = new Map<string, PyValue>();
    for (;;) {
      this.skipSpace();
      if (this.text[this.pos] === "}") { this.pos++; return map; }
      const key = this.value(depth + 1);
      if (typeof key !== "string") this.fail("dict keys must be strings");
      if (map.has(key)) this.fail(`key '${key}' appears twice`);
      this.skipSpace();
      if (this.text[this.pos++] !== ":") this.fail(`expected ":" after '${key}'`);
      map.set(key, this.value(depth + 1));
      this.skipSpace();
      if (this.text[this.pos] === ",") this.pos++;
      else if (this.text[this.pos] !== "}") this.fail(`expected "," or "}" at offset ${this.pos}`);
    }
  }
}

/** Maps a descr such as "<f4" to an element kind and byte order. */
function parseDescr(descr: PyValue, fail: (why: string) => never): { kind: ElementKind; little: boolean; text: string } {
  if (typeof descr !== "string") fail(`'descr' is a structured dtype; only plain numeric arrays are supported (${SUPPORTED})`);
  const m = /^([<>|=]?)([a-z]\d+)$/.exec(descr);
  const kind = m ? KINDS[m[2]!] : undefined;
  if (!m || kind === undefined) fail(`unsupported dtype '${descr}'; supported: ${SUPPORTED}`);
  const order = m[1]!;
  if (order === "|" && ELEMENT_BYTES[kind] > 1) fail(`dtype '${descr}' has no byte order but its elements have several bytes`);
  if (order === "=") fail(`dtype '${descr}' uses the native byte order, which a file cannot name; save with '<' or '>'`);
  return { kind, little: order !== ">", text: descr };
}

export function parseNpy(bytes: Uint8Array, file: string): NpyArray {
  const bad: (why: string) => never = (why) => {
    throw new DataError("NNC502", `${file}: bad NPY header: ${why}`, file);
  };
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 3 && bytes[3] === 4) {
    throw new DataError("NNC502",
      `${file}: this is a zip archive (an .npz?), not an .npy file; save each array with np.save`, file);
  }
  if (bytes.length < 8 || !MAGIC.every((b, i) => bytes[i] === b)) {
    const found = Array.from(bytes.subarray(0, 6), (b) => b.toString(16).padStart(2, "0")).join(" ");
    throw new DataError("NNC502",
      `${file}: not an NPY file: it starts with ${found || "nothing"}; expected 93 4e 55 4d 50 59 ("\\x93NUMPY")`, file);
  }
  const major = bytes[6]!;
  const minor = bytes[7]!;
  if (major < 1 || major > 3 || minor !== 0) bad(`unsupported version ${major}.${minor}; expected 1.0, 2.0 or 3.0`);
  const lenBytes = major === 1 ? 2 : 4;
  if (bytes.length < 8 + lenBytes) {
    throw new DataError("NNC503", `${file}: truncated: the file ends (${bytes.length} bytes) inside the NPY header`, file);
  }
  const lv = new DataView(bytes.buffer, bytes.byteOffset + 8, lenBytes);
  const headerLen = major === 1 ? lv.getUint16(0, true) : lv.getUint32(0, true);
  const dataStart = 8 + lenBytes + headerLen;
  if (bytes.length < dataStart) {
    throw new DataError("NNC503",
      `${file}: truncated: the NPY header promises ${headerLen} header bytes but the file has ${bytes.length} bytes in all`, file);
  }
  // Versions 1 and 2 write latin-1 headers, version 3 UTF-8; the keys we read are ASCII either way.
  const headerText = new TextDecoder(major === 3 ? "utf-8" : "latin1").decode(bytes.subarray(8 + lenBytes, dataStart));
  const header = new LiteralParser(headerText, bad).parseAll();
  if (!(header instanceof Map)) bad("expected a dict such as {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4)}");
  for (const key of ["descr", "fortran_order", "shape"]) if (!header.has(key)) bad(`the dict has no '${key}'`);
  for (const key of header.keys()) if (!["descr", "fortran_order", "shape"].includes(key)) bad(`unexpected key '${key}'`);

  const { kind, little, text: descr } = parseDescr(header.get("descr")!, bad);
  const fortran = header.get("fortran_order");
  if (typeof fortran !== "boolean") bad(`'fortran_order' must be True or False`);
  if (fortran) {
    throw new DataError("NNC502",
      `${file}: the array is stored in Fortran (column-major) order; save it in C order: ` +
      `np.save(path, np.ascontiguousarray(a))`, file);
  }
  const shape = header.get("shape");
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === "number" && d >= 0)) {
    bad(`'shape' must be a tuple of non-negative integers, e.g. (60000, 784)`);
  }
  const dims = shape as number[];

  const count = elementCount(dims);
  const expected = dataStart + count * ELEMENT_BYTES[kind];
  const what = `${formatDims(dims)} ${descr} values`;
  if (bytes.length < expected) {
    const promise = Number.isFinite(expected) ? `${expected} bytes` : "more bytes than any file holds";
    throw new DataError("NNC503",
      `${file}: truncated: the header promises ${what} (${promise}) but the file has ${bytes.length} bytes`, file);
  }
  if (bytes.length > expected) {
    throw new DataError("NNC502",
      `${file}: ${bytes.length - expected} unexpected bytes after the data: the header promises ${what} ` +
      `(${expected} bytes) but the file has ${bytes.length} bytes`, file);
  }
  try {
    return { dims, data: decodeArray(bytes, dataStart, count, kind, little), descr };
  } catch (e) {
    if (!(e instanceof Int64RangeError)) throw e;
    throw new DataError("NNC504",
      `${file}: int64 value ${e.value} (element ${e.index}) is too large to hold exactly; values must lie within ±2^53`, file);
  }
}
