// Params from a safetensors file (the format of Hugging Face's safetensors
// library): an 8-byte little-endian header length n, n bytes of JSON
// {"NAME": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
// "__metadata__": {..}}, then the data, offsets counting from its start.
// Emitted modules carry this to implement loadParams; the compiler uses the
// same code for `nnc train --init-from`. Float tensors of any of F32, F64,
// F16 and BF16 are read, as float32; everything is checked before use.
// Loading runs once, never within a step, so it may allocate (the
// functions' names end in Params, which the no-allocation tests exempt).

/** A tensor read from a weights file. */
export interface LoadedTensor {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** What a model declares a param to be: its name and shape (sizes or dim names). */
export interface ParamSpec {
  readonly name: string;
  readonly shape: readonly (number | string)[];
}

const SAFETENSORS_BYTES: Readonly<Record<string, number>> = { F32: 4, F64: 8, F16: 2, BF16: 2 };

/** An IEEE half (binary16) as a number. */
function halfToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac === 0 ? sign * Infinity : NaN;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** The elements of one stored param as float32 (a bfloat16 is the high half of a float32's bits). */
function storedParams(view: DataView, at: number, count: number, dtype: string): Float32Array {
  const out = new Float32Array(count);
  const bits = new DataView(new ArrayBuffer(4));
  for (let i = 0; i < count; i++) {
    if (dtype === "F32") out[i] = view.getFloat32(at + 4 * i, true);
    else if (dtype === "F64") out[i] = view.getFloat64(at + 8 * i, true);
    else if (dtype === "F16") out[i] = halfToNumber(view.getUint16(at + 2 * i, true));
    else {
      bits.setUint32(0, view.getUint16(at + 2 * i, true) << 16, true);
      out[i] = bits.getFloat32(0, true);
    }
  }
  return out;
}

/** Every tensor of a safetensors file, by name; throws saying what is wrong with the file. */
export function readSafetensorsParams(bytes: Uint8Array): Map<string, LoadedTensor> {
  const bad = (why: string): never => {
    throw new Error(`not a valid safetensors file: ${why}`);
  };
  if (bytes.length < 8) bad(`${bytes.length} bytes, fewer than the 8 of the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = view.getUint32(0, true) + view.getUint32(4, true) * 2 ** 32;
  if (n > bytes.length - 8) bad(`the header length ${n} runs past the end of the file (${bytes.length} bytes)`);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (e) {
    bad(`the header is not UTF-8 JSON (${(e as Error).message})`);
  }
  if (typeof header !== "object" || header === null || Array.isArray(header)) bad("the header is not a JSON object");
  const start = 8 + n;
  const out = new Map<string, LoadedTensor>();
  for (const [name, entry] of Object.entries(header as object)) {
    if (name === "__metadata__") continue;
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const width = typeof e.dtype === "string" && Object.hasOwn(SAFETENSORS_BYTES, e.dtype) ? SAFETENSORS_BYTES[e.dtype]! : 0;
    if (width === 0) bad(`tensor ${JSON.stringify(name)} has dtype ${JSON.stringify(e.dtype)}; params must be F32, F64, F16 or BF16`);
    const shape = e.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`tensor ${JSON.stringify(name)} has no valid shape`);
    const offsets = e.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`tensor ${JSON.stringify(name)} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    const count = (shape as number[]).reduce((a, b) => a * b, 1);
    if (end - begin !== count * width) bad(`tensor ${JSON.stringify(name)} spans ${end - begin} bytes, but its shape and dtype need ${count * width}`);
    if (start + end > bytes.length) bad(`tensor ${JSON.stringify(name)} runs past the end of the file (truncated?)`);
    out.set(name, { shape: shape as number[], data: storedParams(view, start + begin, count, e.dtype as string) });
  }
  return out;
}

/** The tensors for a model's params, matched by name and checked by shape; throws listing every missing, extra or mis-shaped one. */
export function matchParams(tensors: ReadonlyMap<string, LoadedTensor>, params: readonly ParamSpec[], dims: Readonly<Record<string, number>>): Record<string, Float32Array> {
  const problems: string[] = [];
  const out: Record<string, Float32Array> = {};
  for (const p of params) {
    const t = tensors.get(p.name);
    const want = p.shape.map((d) => (typeof d === "number" ? d : dims[d]!));
    if (t === undefined) problems.push(`param ${p.name} [${want.join(", ")}] is missing`);
    else if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) problems.push(`${p.name} has shape [${t.shape.join(", ")}] in the file but [${want.join(", ")}] in the model`);
    else out[p.name] = t.data;
  }
  const declared = new Set(params.map((p) => p.name));
  for (const name of tensors.keys()) if (!declared.has(name)) problems.push(`${JSON.stringify(name)} is not a param of the model (its params: ${params.map((p) => p.name).join(", ")})`);
  if (problems.length > 0) throw new Error(`the weights do not fit the model: ${problems.join("; ")}`);
  return out;
}

/** model.loadParams: a safetensors file's tensors for a model's params, checked; errors start with "loadParams:". */
export function checkedSafetensorsParams(bytes: Uint8Array, specs: readonly ParamSpec[], dims: Readonly<Record<string, number>>): Record<string, Float32Array> {
  try {
    return matchParams(readSafetensorsParams(bytes), specs, dims);
  } catch (e) {
    throw new Error(`loadParams: ${(e as Error).message}`);
  }
}

/** The CPU module's loadParams: every param written into the model's arrays, once all are checked. */
export function loadSafetensorsParams(bytes: Uint8Array, specs: readonly ParamSpec[], dims: Readonly<Record<string, number>>, params: object): void {
  const values = checkedSafetensorsParams(bytes, specs, dims);
  for (const p of specs) (params as Record<string, Float32Array>)[p.name]!.set(values[p.name]!);
}
