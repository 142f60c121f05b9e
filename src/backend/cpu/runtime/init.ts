// Parameter initialisation for the CPU runtime: the same numbers as the
// interpreter's initTensor (src/interp/init.ts) for the same seed, drawn
// from the shared counter-based RNG with the same fan-in/fan-out rules and
// the same Box–Muller pairing, computed in float64 by the same expressions
// and rounded to float32 only when stored. Runs once per param at start-up.
import { uniform01 } from "./rng.ts";

/** Initializer codes, the `kind` of initParam. */
export const INIT_ZEROS = 0;
export const INIT_ONES = 1;
export const INIT_UNIFORM = 2;
export const INIT_NORMAL = 3;
export const INIT_XAVIER = 4;
export const INIT_HE = 5;

/**
 * Fills out[outOff …] with the size(shape) values of one param, element j
 * drawing uniform01(seed, stream, 0, j); stream is the whole stream number,
 * PARAM_STREAM + the param's index in graph.params. kind is an INIT_* code;
 * (a, b) are (low, high) for uniform and (mean, std) for normal, unused
 * otherwise. Fans, as the interpreter's fans(): for rank ≥ 2 the last two
 * axes are [in, out] times the receptive field of the leading ones; a vector
 * has fanIn = fanOut = its length; a scalar 1.
 */
export function initParam(kind: number, a: number, b: number, shape: readonly number[], seed: number, stream: number, out: Float32Array, outOff: number): void {
  let n = 1;
  for (let i = 0; i < shape.length; i++) n *= shape[i]!;
  const r = shape.length;
  let fanIn = 1;
  let fanOut = 1;
  if (r === 1) {
    fanIn = shape[0]!;
    fanOut = shape[0]!;
  } else if (r >= 2) {
    let receptive = 1;
    for (let i = 0; i < r - 2; i++) receptive *= shape[i]!;
    fanIn = shape[r - 2]! * receptive;
    fanOut = shape[r - 1]! * receptive;
  }
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

function initFillUniform(low: number, high: number, n: number, seed: number, stream: number, out: Float32Array, outOff: number): void {
  for (let j = 0; j < n; j++) out[outOff + j] = low + (high - low) * uniform01(seed, stream, 0, j);
}

/**
 * mean + std·z for standard normals z by Box–Muller: the pair (2j, 2j+1)
 * takes u1 = draw(2j), u2 = draw(2j+1) and gives r·cos(2π·u2) and
 * r·sin(2π·u2), r = √(−2·ln(1 − u1)); an odd last element takes the cosine.
 */
function initFillNormal(mean: number, std: number, n: number, seed: number, stream: number, out: Float32Array, outOff: number): void {
  for (let j = 0; 2 * j < n; j++) {
    const r = Math.sqrt(-2 * Math.log(1 - uniform01(seed, stream, 0, 2 * j)));
    const theta = 2 * Math.PI * uniform01(seed, stream, 0, 2 * j + 1);
    out[outOff + 2 * j] = mean + std * (r * Math.cos(theta));
    if (2 * j + 1 < n) out[outOff + 2 * j + 1] = mean + std * (r * Math.sin(theta));
  }
}
