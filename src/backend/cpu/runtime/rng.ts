// The counter-based random numbers of the CPU runtime: a verbatim copy of
// src/runtime/rng.ts (hash32, uniform01 and the stream bases), kept here so
// that a generated module carries its own copy, plus uniform01 split in two
// (dropoutKey, uniformAt) for loops that draw many indices of one counter.
// test/cpu-runtime.test.ts checks that they agree with src/runtime/rng.ts;
// change both or neither.

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
 * A uniform number in [0, 1) for one counter (all arithmetic u32, additions
 * wrapping modulo 2^32):
 *
 *   h = hash32(hash32(hash32(seed ^ hash32(stream)) + step) + index)
 *   u = (h >>> 8) / 2^24
 *
 * Only the top 24 bits are kept so that u is exactly representable in f32.
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
