// A fused elementwise loop on the WebAssembly SIMD kernels (runtime/vector.ts):
// the loop's formula, node by node, as one kernel call per operation over a
// block of elements, each into a scratch register, the last into the loop's
// result. The module keeps the JavaScript loop (emit-steps.ts) beside it for
// where WebAssembly SIMD is missing or wasm: false; this writes only the
// block loop, or gives null for a loop the kernels cannot run (integer data,
// pow, a broadcast operand other than a trailing block, more registers or
// constants than there are), which then runs in JavaScript alone.
//
// An operand that repeats along the loop's leading axes (a per-channel [C]
// operand of an [N, H, W, C] loop, a bias row of a [batch, n] one) is a
// trailing block of the loop's shape: its values repeat every `period`
// elements. Such a loop runs in blocks of whole periods, and the operand is
// tiled once, before the block loop, into a register of one block's length
// (vec.tile): every block then reads it as LANES from the register's start.
import type { NodeId } from "../../ir/graph.ts";
import type { Cond, Scalar } from "../../ops/scalar/expr.ts";
import type { Shape } from "../../ops/types.ts";
import { trailingStart } from "../../ops/cpu-util.ts";
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
export function vectorLoop(c: StepContext, nodes: readonly NodeId[], out: NodeId, product?: NodeId): VectorLoop | null {
  try {
    return blockLoop(c, nodes, out, product);
  } catch (e) {
    if (e instanceof Unsupported) return null;
    throw e;
  }
}

function blockLoop(c: StepContext, nodes: readonly NodeId[], out: NodeId, product: NodeId | undefined): VectorLoop {
  const outShape = c.g.shapes[out]!;
  if (valueOf(c, out).arr !== "f32") throw new Unsupported();
  if ((constantSize(shapeSize(outShape)) ?? MIN_ELEMENTS) < MIN_ELEMENTS) throw new Unsupported();
  const w = new BlockWriter(c, out, product);
  for (const id of nodes) w.node(id);
  return w.lines(shapeSizeText(outShape));
}

/** A loop on the kernels: its lines, run when `condition` (a TypeScript expression) holds, the JavaScript loop otherwise. */
export interface VectorLoop {
  readonly condition: string;
  readonly lines: string[];
}

/** An operand repeating every `period` elements of the loop (a trailing block of its shape), tiled into `register`. */
interface Tiled {
  readonly register: Operand;
  readonly from: string;
  readonly period: string;
  /** The loop axis its block starts at: the smallest one has the longest period, which every other period divides. */
  readonly axis: number;
}

/** One node's formula being written: its operands, and the operations of it already written (a shared subterm is computed once). */
interface NodeFormula {
  readonly id: NodeId;
  readonly args: readonly Operand[];
  readonly memo: Map<Scalar, Operand>;
}

/**
 * Writes the kernel calls of one block loop. A class because the registers
 * and constants it hands out, and the calls in order, are shared by every
 * node of the loop. Registers are handed out as virtual ones (a token in the
 * call's text); once the loop is written, each gets one of the
 * VECTOR_REGISTERS physical registers, reused after its value's last read
 * (a call may write the register it reads: every kernel reads an element's
 * vector before it writes it), so a long formula (gelu's slope) fits.
 */
class BlockWriter {
  private readonly inside = new Map<NodeId, Operand>();
  /** Operands from outside the loop, each read (or tiled) once. */
  private readonly leaves = new Map<NodeId, Operand>();
  private readonly tiled: Tiled[] = [];
  private readonly calls: string[] = [];
  /** Virtual registers handed out; the tiled ones live through the whole loop. */
  private virtual = 0;
  private readonly pinned = new Set<number>();
  /** Physical registers the loop uses, once allocated. */
  private registers = 0;
  private usesConstants = false;
  private readonly outShape: Shape;
  /** The loop's result place: the root of `out`'s formula writes here. */
  private readonly dst: Operand;

  constructor(
    private readonly c: StepContext,
    private readonly out: NodeId,
    private readonly product: NodeId | undefined,
  ) {
    this.outShape = c.g.shapes[out]!;
    this.dst = { at: `4 * (${offsetOf(c, out)} + i)`, stride: "LANES" };
  }

  /**
   * The loop's lines: the register and constant bases it uses, then the
   * block loop over `total` elements; with tiled operands, blocks of whole
   * periods of the longest one, which must fit one register (the condition).
   */
  lines(total: string): VectorLoop {
    this.allocate();
    const bases = [...(this.registers > 0 ? ["const vr = vec.regs;"] : []), ...(this.usesConstants ? ["const vk = vec.consts;"] : [])];
    const loop = (block: string) => [`for (let i = 0; i < ${total}; i += ${block}) {`, `  const n = Math.min(${block}, ${total} - i);`, ...this.calls.map((s) => `  ${s}`), "}"];
    if (this.tiled.length === 0) return { condition: "vec !== null", lines: [...bases, ...loop("VECTOR_BLOCK")] };
    const longest = this.tiled.reduce((a, b) => (b.axis < a.axis ? b : a)).period;
    const known = constantSize(shapeSize(this.outShape.slice(Math.min(...this.tiled.map((t) => t.axis)))));
    const condition = known === undefined ? `vec !== null && ${longest} <= VECTOR_BLOCK` : "vec !== null";
    return {
      condition,
      lines: [
        ...bases,
        `// Blocks of whole rows of ${longest}; the operands repeating along the leading axes tiled to one block.`,
        `const block = VECTOR_BLOCK - (VECTOR_BLOCK % ${longest});`,
        ...this.tiled.map((t) => `vec.tile(${t.register.at}, 4 * ${t.from}, ${t.period}, block);`),
        ...loop("block"),
      ],
    };
  }

  /** Writes node `id`'s formula; later nodes read its operand. */
  node(id: NodeId): void {
    const g = this.c.g;
    const e = scalarOf(g.nodes[id]!, this.c.program.training);
    if (e === undefined) throw new Error(`internal: ${g.nodes[id]!.op} is not a scalar op`);
    const args = g.nodes[id]!.args.map((a) => this.ref(a));
    this.inside.set(id, this.formula({ id, args, memo: new Map() }, e, true));
  }

  /** A fresh virtual scratch register. */
  private register(): Operand {
    return { at: `@r${this.virtual++}@`, stride: "LANES" };
  }

  /**
   * Gives each virtual register a physical one, in call order: a register is
   * free again after the last call that mentions it (at that call already:
   * the call may write it). The tiled ones are taken first and kept. More
   * than VECTOR_REGISTERS live at once, and the loop stays JavaScript.
   */
  private allocate(): void {
    const token = /@r(\d+)@/g;
    const first = new Map<number, number>();
    const last = new Map<number, number>();
    this.calls.forEach((call, i) => {
      for (const m of call.matchAll(token)) {
        const v = Number(m[1]);
        if (!first.has(v)) first.set(v, i);
        last.set(v, i);
      }
    });
    const physical = new Map<number, number>();
    const free: number[] = [];
    let used = 0;
    const take = (v: number) => {
      const r = free.length > 0 ? free.shift()! : used++;
      if (r >= VECTOR_REGISTERS) throw new Unsupported();
      physical.set(v, r);
    };
    for (const v of this.pinned) take(v);
    this.calls.forEach((_, i) => {
      // Registers read for the last time here are free for this call's result.
      for (const [v, at] of last) if (at === i && first.get(v) !== i && !this.pinned.has(v)) free.push(physical.get(v)!);
      free.sort((a, b) => a - b);
      for (const [v, at] of first) if (at === i && !this.pinned.has(v)) take(v);
      // A result never read again (none is: each is some later call's operand) is free at once.
      for (const [v, at] of last) if (at === i && first.get(v) === i && !this.pinned.has(v)) free.push(physical.get(v)!);
    });
    this.registers = used;
    const name = (v: number) => {
      const r = physical.get(v)!;
      return r === 0 ? "vr" : `vr + ${4 * VECTOR_BLOCK * r}`;
    };
    const rename = (text: string) => text.replace(token, (_, v: string) => name(Number(v)));
    this.calls.splice(0, this.calls.length, ...this.calls.map(rename));
    this.tiled.splice(0, this.tiled.length, ...this.tiled.map((t) => ({ ...t, register: { ...t.register, at: rename(t.register.at) } })));
  }

  /** A constant splat from the module's constant table; none left and the loop stays JavaScript. */
  private constant(text: string): Operand {
    const k = this.c.vectorConstant?.(text) ?? -1;
    if (k < 0) throw new Unsupported();
    this.usesConstants = true;
    return { at: k === 0 ? "vk" : `vk + ${4 * k}`, stride: "SPLAT" };
  }

  /** An operand computed by an earlier node of this loop, or else read from outside it. */
  private ref(a: NodeId): Operand {
    return this.inside.get(a) ?? this.leaf(a);
  }

  /** An operand from outside the loop, once per loop. */
  private leaf(a: NodeId): Operand {
    const known = this.leaves.get(a);
    if (known !== undefined) return known;
    const r = this.outside(a);
    this.leaves.set(a, r);
    return r;
  }

  /** An operand from outside the loop: a constant, a scalar (splat), a same-shaped f32 array, or one repeating along leading axes (tiled); another broadcast cannot run. */
  private outside(a: NodeId): Operand {
    const { c, out, outShape } = this;
    const n = c.g.nodes[a]!;
    if (n.op === "const") return this.constant(num(n.attrs.value as number));
    if (n.op === "dimval") return this.constant(dimExpr(n.attrs.dim as string | number));
    if (a === this.product) return { at: `4 * (${offsetOf(c, out)} + i)`, stride: "LANES" };
    const v = valueOf(c, a);
    if (v.arr !== "f32") throw new Unsupported();
    const shape = c.g.shapes[a]!;
    if (shape.every((d) => d === 1)) return { at: `4 * ${offsetOf(c, a)}`, stride: "SPLAT" };
    const same = shape.length === outShape.length && shape.every((d, k) => d === outShape[k]);
    if (same) return { at: `4 * (${offsetOf(c, a)} + i)`, stride: "LANES" };
    // Repeating along the leading axes from `axis` on: its values repeat every period of the loop.
    const axis = trailingStart(shape, outShape, 1);
    if (axis === null || axis === 0) throw new Unsupported();
    const period = outShape.slice(axis);
    const known = constantSize(shapeSize(period));
    if (known !== undefined && known > VECTOR_BLOCK) throw new Unsupported();
    const register = this.register();
    this.pinned.add(this.virtual - 1);
    this.tiled.push({ register, from: offsetOf(c, a), period: shapeSizeText(period), axis });
    return register;
  }

  // Each operation of the formula writes a fresh register, the node's root writes the result (for `out`).
  private target(f: NodeFormula, root: boolean): Operand {
    return root && f.id === this.out ? this.dst : this.register();
  }

  /** A select's condition as a mask register. */
  private cond(f: NodeFormula, x: Cond): Operand {
    const mask = this.register();
    if (x.k === "keep") {
      const threshold = Math.min(16777216, Math.max(0, Math.ceil(x.p * 16777216)));
      this.calls.push(`vec.keep(${mask.at}, key${f.id}, i, ${threshold}, n);`);
    } else {
      const [a, b] = [this.formula(f, x.a, false), this.formula(f, x.b, false)];
      this.calls.push(`vec.binary(${COMPARE[x.op]}, ${mask.at}, ${a.at}, ${a.stride}, ${b.at}, ${b.stride}, n);`);
    }
    return mask;
  }

  /** Writes the calls computing `x` (operands first), giving where its value is; `root` is the node's whole formula. */
  private formula(f: NodeFormula, x: Scalar, root: boolean): Operand {
    const known = f.memo.get(x);
    if (known !== undefined && !root) return known;
    let r: Operand;
    switch (x.k) {
      case "arg":
      case "num": {
        const v = x.k === "arg" ? f.args[x.i]! : this.constant(num(x.v));
        if (!root || f.id !== this.out) return v;
        r = this.dst;
        this.calls.push(`vec.unary(V_COPY, ${r.at}, ${v.at}, ${v.stride}, n);`);
        break;
      }
      case "fn1": {
        const a = this.formula(f, x.x, false);
        r = this.target(f, root);
        this.calls.push(`vec.unary(${UNARY[x.f]}, ${r.at}, ${a.at}, ${a.stride}, n);`);
        break;
      }
      case "fn2": {
        if (x.f === "pow") throw new Unsupported();
        const [a, b] = [this.formula(f, x.a, false), this.formula(f, x.b, false)];
        r = this.target(f, root);
        this.calls.push(`vec.binary(${BINARY[x.f]}, ${r.at}, ${a.at}, ${a.stride}, ${b.at}, ${b.stride}, n);`);
        break;
      }
      case "select": {
        const m = this.cond(f, x.cond);
        const [t, e] = [this.formula(f, x.then, false), this.formula(f, x.else, false)];
        r = this.target(f, root);
        this.calls.push(`vec.select(${r.at}, ${m.at}, ${t.at}, ${t.stride}, ${e.at}, ${e.stride}, n);`);
        break;
      }
    }
    f.memo.set(x, r);
    return r;
  }
}
