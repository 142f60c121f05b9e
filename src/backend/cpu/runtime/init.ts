// Parameter initialisation, in its one definition: the interpreter
// (src/interp/init.ts) fills Float64Arrays with it, a generated module
// Float32Arrays, from the shared counter-based RNG, so that every backend
// starts from the same numbers for the same seed (computed in float64 by the
// same expressions, rounded to float32 only when a module stores them). Runs
// once per param at start-up.
import { type Floats } from "./optim.ts";
import { uniform01 } from "./rng.ts";

/** Initializer codes, the `kind` of initParam (src/backend/init-names.ts names them for the emitters). */
export const INIT_ZEROS = 0;
export const INIT_ONES = 1;
export const INIT_UNIFORM = 2;
export const INIT_NORMAL = 3;
export const INIT_XAVIER = 4;
export const INIT_HE = 5;

/**
 * [fanIn, fanOut] of a weight of this shape: for rank ≥ 2 the last two axes
 * are [in, out] and the leading ones a receptive field (a conv kernel
 * [kh, kw, C, F] has fanIn kh·kw·C, fanOut kh·kw·F, as Keras and PyTorch
 * count them); a vector has fanIn = fanOut = its length; a scalar 1.
 */
export function initFans(shape: readonly number[]): [number, number] {
  const r = shape.length;
  if (r === 0) return [1, 1];
  if (r === 1) return [shape[0]!, shape[0]!];
  let receptive = 1;
  for (let i = 0; i < r - 2; i++) receptive *= shape[i]!;
  return [shape[r - 2]! * receptive, shape[r - 1]! * receptive];
}

/**
 * Fills out[outOff …] with the size(shape) values of one param, element j
 * drawing uniform01(seed, stream, 0, j); stream is the whole stream number,
 * PARAM_STREAM + the param's index in graph.params. kind is an INIT_* code;
 * (a, b) are (low, high) for uniform and (mean, std) for normal, unused
 * otherwise. xavier is Glorot-uniform, ±√(6/(fanIn + fanOut)); he is an
 * untruncated normal of std √(2/fanIn).
 */
export function initParam(kind: number, a: number, b: number, shape: readonly number[], seed: number, stream: number, out: Floats, outOff: number): void {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  const [fanIn, fanOut] = initFans(shape);
  switch (kind) {
    case INIT_ZEROS:
      out.fill(0, outOff, outOff + n);
      return;
    case INIT_ONES:
      out.fill(1, outOff, outOff + n);
      return;
    case INIT_UNIFORM:
      initFillUniform(a, b, n, seed, stream, out, outOff);
      return;
    case INIT_NORMAL:
      initFillNormal(a, b, n, seed, stream, out, outOff);
      return;
    case INIT_XAVIER: {
      // Glorot & Bengio: keeps activation variance across a layer for tanh-like units.
      const limit = Math.sqrt(6 / (fanIn + fanOut));
      initFillUniform(-limit, limit, n, seed, stream, out, outOff);
      return;
    }
    case INIT_HE:
      // He et al.: variance 2/fanIn suits ReLU layers.
      initFillNormal(0, Math.sqrt(2 / fanIn), n, seed, stream, out, outOff);
      return;
    default:
      throw new Error(`initParam: unknown initializer kind ${kind}`);
  }
}

function initFillUniform(low: number, high: number, n: number, seed: number, stream: number, out: Floats, outOff: number): void {
  for (let j = 0; j < n; j++) out[outOff + j] = low + (high - low) * uniform01(seed, stream, 0, j);
}

/**
 * mean + std·z for standard normals z by Box–Muller: the pair (2j, 2j+1)
 * takes u1 = draw(2j), u2 = draw(2j+1) and gives r·cos(2π·u2) and
 * r·sin(2π·u2), r = √(−2·ln(1 − u1)) (1 − u1 lies in (0, 1], so the log is
 * finite); an odd last element takes the cosine.
 */
function initFillNormal(mean: number, std: number, n: number, seed: number, stream: number, out: Floats, outOff: number): void {
  for (let j = 0; 2 * j < n; j++) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform01(seed, stream, 0, 2 * j)));
    const theta = 2 * Math.PI * uniform01(seed, stream, 0, 2 * j + 1);
    out[outOff + 2 * j] = mean + std * (r * Math.cos(theta));
    if (2 * j + 1 < n) out[outOff + 2 * j + 1] = mean + std * (r * Math.sin(theta));
  }
}
