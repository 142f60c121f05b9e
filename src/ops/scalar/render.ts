// Scalar expressions as TypeScript (the CPU backend's float loops) and WGSL
// (the WebGPU backend's f32 shaders): one printer, two dialects. Parentheses
// follow precedence, and the right operand of a left-associative operator is
// always bracketed at equal precedence, so the float operations happen in
// exactly the order the formula states.
import { wnum } from "../wgsl-util.ts";
import type { Cond, Fn1, Fn2, Scalar } from "./expr.ts";

/** A rendered expression: lines once before the loop, lines per element, the value. */
export interface Rendered {
  /** Statements run once before the elements (the CPU's dropout key); per invocation in WGSL. */
  readonly prelude: readonly string[];
  /** Statements computing shared subexpressions, per element, before `value`. */
  readonly stmts: readonly string[];
  readonly value: string;
  /** WGSL library functions (src/backend/webgpu/wgsl-lib.ts) the code calls; empty for TypeScript. */
  readonly uses: readonly string[];
}

/** Where the expression is rendered: `id` names the node's locals, `i` is the flat element index. */
export interface RenderAt {
  readonly id: number;
  readonly i: string;
}

// Precedence: higher binds tighter.
const TERNARY = 1;
const CMP = 3;
const ADD = 4;
const MUL = 5;
const POW = 6;
const UNARY = 7;
const ATOM = 9;

interface Text {
  readonly text: string;
  readonly prec: number;
}
const wrap = (t: Text, min: number) => (t.prec < min ? `(${t.text})` : t.text);
const atom = (text: string): Text => ({ text, prec: ATOM });

interface Dialect {
  num(v: number): string;
  fn1(f: Fn1, x: Text): Text;
  fn2(f: Fn2, a: Text, b: Text): Text;
  select(c: Text, t: Text, e: Text): Text;
  eq: string;
  keep(c: Extract<Cond, { k: "keep" }>, at: RenderAt): { cond: Text; prelude: string };
  temp(name: string, value: string): string;
  tempName(at: RenderAt, k: number): string;
  uses: { readonly [F in Fn1 | Fn2 | "keep"]?: readonly string[] };
}

const infix = (op: string, prec: number) => (a: Text, b: Text): Text => ({ text: `${wrap(a, prec)} ${op} ${wrap(b, prec + 1)}`, prec });
const ARITH = { add: infix("+", ADD), sub: infix("-", ADD), mul: infix("*", MUL), div: infix("/", MUL) };
const negate = (x: Text): Text => ({ text: `-${wrap(x, ATOM)}`, prec: UNARY });

/** A number as an exact, readable TypeScript literal; negatives bracketed. */
export function tsNum(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (!Number.isFinite(v)) return v > 0 ? "Infinity" : "(-Infinity)";
  const s = Object.is(v, -0) ? "-0" : String(v);
  return v < 0 || Object.is(v, -0) ? `(${s})` : s;
}

const TS: Dialect = {
  num: tsNum,
  fn1: (f, x) => (f === "neg" ? negate(x) : atom(`Math.${f}(${x.text})`)),
  fn2: (f, a, b) => (f === "pow" ? { text: `${wrap(a, ATOM)} ** ${wrap(b, POW)}`, prec: POW } : f === "max" || f === "min" ? atom(`Math.${f}(${a.text}, ${b.text})`) : ARITH[f](a, b)),
  select: (c, t, e) => ({ text: `${wrap(c, CMP)} ? ${wrap(t, CMP)} : ${wrap(e, CMP)}`, prec: TERNARY }),
  eq: "===",
  keep: ({ p, stream }, { id, i }) => ({
    cond: { text: `uniformAt(key${id}, ${i}) >= ${tsNum(p)}`, prec: CMP },
    prelude: `const key${id} = dropoutKey(seed, DROPOUT_STREAM + ${stream}, step);`,
  }),
  temp: (name, value) => `const ${name} = ${value};`,
  tempName: ({ id }, k) => `v${id}_${k}`,
  uses: {},
};

const WGSL: Dialect = {
  num: wnum,
  fn1: (f, x) =>
    f === "neg"
      ? negate(x)
      : // tanh is clamped: some drivers compute it from exp(2x), NaN past 44; tanh(±15) is ±1 in f32.
        atom(f === "tanh" ? `tanh(clamp(${x.text}, -15.0, 15.0))` : `${f}(${x.text})`),
  // WGSL's pow is undefined for a < 0, so pow calls the library's nnc_pow.
  fn2: (f, a, b) => (f === "pow" ? atom(`nnc_pow(${a.text}, ${b.text})`) : f === "max" || f === "min" ? atom(`${f}(${a.text}, ${b.text})`) : ARITH[f](a, b)),
  select: (c, t, e) => atom(`select(${e.text}, ${t.text}, ${c.text})`),
  eq: "==",
  // Kept when the top 24 bits of the element's hash reach p·2²⁴: the CPU's uniform01 ≥ p, compared exactly.
  keep: ({ p, stream }, { id, i }) => ({
    cond: atom(`nnc_keep(key${id}, ${i}, ${Math.ceil(p * 16777216)}u)`),
    prelude: `let key${id}: u32 = nnc_dropout_key(DROPOUT_STREAM + ${stream}u);`,
  }),
  temp: (name, value) => `let ${name}: f32 = ${value};`,
  tempName: ({ id }, k) => `e${id}_${k}`,
  uses: { pow: ["nnc_pow"], keep: ["nnc_keep", "nnc_dropout_key"] },
};

/** The expression as TypeScript over `refs` (atomic expressions: names, literals, indexed reads). */
export function toTypeScript(e: Scalar, refs: readonly string[], at: RenderAt): Rendered {
  return render(TS, e, refs, at);
}

/** The expression as WGSL (f32) over `refs` (atomic expressions). */
export function toWgsl(e: Scalar, refs: readonly string[], at: RenderAt): Rendered {
  return render(WGSL, e, refs, at);
}

/** Nodes reached more than once: each becomes a temporary. */
function sharedNodes(e: Scalar): Set<Scalar> {
  const seen = new Set<Scalar>();
  const shared = new Set<Scalar>();
  const visit = (x: Scalar): void => {
    if (x.k === "arg" || x.k === "num") return;
    if (seen.has(x)) {
      shared.add(x);
      return;
    }
    seen.add(x);
    if (x.k === "fn1") visit(x.x);
    else if (x.k === "fn2") [x.a, x.b].forEach(visit);
    else {
      if (x.cond.k === "cmp") [x.cond.a, x.cond.b].forEach(visit);
      [x.then, x.else].forEach(visit);
    }
  };
  visit(e);
  return shared;
}

function render(d: Dialect, e: Scalar, refs: readonly string[], at: RenderAt): Rendered {
  const shared = sharedNodes(e);
  const temps = new Map<Scalar, Text>();
  const prelude = new Set<string>();
  const stmts: string[] = [];
  const uses = new Set<string>();
  const use = (k: keyof Dialect["uses"]) => d.uses[k]?.forEach((u) => uses.add(u));
  const cond = (c: Cond): Text => {
    if (c.k === "keep") {
      const k = d.keep(c, at);
      prelude.add(k.prelude);
      use("keep");
      return k.cond;
    }
    return { text: `${wrap(go(c.a), CMP + 1)} ${c.op === "==" ? d.eq : c.op} ${wrap(go(c.b), CMP + 1)}`, prec: CMP };
  };
  const text = (x: Scalar): Text => {
    switch (x.k) {
      case "arg":
        return atom(refs[x.i]!);
      case "num":
        return atom(d.num(x.v));
      case "fn1":
        use(x.f);
        return d.fn1(x.f, go(x.x));
      case "fn2":
        use(x.f);
        return d.fn2(x.f, go(x.a), go(x.b));
      case "select":
        return d.select(cond(x.cond), go(x.then), go(x.else));
    }
  };
  // A whole value (a statement's right-hand side) brackets a ternary all the same: it reads as one value.
  const whole = (t: Text) => wrap(t, CMP);
  const go = (x: Scalar): Text => {
    const known = temps.get(x);
    if (known) return known;
    const t = text(x);
    if (!shared.has(x)) return t;
    const name = d.tempName(at, temps.size);
    stmts.push(d.temp(name, whole(t)));
    temps.set(x, atom(name));
    return atom(name);
  };
  const value = whole(go(e));
  return { prelude: [...prelude], stmts, value, uses: [...uses].sort() };
}
