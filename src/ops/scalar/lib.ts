// Formulas several ops share, written once: the stable logistic function and
// an accurate erf. Each takes and returns expressions, so an op can use them
// inside its own formula (silu is x · sigmoid(x)).
import { add, cmp, div, exp, mul, neg, num, select, sub, type Scalar } from "./expr.ts";

/**
 * 1 / (1 + e^−x) without overflow: with e = e^−|x|, (x ≥ 0 ? 1 : e) / (1 + e),
 * the interpreter's and the gemm epilogue's formula. |x| is written as a
 * select on x ≥ 0 so that the derived slope at 0 is the x ≥ 0 branch's (¼).
 */
export function sigmoid(x: Scalar): Scalar {
  const pos = cmp(">=", x, 0);
  const e = exp(select(pos, neg(x), x));
  return div(select(pos, 1, e), add(1, e));
}

/** Numerical Recipes' Chebyshev fit of erfc(z)·e^(z²) for z ≥ 0, in t = 1 / (1 + z/2), innermost coefficient last. */
const ERFC_FIT = [-1.26551223, 1.00002368, 0.37409196, 0.09678418, -0.18628806, 0.27886807, -1.13520398, 1.48851587, -0.82215223, 0.17087277];

/**
 * The error function, from erfc(z) = t·exp(−z² + P(t)) (Numerical Recipes
 * §6.2, `erfcc`): fractional error of erfc below 1.2e-7 for all z ≥ 0, so
 * |erf(x) − erf_exact(x)| < 1.2e-7 everywhere (test/scalar.test.ts checks
 * it against a float64 series), about two f32 ulps near 1; its derived
 * slope is within 1e-5 of 2/√π·e^(−x²). One exp. As in `sigmoid`, |x| is a
 * select so that the derived slope at 0 is the x ≥ 0 branch's.
 */
export function erf(x: Scalar): Scalar {
  const pos = cmp(">=", x, 0);
  const z = select(pos, x, neg(x));
  const t = div(1, add(1, mul(0.5, z)));
  // Horner: c0 + t·(c1 + t·(c2 + …))
  const poly = ERFC_FIT.slice(0, -1).reduceRight<Scalar>((acc, c) => add(c, mul(t, acc)), num(ERFC_FIT[ERFC_FIT.length - 1]!));
  const erfc = mul(t, exp(add(neg(mul(z, z)), poly)));
  return select(pos, sub(1, erfc), sub(erfc, 1));
}
