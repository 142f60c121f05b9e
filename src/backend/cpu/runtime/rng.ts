// The counter-based random numbers every backend shares, in their one
// definition: the interpreter imports this file, a generated CPU or WebGPU
// module carries the declarations it uses (copied in by runtime-source.ts),
// and the WGSL in src/backend/webgpu/wgsl-lib.ts reproduces hash32 in u32
// (test/webgpu-parity.test.ts checks the bits). Only 32-bit unsigned integer
// arithmetic (Math.imul, >>> 0), which WGSL's u32 reproduces exactly; nothing
// here keeps state. uniform01 is also split in two (dropoutKey, uniformAt)
// for loops that draw many indices of one counter.

/** Param number i (its index in graph.params) draws from stream PARAM_STREAM + i. */
export const PARAM_STREAM = 0x10000;
/** A dropout (or dropout_mask) with attrs.stream s draws from stream DROPOUT_STREAM + s. */
export const DROPOUT_STREAM = 0x20000;

/**
 * The "lowbias32" integer hash (Chris Wellons' hash-prospector): a bijection
 * on u32 with good avalanche. Any integer input is taken modulo 2^32.
 */
export function hash32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/**
 * A uniform number in [0, 1) for one counter. THE CONTRACT (all arithmetic u32,
 * additions wrap modulo 2^32; seed, stream, step and index are integers taken
 * modulo 2^32):
 *
 *   h = hash32(hash32(hash32(seed ^ hash32(stream)) + step) + index)
 *   u = (h >>> 8) / 2^24
 *
 * Only the top 24 bits are kept so that u is exactly representable in f32 and
 * every backend compares the same number against a dropout probability.
 */
export function uniform01(seed: number, stream: number, step: number, index: number): number {
  const s = hash32(seed ^ hash32(stream));
  const t = hash32((s + step) >>> 0);
  const h = hash32((t + index) >>> 0);
  return (h >>> 8) / 16777216;
}

/**
 * The part of uniform01 that does not depend on the index, taken once per
 * mask: uniform01(seed, stream, step, i) === uniformAt(dropoutKey(seed, stream, step), i)
 * for every i. stream is the whole stream number (DROPOUT_STREAM + the op's stream).
 */
export function dropoutKey(seed: number, stream: number, step: number): number {
  return hash32((hash32(seed ^ hash32(stream)) + step) >>> 0);
}

/** uniform01 for one index, given the key of its (seed, stream, step): one hash per element instead of three. */
export function uniformAt(key: number, index: number): number {
  return (hash32((key + index) >>> 0) >>> 8) / 16777216;
}
