// Scalar expressions in float64 (the reference interpreter's elementwise
// kernels) and their FLOP cost (nnc grad --stats).
import type { Cond, Fn1, Fn2, Scalar } from "./expr.ts";

/** What evaluation needs beyond the arguments: dropout's draw for element i. */
export interface EvalEnv {
  keep(p: number, stream: number, i: number): boolean;
}

/** One element: the argument values and the flat index. */
export type Evaluator = (args: readonly number[], i: number, env: EvalEnv) => number;

// Math.max/min propagate NaN (a comparison would hide it), so the oracle shows it.
const F1: { readonly [F in Fn1]: (x: number) => number } = {
  neg: (x) => -x,
  exp: Math.exp,
  log: Math.log,
  tanh: Math.tanh,
  sqrt: Math.sqrt,
  abs: Math.abs,
  sign: (x) => Math.sign(x) + 0, // + 0 turns −0 into 0; NaN stays NaN
};
const F2: { readonly [F in Fn2]: (a: number, b: number) => number } = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  pow: Math.pow,
  max: Math.max,
  min: Math.min,
};

/** Compiles the tree once into nested closures (a shared node is recomputed: values are pure). */
export function compile(e: Scalar): Evaluator {
  switch (e.k) {
    case "arg": {
      const k = e.i;
      return (args) => args[k]!;
    }
    case "num": {
      const v = e.v;
      return () => v;
    }
    case "fn1": {
      const f = F1[e.f];
      const x = compile(e.x);
      return (args, i, env) => f(x(args, i, env));
    }
    case "fn2": {
      const f = F2[e.f];
      const a = compile(e.a);
      const b = compile(e.b);
      return (args, i, env) => f(a(args, i, env), b(args, i, env));
    }
    case "select": {
      const c = compileCond(e.cond);
      const t = compile(e.then);
      const o = compile(e.else);
      return (args, i, env) => (c(args, i, env) ? t(args, i, env) : o(args, i, env));
    }
  }
}

function compileCond(c: Cond): (args: readonly number[], i: number, env: EvalEnv) => boolean {
  if (c.k === "keep") {
    const { p, stream } = c;
    return (_args, i, env) => env.keep(p, stream, i);
  }
  const a = compile(c.a);
  const b = compile(c.b);
  if (c.op === ">") return (args, i, env) => a(args, i, env) > b(args, i, env);
  if (c.op === ">=") return (args, i, env) => a(args, i, env) >= b(args, i, env);
  return (args, i, env) => a(args, i, env) === b(args, i, env);
}

/** FLOPs per element: one per arithmetic operation or comparison, four per transcendental function; selects are free. */
export function cost(e: Scalar): number {
  const counted = new Set<object>();
  const heavy = new Set<Fn1 | Fn2>(["exp", "log", "tanh", "sqrt", "pow"]);
  const once = (x: object) => !counted.has(x) && !!counted.add(x);
  const cond = (c: Cond): number => (!once(c) ? 0 : c.k === "keep" ? 1 : 1 + go(c.a) + go(c.b));
  const go = (x: Scalar): number => {
    if (x.k === "arg" || x.k === "num" || !once(x)) return 0;
    if (x.k === "fn1") return (heavy.has(x.f) ? 4 : 1) + go(x.x);
    if (x.k === "fn2") return (heavy.has(x.f) ? 4 : 1) + go(x.a) + go(x.b);
    return cond(x.cond) + go(x.then) + go(x.else);
  };
  return go(e);
}
