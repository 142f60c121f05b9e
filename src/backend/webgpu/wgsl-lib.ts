// WGSL functions that kernels call by name (an op's `uses`), included in a
// shader only when it calls them. The random numbers are src/backend/cpu/runtime/rng.ts
// in u32 arithmetic, which wraps exactly as Math.imul and `>>> 0` do, so the
// GPU draws the very same dropout masks as the interpreter and the CPU.
import { DROPOUT_STREAM } from "../cpu/runtime/rng.ts";

export interface WgslFunction {
  /** Library functions it calls. */
  readonly needs: readonly string[];
  readonly text: string;
  /** Whether it reads the `run` uniform (seed and step), which a shader calling it must bind. */
  readonly run?: boolean;
}

export const WGSL_LIB: Readonly<Record<string, WgslFunction>> = {
  nnc_hash32: {
    needs: [],
    text: `// lowbias32 (src/backend/cpu/runtime/rng.ts hash32)
fn nnc_hash32(v: u32) -> u32 {
  var x: u32 = v;
  x = x ^ (x >> 16u);
  x = x * 0x7feb352du;
  x = x ^ (x >> 15u);
  x = x * 0x846ca68bu;
  x = x ^ (x >> 16u);
  return x;
}`,
  },
  nnc_dropout_key: {
    needs: ["nnc_hash32"],
    run: true,
    text: `// A dropout (or dropout_mask) with attrs.stream s draws from stream DROPOUT_STREAM + s.
const DROPOUT_STREAM: u32 = 0x${DROPOUT_STREAM.toString(16)}u;
// The part of uniform01(seed, stream, step, index) that does not depend on the index.
fn nnc_dropout_key(stream: u32) -> u32 {
  return nnc_hash32(nnc_hash32(run.seed ^ nnc_hash32(stream)) + run.step);
}`,
  },
  nnc_keep: {
    needs: ["nnc_hash32"],
    text: `// uniform01 >= p, as integers: the top 24 bits of the hash against ceil(p * 2^24).
fn nnc_keep(key: u32, index: u32, threshold: u32) -> bool {
  return (nnc_hash32(key + index) >> 8u) >= threshold;
}`,
  },
  nnc_pow: {
    needs: [],
    text: `// a^b with JavaScript's meaning for a negative base and an integer exponent (WGSL's pow is undefined for a < 0).
fn nnc_pow(a: f32, b: f32) -> f32 {
  if (a >= 0.0) { return pow(a, b); }
  if (fract(b) != 0.0) {
    var nan: u32 = 0x7fc00000u; // a var, so that it is not a constant expression, where NaN is an error
    return bitcast<f32>(nan);
  }
  let m: f32 = pow(-a, b);
  return select(m, -m, fract(b * 0.5) != 0.0);
}`,
  },
};

/** The library functions `names` need, each once, dependencies first. */
export function libraryFor(names: Iterable<string>): WgslFunction[] {
  const out: WgslFunction[] = [];
  const seen = new Set<string>();
  const add = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    const f = WGSL_LIB[n];
    if (!f) throw new Error(`internal: no WGSL library function ${n}`);
    f.needs.forEach(add);
    out.push(f);
  };
  [...names].sort().forEach(add);
  return out;
}
