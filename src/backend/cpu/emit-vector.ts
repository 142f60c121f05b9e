// A fused elementwise loop on the WebAssembly SIMD kernels (runtime/vector.ts):
// the loop's formula, node by node, as one kernel call per operation over a
// block of elements, each into a scratch register, the last into the loop's
// result. The module keeps the JavaScript loop (emit-steps.ts) beside it for
// where WebAssembly SIMD is missing or wasm: false; this writes only the
// block loop, or gives null for a loop the kernels cannot run (a broadcast
// operand, integer data, pow, more registers or constants than there are),
// which then runs in JavaScript alone.
import type { NodeId } from "../../ir/graph.ts";
import type { Cond, Scalar } from "../../ops/scalar/expr.ts";
import { scalarOf } from "../../ops/scalar-rule.ts";
import { dimExpr, num, shapeSizeText } from "../common.ts";
import { constantSize, shapeSize } from "../../lower/size.ts";
import { VECTOR_BLOCK, VECTOR_REGISTERS } from "./runtime/vector.ts";
import { offsetOf, valueOf, type StepContext } from "./emit-steps.ts";

/** A kernel's operand: a byte-address expression and its stride (LANES: one float per element; SPLAT: one for all). */
interface Operand {
  readonly at: string;
  readonly stride: "LANES" | "SPLAT";
}

const UNARY = { neg: "V_NEG", exp: "V_EXP", log: "V_LOG", tanh: "V_TANH", sqrt: "V_SQRT", abs: "V_ABS", sign: "V_SIGN" } as const;
const BINARY = { add: "V_ADD", sub: "V_SUB", mul: "V_MUL", div: "V_DIV", max: "V_MAX", min: "V_MIN" } as const;
const COMPARE = { ">": "V_GT", ">=": "V_GE", "==": "V_EQ" } as const;

/**
 * Loops of fewer elements than this (a number at compile time) stay
 * JavaScript: a call into WebAssembly costs about what a few elements do.
 */
const MIN_ELEMENTS = 16;

/** What a formula cannot be run as: the whole loop stays JavaScript. */
class Unsupported extends Error {}

/**
 * The block loop computing `nodes` (scalar ops, in order) into `out`'s place,
 * for emitLoop; `product`, in a matrix product's epilogue, is the value
 * already in that place. Null where the kernels cannot run it.
 */
export function vectorLoop(c: StepContext, nodes: readonly NodeId[], out: NodeId, product?: NodeId): string[] | null {
  try {
    return blockLoop(c, nodes, out, product);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

function blockLoop(c: StepContext, nodes: readonly NodeId[], out: NodeId, product: NodeId | undefined): string[] {
  const g = c.g;
  const outShape = g.shapes[out]!;
  const total = shapeSizeText(outShape);
  if (valueOf(c, out).arr !== "f32") throw new Unsupported();
  if ((constantSize(shapeSize(outShape)) ?? MIN_ELEMENTS) < MIN_ELEMENTS) throw new Unsupported();
  const inside = new Map<NodeId, Operand>();
  const calls: string[] = [];
  let registers = 0;
  let usesConstants = false;
  const register = (): Operand => {
    if (registers === VECTOR_REGISTERS) throw new Unsupported();
    const r = registers++;
    return { at: r === 0 ? "vr" : `vr + ${4 * VECTOR_BLOCK * r}`, stride: "LANES" };
  };
  const constant = (text: string): Operand => {
    const k = c.vectorConstant?.(text) ?? -1;
    if (k < 0) throw new Unsupported();
    usesConstants = true;
    return { at: k === 0 ? "vk" : `vk + ${4 * k}`, stride: "SPLAT" };
  };
  const leaf = (a: NodeId): Operand => {
    const n = g.nodes[a]!;
    if (n.op === "const") return constant(num(n.attrs.value as number));
    if (n.op === "dimval") return constant(dimExpr(n.attrs.dim as string | number));
    if (a === product) return { at: `4 * (${offsetOf(c, out)} + i)`, stride: "LANES" };
    const v = valueOf(c, a);
    if (v.arr !== "f32") throw new Unsupported();
    const shape = g.shapes[a]!;
    if (shape.every((d) => d === 1)) return { at: `4 * ${offsetOf(c, a)}`, stride: "SPLAT" };
    const same = shape.length === outShape.length && shape.every((d, k) => d === outShape[k]);
    if (!same) throw new Unsupported();
    return { at: `4 * (${offsetOf(c, a)} + i)`, stride: "LANES" };
  };
  const ref = (a: NodeId): Operand => inside.get(a) ?? leaf(a);
  const dst = { at: `4 * (${offsetOf(c, out)} + i)`, stride: "LANES" } as const;

  for (const id of nodes) {
    const e = scalarOf(g.nodes[id]!, c.program.training);
    if (e === undefined) throw new Error(`internal: ${g.nodes[id]!.op} is not a scalar op`);
    const args = g.nodes[id]!.args.map(ref);
    const memo = new Map<Scalar, Operand>();
    // Each operation of the formula writes a fresh register, the node's root writes the result (for `out`).
    const target = (root: boolean): Operand => (root && id === out ? dst : register());
    const cond = (x: Cond): Operand => {
      const mask = register();
      if (x.k === "keep") {
        const threshold = Math.min(16777216, Math.max(0, Math.ceil(x.p * 16777216)));
        calls.push(`vec.keep(${mask.at}, key${id}, i, ${threshold}, n);`);
      } else {
        const [a, b] = [go(x.a, false), go(x.b, false)];
        calls.push(`vec.binary(${COMPARE[x.op]}, ${mask.at}, ${a.at}, ${a.stride}, ${b.at}, ${b.stride}, n);`);
      }
      return mask;
    };
    const go = (x: Scalar, root: boolean): Operand => {
      const known = memo.get(x);
      if (known !== undefined && !root) return known;
      let r: Operand;
      switch (x.k) {
        case "arg":
        case "num": {
          const v = x.k === "arg" ? args[x.i]! : constant(num(x.v));
          if (!root || id !== out) return v;
          r = dst;
          calls.push(`vec.unary(V_COPY, ${r.at}, ${v.at}, ${v.stride}, n);`);
          break;
        }
        case "fn1": {
          const a = go(x.x, false);
          r = target(root);
          calls.push(`vec.unary(${UNARY[x.f]}, ${r.at}, ${a.at}, ${a.stride}, n);`);
          break;
        }
        case "fn2": {
          if (x.f === "pow") throw new Unsupported();
          const [a, b] = [go(x.a, false), go(x.b, false)];
          r = target(root);
          calls.push(`vec.binary(${BINARY[x.f]}, ${r.at}, ${a.at}, ${a.stride}, ${b.at}, ${b.stride}, n);`);
          break;
        }
        case "select": {
          const m = cond(x.cond);
          const [t, f] = [go(x.then, false), go(x.else, false)];
          r = target(root);
          calls.push(`vec.select(${r.at}, ${m.at}, ${t.at}, ${t.stride}, ${f.at}, ${f.stride}, n);`);
          break;
        }
      }
      memo.set(x, r);
      return r;
    };
    inside.set(id, go(e, true));
  }
  return [
    ...(registers > 0 ? ["const vr = vec.regs;"] : []),
    ...(usesConstants ? ["const vk = vec.consts;"] : []),
    `for (let i = 0; i < ${total}; i += VECTOR_BLOCK) {`,
    `  const n = Math.min(VECTOR_BLOCK, ${total} - i);`,
    ...calls.map((s) => `  ${s}`),
    "}",
  ];
}
