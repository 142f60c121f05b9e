// Scalar expressions: the one definition of every elementwise op. An op's
// expression is a small tree over its arguments (`arg(0)`, `arg(1)`), from
// which the backends render their loop bodies (render.ts), the interpreter
// and the FLOP count evaluate it (eval.ts), and `diff` derives its slope.
//
// A node object used twice in a tree is one shared value: the renderers
// compute it once into a temporary, so a formula can name a subexpression
// (`const e = exp(...)`) simply by reusing the JavaScript value.

/** Functions of one argument. `tanh` is clamped in WGSL (render.ts says why). */
export type Fn1 = "neg" | "exp" | "log" | "tanh" | "sqrt" | "abs" | "sign";
/** Arithmetic and functions of two arguments. */
export type Fn2 = "add" | "sub" | "mul" | "div" | "pow" | "max" | "min";
export type CmpOp = ">" | ">=" | "==";

export type Scalar =
  /** The op's k-th tensor argument, at this element. */
  | { readonly k: "arg"; readonly i: number }
  | { readonly k: "num"; readonly v: number }
  | { readonly k: "fn1"; readonly f: Fn1; readonly x: Scalar }
  | { readonly k: "fn2"; readonly f: Fn2; readonly a: Scalar; readonly b: Scalar }
  /** `then` where `cond` holds, else `else`. */
  | { readonly k: "select"; readonly cond: Cond; readonly then: Scalar; readonly else: Scalar };

export type Cond =
  | { readonly k: "cmp"; readonly op: CmpOp; readonly a: Scalar; readonly b: Scalar }
  /**
   * Whether dropout keeps this element: uniform01(seed, DROPOUT_STREAM + stream,
   * step, i) ≥ p. Each backend draws it from its own copy of the counter-based RNG.
   */
  | { readonly k: "keep"; readonly p: number; readonly stream: number };

type In = Scalar | number;
const lift = (x: In): Scalar => (typeof x === "number" ? { k: "num", v: x } : x);
const isNum = (x: Scalar, v: number) => x.k === "num" && x.v === v;

export const arg = (i: number): Scalar => ({ k: "arg", i });
export const num = (v: number): Scalar => ({ k: "num", v });

const fn1 = (f: Fn1) => (x: In): Scalar => ({ k: "fn1", f, x: lift(x) });
export const neg = fn1("neg");
export const exp = fn1("exp");
export const log = fn1("log");
export const tanh = fn1("tanh");
export const sqrt = fn1("sqrt");
export const abs = fn1("abs");
export const sign = fn1("sign");

const fn2 = (f: Fn2) => (a: In, b: In): Scalar => ({ k: "fn2", f, a: lift(a), b: lift(b) });
export const add = fn2("add");
export const sub = fn2("sub");
export const mul = fn2("mul");
export const div = fn2("div");
export const pow = fn2("pow");
export const max = fn2("max");
export const min = fn2("min");

export const cmp = (op: CmpOp, a: In, b: In): Cond => ({ k: "cmp", op, a: lift(a), b: lift(b) });
export const select = (cond: Cond, then: In, otherwise: In): Scalar => ({ k: "select", cond, then: lift(then), else: lift(otherwise) });
export const keep = (p: number, stream: number): Cond => ({ k: "keep", p, stream });

// Builders that drop the zeros and ones a derivative is full of; ops are
// written with the plain builders above, so their formulas render as written.
const sAdd = (a: Scalar, b: Scalar) => (isNum(a, 0) ? b : isNum(b, 0) ? a : add(a, b));
const sSub = (a: Scalar, b: Scalar) => (isNum(b, 0) ? a : isNum(a, 0) ? neg(b) : sub(a, b));
const sMul = (a: Scalar, b: Scalar): Scalar =>
  isNum(a, 0) || isNum(b, 0) ? num(0) : isNum(a, 1) ? b : isNum(b, 1) ? a : isNum(a, -1) ? sNeg(b) : isNum(b, -1) ? sNeg(a) : mul(a, b);
const sDiv = (a: Scalar, b: Scalar) => (isNum(a, 0) ? num(0) : isNum(b, 1) ? a : div(a, b));
const sNeg = (a: Scalar) => (a.k === "num" ? num(-a.v) : neg(a));
const sSelect = (c: Cond, t: Scalar, e: Scalar) => (t.k === "num" && e.k === "num" && t.v === e.v ? t : select(c, t, e));

/**
 * ∂e/∂(argument `wrt`), as an expression over the same arguments. Shared
 * nodes stay shared (the memo), so a slope reuses the forward's values.
 * At a kink the slope is the branch the formula takes there: d max(a, b)
 * follows b on a tie (as the `maximum` op's rule does), d|x| is sign(x).
 */
export function diff(e: Scalar, wrt: number): Scalar {
  const memo = new Map<Scalar, Scalar>();
  const d = (x: Scalar): Scalar => {
    let r = memo.get(x);
    if (r === undefined) {
      r = rule(x, d, wrt);
      memo.set(x, r);
    }
    return r;
  };
  return d(e);
}

function rule(e: Scalar, d: (x: Scalar) => Scalar, wrt: number): Scalar {
  switch (e.k) {
    case "arg":
      return num(e.i === wrt ? 1 : 0);
    case "num":
      return num(0);
    case "select":
      return sSelect(e.cond, d(e.then), d(e.else));
    case "fn1": {
      const dx = d(e.x);
      if (isNum(dx, 0)) return dx;
      const slope: { [F in Fn1]: () => Scalar } = {
        neg: () => num(-1),
        exp: () => e, // d eˣ = eˣ
        log: () => div(1, e.x),
        tanh: () => sub(1, mul(e, e)),
        sqrt: () => div(0.5, e),
        abs: () => sign(e.x),
        sign: () => num(0),
      };
      return e.f === "neg" ? sNeg(dx) : sMul(slope[e.f](), dx);
    }
    case "fn2":
      return rule2(e as Extract<Scalar, { k: "fn2" }>, d(e.a), d(e.b));
  }
}

function rule2(e: Extract<Scalar, { k: "fn2" }>, da: Scalar, db: Scalar): Scalar {
  const { a, b } = e;
  switch (e.f) {
    case "add":
      return sAdd(da, db);
    case "sub":
      return sSub(da, db);
    case "mul":
      return sAdd(sMul(da, b), sMul(a, db));
    case "div":
      // (da − (a/b)·db) / b
      return sDiv(sSub(da, sMul(e, db)), b);
    case "pow":
      // b·a^(b−1)·da + a^b·ln(a)·db
      return sAdd(sMul(sMul(b, pow(a, sSub(b, num(1)))), da), isNum(db, 0) ? db : sMul(sMul(e, log(a)), db));
    case "max":
      return sSelect(cmp(">", a, b), da, db);
    case "min":
      return sSelect(cmp(">", b, a), da, db);
  }
}
