// Scalar expressions, the one definition of every elementwise op: the
// TypeScript rendering computes the interpreter's float64 numbers, brackets
// follow precedence, shared values are computed once, derived slopes match
// finite differences (at the kinks too), the new activations stay finite at
// extreme inputs, and erf is within its documented error.
import { describe, expect, it } from "vitest";
import { OPS } from "../src/ops/registry.ts";
import { isScalarOp, registryScalar } from "../src/ops/scalar-rule.ts";
import { compile, cost, type EvalEnv } from "../src/ops/scalar/eval.ts";
import * as S from "../src/ops/scalar/expr.ts";
import { erf } from "../src/ops/scalar/lib.ts";
import { toTypeScript, toWgsl } from "../src/ops/scalar/render.ts";
import type { OpAttrs, OpName, ScalarOpName } from "../src/ops/types.ts";
import { seededRandom } from "./helpers.ts";

const NO_DROPOUT: EvalEnv = { keep: () => true };
const X = S.arg(0);

/** The value of a one-argument expression at x, in float64. */
const at = (e: S.Scalar, x: number) => compile(e)([x], 0, NO_DROPOUT);

/** Attributes that exercise each attribute-taking scalar op. */
const ATTRS: Partial<{ [K in ScalarOpName]: OpAttrs[K] }> = {
  leaky_relu: { slope: 0.2 },
  gelu: { approximate: "none" },
  elu: { alpha: 0.5 },
  dropout: { p: 0.25, stream: 3 },
  dropout_mask: { p: 0.25, stream: 3 },
  derivative: { of: "gelu", arg: 0, approximate: "tanh" },
};

/** Every scalar op, with the expressions the tests below render. */
function scalarOps(): { op: ScalarOpName; expr: S.Scalar; arity: number }[] {
  return (Object.keys(OPS) as OpName[]).filter(isScalarOp).map((op) => ({
    op,
    expr: registryScalar(op, (ATTRS[op] ?? {}) as never, true),
    arity: op === "derivative" ? 1 : OPS[op].tensors.length,
  }));
}

describe("TypeScript rendering", () => {
  // The CPU computes in float64 before storing to f32, so its loop body must give the interpreter's numbers exactly.
  it.each(scalarOps())("$op computes the interpreter's float64 numbers bit for bit", ({ expr, arity }) => {
    const refs = Array.from({ length: arity }, (_, k) => `a[${k}]`);
    const r = toTypeScript(expr, refs, { id: 7, i: "i" });
    const keep = (i: number) => i % 3 !== 0;
    const body = [...r.stmts, `return ${r.value};`].join("\n");
    const f = new Function("a", "i", "uniformAt", "key7", body) as (a: number[], i: number, u: unknown, k: unknown) => number;
    const uniformAt = (_key: unknown, i: number) => (keep(i) ? 0.99 : 0);
    const evaluate = compile(expr);
    const rand = seededRandom(5);
    const samples = [0, -0.5, 0.5, 3, -3, 40, -40, ...Array.from({ length: 40 }, () => rand() * 8 - 4)];
    samples.forEach((v, i) => {
      const args = Array.from({ length: arity }, (_, k) => (k === 0 ? v : samples[(i + 3) % samples.length]!));
      const want = evaluate(args, i, { keep: (_p, _s, j) => keep(j) });
      const got = f(args, i, uniformAt, 0);
      expect(Number.isNaN(want) ? Number.isNaN(got) : got === want, `${v}: ${got} vs ${want}\n${body}`).toBe(true);
    });
  });

  it("brackets by precedence and keeps the stated order of operations", () => {
    const [a, b, c] = [S.arg(0), S.arg(1), S.arg(2)];
    const ts = (e: S.Scalar) => toTypeScript(e, ["a", "b", "c"], { id: 0, i: "i" }).value;
    expect(ts(S.sub(a, S.sub(b, c)))).toBe("a - (b - c)");
    expect(ts(S.sub(S.sub(a, b), c))).toBe("a - b - c");
    expect(ts(S.mul(S.add(a, b), c))).toBe("(a + b) * c");
    expect(ts(S.add(a, S.mul(b, c)))).toBe("a + b * c");
    expect(ts(S.pow(S.neg(a), 2))).toBe("(-a) ** 2");
    expect(ts(S.neg(S.neg(a)))).toBe("-(-a)");
    expect(ts(S.mul(a, -2))).toBe("a * (-2)");
    expect(ts(S.select(S.cmp(">", a, 0), a, S.mul(0.5, a)))).toBe("(a > 0 ? a : 0.5 * a)");
    expect(ts(S.exp(S.select(S.cmp("==", a, b), a, b)))).toBe("Math.exp(a === b ? a : b)");
  });

  it("computes a value used twice once, in a temporary", () => {
    const r = toTypeScript(registryScalar("sigmoid", {}, false), ["x"], { id: 4, i: "i" });
    expect(r.stmts).toEqual(["const v4_0 = Math.exp(x >= 0 ? -x : x);"]);
    expect(r.value).toBe("(x >= 0 ? 1 : v4_0) / (1 + v4_0)");
  });

  it("hoists dropout's key before the loop", () => {
    const r = toTypeScript(registryScalar("dropout", { p: 0.5, stream: 2 }, true), ["x"], { id: 9, i: "i" });
    expect(r.prelude).toEqual(["const key9 = dropoutKey(seed, DROPOUT_STREAM + 2, step);"]);
    expect(r.value).toBe("x * (uniformAt(key9, i) >= 0.5 ? 2 : 0)");
    expect(toTypeScript(registryScalar("dropout", { p: 0.5, stream: 2 }, false), ["x"], { id: 9, i: "i" }).value).toBe("x");
  });
});

describe("WGSL rendering", () => {
  it("writes f32 literals, select, the clamped tanh and library calls", () => {
    const w = (e: S.Scalar) => toWgsl(e, ["x", "y"], { id: 3, i: "i" });
    expect(w(S.select(S.cmp(">", X, 0), X, S.mul(-0.5, X))).value).toBe("select((-0.5) * x, x, x > 0.0)");
    expect(w(S.tanh(X)).value).toBe("tanh(clamp(x, -15.0, 15.0))");
    const pow = w(S.pow(X, S.arg(1)));
    expect([pow.value, pow.uses]).toEqual(["nnc_pow(x, y)", ["nnc_pow"]]);
    const drop = w(registryScalar("dropout_mask", { p: 0.5, stream: 0 }, true));
    expect(drop).toEqual({ prelude: ["let key3: u32 = nnc_dropout_key(DROPOUT_STREAM + 0u);"], stmts: [], value: "select(0.0, 2.0, nnc_keep(key3, i, 8388608u))", uses: ["nnc_dropout_key", "nnc_keep"] });
    expect(w(registryScalar("sigmoid", {}, false)).stmts).toEqual(["let e3_0: f32 = exp(select(x, -x, x >= 0.0));"]);
  });
});

describe("cost", () => {
  it("counts one per arithmetic operation or comparison, four per transcendental function, shared values once", () => {
    expect(cost(registryScalar("relu", {}, false))).toBe(1);
    expect(cost(registryScalar("tanh", {}, false))).toBe(4);
    expect(cost(registryScalar("leaky_relu", { slope: 0.1 }, false))).toBe(2);
    // x ≥ 0 (once), −x, exp, 1 + e, the division
    expect(cost(registryScalar("sigmoid", {}, false))).toBe(8);
    expect(cost(registryScalar("dropout", { p: 0.5, stream: 0 }, true))).toBe(2);
  });
});

/** The float64 reference: erf's Maclaurin series (accurate to ~1e-11 for |x| ≤ 4), 1 beyond (erfc(4) < 1.6e-8). */
function erfReference(x: number): number {
  if (Math.abs(x) > 4) return Math.sign(x);
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

describe("erf", () => {
  it("is within 1.2e-7 of the float64 reference on [-6, 6]", () => {
    const e = erf(X);
    let worst = 0;
    for (let x = -6; x <= 6; x += 1 / 512) worst = Math.max(worst, Math.abs(at(e, x) - erfReference(x)));
    expect(worst).toBeLessThan(1.2e-7);
    expect(worst).toBeGreaterThan(0); // an approximation: the reference can tell them apart
  });
});

/** Central difference of a one-argument expression at x. */
const slopeOf = (e: S.Scalar, x: number, h = 1e-6) => (at(e, x + h) - at(e, x - h)) / (2 * h);

describe("derived slopes", () => {
  const ops: [string, S.Scalar][] = [
    ["sigmoid", registryScalar("sigmoid", {}, false)],
    ["gelu", registryScalar("gelu", { approximate: "none" }, false)],
    ["gelu tanh", registryScalar("gelu", { approximate: "tanh" }, false)],
    ["silu", registryScalar("silu", {}, false)],
    ["softplus", registryScalar("softplus", {}, false)],
    ["elu", registryScalar("elu", { alpha: 0.7 }, false)],
    ["erf", erf(X)],
  ];
  it.each(ops)("%s: diff matches central differences away from kinks", (_name, e) => {
    const d = S.diff(e, 0);
    for (const x of [-5, -2.5, -1, -0.3, 0.2, 0.9, 1.7, 4]) expect(at(d, x)).toBeCloseTo(slopeOf(e, x), 6);
  });

  it("takes the true slope at 0 where a formula is split there", () => {
    const slope0 = (op: ScalarOpName, attrs: object = {}) => at(S.diff(registryScalar(op, attrs as never, false), 0), 0);
    expect(slope0("sigmoid")).toBeCloseTo(0.25, 12);
    expect(slope0("softplus")).toBeCloseTo(0.5, 12);
    expect(slope0("silu")).toBeCloseTo(0.5, 12);
    expect(slope0("gelu", { approximate: "none" })).toBeCloseTo(0.5, 6);
    expect(slope0("gelu", { approximate: "tanh" })).toBeCloseTo(0.5, 12);
  });

  it("gives erf the slope 2/√π·e^(−x²) within 1e-5 (the fit's own slope, largest at 0)", () => {
    const d = S.diff(erf(X), 0);
    for (let x = -6; x <= 6; x += 1 / 256) expect(Math.abs(at(d, x) - (2 / Math.sqrt(Math.PI)) * Math.exp(-x * x))).toBeLessThan(1e-5);
  });

  it("differentiates both arguments of a binary expression", () => {
    const e = S.div(S.pow(S.arg(0), S.arg(1)), S.max(S.arg(0), S.arg(1)));
    const f = compile(e);
    const [a, b, h] = [1.3, 0.7, 1e-6];
    const da = (f([a + h, b], 0, NO_DROPOUT) - f([a - h, b], 0, NO_DROPOUT)) / (2 * h);
    const db = (f([a, b + h], 0, NO_DROPOUT) - f([a, b - h], 0, NO_DROPOUT)) / (2 * h);
    expect(compile(S.diff(e, 0))([a, b], 0, NO_DROPOUT)).toBeCloseTo(da, 6);
    expect(compile(S.diff(e, 1))([a, b], 0, NO_DROPOUT)).toBeCloseTo(db, 6);
  });
});

describe("stability of the new activations", () => {
  it.each([
    ["softplus", {}, 1000, 1000],
    ["softplus", {}, -1000, 0],
    ["silu", {}, -1000, -0],
    ["silu", {}, 1000, 1000],
    ["gelu", { approximate: "none" }, -40, -0],
    ["gelu", { approximate: "none" }, 40, 40],
    ["gelu", { approximate: "tanh" }, 40, 40],
    ["elu", { alpha: 1 }, -1000, -1],
  ] as const)("%s(%s) at %d is %d, finite, as is its slope", (op, attrs, x, want) => {
    const e = registryScalar(op as ScalarOpName, attrs as never, false);
    expect(at(e, x)).toBeCloseTo(want, 9);
    expect(Number.isFinite(at(S.diff(e, 0), x))).toBe(true);
  });

  it("softplus matches ln(1 + e^x) where that does not overflow", () => {
    const e = registryScalar("softplus", {}, false);
    for (const x of [-30, -2, -0.1, 0, 0.1, 2, 30]) expect(at(e, x)).toBeCloseTo(Math.log1p(Math.exp(x)), 12);
  });
});
