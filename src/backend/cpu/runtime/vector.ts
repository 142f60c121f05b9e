// The WebAssembly SIMD elementwise kernels (vector.wat) on a model's memory.
// An emitted module's fused elementwise loops run on them a block of
// VECTOR_BLOCK elements at a time (src/backend/cpu/emit-vector.ts writes the
// calls): each operation of a loop's formula is one call over the block,
// into one of VECTOR_REGISTERS scratch registers, the last into the arena.
// The registers and the formulas' constants live in the model's memory
// after the arena (createKernelMemory's vectorFloats); nothing is allocated
// per call. Without WebAssembly (or with wasm: false) createVectorKernels
// gives null and the module runs its JavaScript loops.
import { VECTOR_WASM_BASE64, VECTOR_WASM_SHARED_BASE64 } from "./vector-wasm.ts";
import { createBytesFromBase64, type KernelMemory } from "./wasm.ts";

/** Elements per block: 2 KB registers, a loop's working set well inside the L1 cache. */
export const VECTOR_BLOCK = 512;
/** Scratch registers of VECTOR_BLOCK floats each; a loop that needs more runs in JavaScript. */
export const VECTOR_REGISTERS = 16;
/** Floats for the formulas' constants of one module; a module with more runs those loops in JavaScript. */
export const VECTOR_CONSTANTS = 256;
/** Floats of the model's memory the kernels use: the registers, then the constants. */
export const VECTOR_SCRATCH_FLOATS = VECTOR_REGISTERS * VECTOR_BLOCK + VECTOR_CONSTANTS;

/** Operand strides, in bytes per four elements: consecutive floats, or the one float at the address for all. */
export const LANES = 16;
export const SPLAT = 0;

/** The ops of vector.wat's `unary` (its numbering). */
export const V_COPY = 0;
export const V_NEG = 1;
export const V_EXP = 2;
export const V_LOG = 3;
export const V_TANH = 4;
export const V_SQRT = 5;
export const V_ABS = 6;
export const V_SIGN = 7;
/** The ops of vector.wat's `binary`: arithmetic, then comparisons giving masks. */
export const V_ADD = 0;
export const V_SUB = 1;
export const V_MUL = 2;
export const V_DIV = 3;
export const V_MAX = 4;
export const V_MIN = 5;
export const V_GT = 6;
export const V_GE = 7;
export const V_EQ = 8;

/** vector.wat's exports; addresses in bytes, strides LANES or SPLAT, n elements. */
export interface VectorKernels {
  readonly unary: (op: number, dst: number, x: number, sx: number, n: number) => void;
  readonly binary: (op: number, dst: number, a: number, sa: number, b: number, sb: number, n: number) => void;
  readonly select: (dst: number, mask: number, t: number, st: number, e: number, se: number, n: number) => void;
  readonly keep: (dst: number, key: number, index: number, threshold: number, n: number) => void;
  /**
   * Per-column float64 sums of `groups` groups of 8 columns from x (rows
   * `stride` bytes apart), divided by div; with `variance` 1, the squared
   * deviations from that mean summed, divided by den. Floats at dst.
   */
  readonly columns: (dst: number, x: number, rows: number, stride: number, groups: number, div: number, den: number, variance: number) => void;
  /**
   * avgpool2d (adjoint 0: x the image [b, h, w, c], out the pooled image) or
   * avgpool2dGrad (adjoint 1: x the pooled gradient, out the image's; pixels
   * outside whole windows untouched) over ph × pw windows, scale 1/(ph·pw).
   */
  readonly pool: (x: number, out: number, b: number, h: number, w: number, c: number, ph: number, pw: number, scale: number, adjoint: number) => void;
  /**
   * n floats at dst: the `period` floats at src, repeated (n a multiple of
   * period). Once per loop, before its blocks, for an operand that repeats
   * along the loop's leading axes (a per-channel vector); JavaScript, since
   * it runs on one block's length only.
   */
  readonly tile: (dst: number, src: number, period: number, n: number) => void;
  /** The memory the addresses are in. */
  readonly buffer: ArrayBuffer | SharedArrayBuffer;
  /** Byte address of register 0; register r is at regs + 4 · VECTOR_BLOCK · r. */
  readonly regs: number;
  /** Byte address of constant 0 (each one float). */
  readonly consts: number;
}

/** vector.wat's exports on `memory`, or null where the matrix products do not run on WebAssembly either. */
export function createVectorInstance(memory: KernelMemory): Record<string, unknown> | null {
  const wasm = (globalThis as { WebAssembly?: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { readonly exports: Record<string, unknown> } } }).WebAssembly;
  if (memory.wasm === null || memory.wasmMemory === null || wasm === undefined) return null;
  const shared = typeof SharedArrayBuffer !== "undefined" && memory.wasm.buffer instanceof SharedArrayBuffer;
  const module = new wasm.Module(createBytesFromBase64(shared ? VECTOR_WASM_SHARED_BASE64 : VECTOR_WASM_BASE64));
  return new wasm.Instance(module, { env: { memory: memory.wasmMemory } }).exports;
}

/**
 * The kernels on `memory` (made with VECTOR_SCRATCH_FLOATS of vectorFloats),
 * with `constants` written to their place; null where the matrix products do
 * not run on WebAssembly either (memory.note says why).
 */
export function createVectorKernels(memory: KernelMemory, constants: readonly number[]): VectorKernels | null {
  if (memory.wasm === null || memory.vectorBase < 0) return null;
  if (constants.length > VECTOR_CONSTANTS) throw new Error(`internal: ${constants.length} vector constants, more than ${VECTOR_CONSTANTS}`);
  const exports = createVectorInstance(memory);
  if (exports === null) return null;
  const regs = memory.vectorBase;
  const consts = regs + 4 * VECTOR_REGISTERS * VECTOR_BLOCK;
  new Float32Array(memory.wasm.buffer, consts, constants.length).set(constants);
  // Every float of the memory: tile reads the arena and writes a register.
  const heap = new Float32Array(memory.wasm.buffer);
  return {
    unary: exports["unary"] as VectorKernels["unary"],
    binary: exports["binary"] as VectorKernels["binary"],
    select: exports["select"] as VectorKernels["select"],
    keep: exports["keep"] as VectorKernels["keep"],
    columns: exports["columns"] as VectorKernels["columns"],
    pool: exports["pool"] as VectorKernels["pool"],
    tile: (dst, src, period, n) => {
      const [d, s] = [dst >> 2, src >> 2];
      for (let j = 0; j < n; j += period) heap.copyWithin(d + j, s, s + period);
    },
    buffer: memory.wasm.buffer,
    regs,
    consts,
  };
}

/** Whether vec is there and both arrays live in its memory, where its kernels address them by byte offset. */
export function inKernelMemory(vec: VectorKernels | null, a: Float32Array, b: Float32Array): vec is VectorKernels {
  return vec !== null && a.buffer === vec.buffer && b.buffer === vec.buffer;
}

/**
 * The columns of x [rows, width] (from xOff) that `columns` sums into out
 * (from outOff): whole groups of 8, where vec is there and both arrays are in
 * its memory. Returns how many columns it did (the caller does the rest).
 */
export function columnsOnWasm(vec: VectorKernels | null, x: Float32Array, xOff: number, out: Float32Array, outOff: number, rows: number, width: number, div: number, den: number, variance: boolean): number {
  const groups = width >> 3;
  if (groups === 0 || !inKernelMemory(vec, x, out)) return 0;
  vec.columns(out.byteOffset + 4 * outOff, x.byteOffset + 4 * xOff, rows, 4 * width, groups, div, den, variance ? 1 : 0);
  return 8 * groups;
}
