// The counter-based random numbers every backend shares. The interpreter, the
// generated TypeScript and the generated WGSL must draw the very same bits, so
// this uses only 32-bit unsigned integer arithmetic (Math.imul, >>> 0), which
// WGSL's u32 reproduces exactly; nothing here keeps state.

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
