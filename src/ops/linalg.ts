// Matrix product, transpose and the reshaping ops.
import { concrete, formatShape, originNote } from "./shape-rules.ts";
import { product } from "./cpu-util.ts";
import { defineOp, isVar, type WgslKernel, type WgslKernelCtx, type CpuKernelCtx, type ArgInfo, type IDim, type IShape, type Ref, type ShapeCtx, type VjpRule } from "./types.ts";

/**
 * d(a b) = (g bᵀ, aᵀ g), with numpy's vector cases: a vector operand is made
 * a matrix, the product taken, and the result shaped back. Broadcast batch
 * dimensions are summed away by the gradient pass.
 */
const matmulVjp: VjpRule<"matmul"> = ({ g, args: [a, bm], b, needs }) => {
  const sa = b.shape(a!);
  const sb = b.shape(bm!);
  const go = b.shape(g);
  if (sa.length === 1 && sb.length === 1) return [needs[0] ? b.mul(g, bm!) : null, needs[1] ? b.mul(g, a!) : null];
  if (sa.length === 1) {
    // out [..., n] = a[k] · B[..., k, n]
    const gcol = b.reshape(g, [...go, 1]);
    const da: Ref | null = needs[0] ? b.reshape(b.matmul(bm!, gcol), [...go.slice(0, -1), sa[0]!]) : null;
    const db: Ref | null = needs[1] ? b.matmul(b.reshape(a!, [sa[0]!, 1]), b.reshape(g, [...go.slice(0, -1), 1, go[go.length - 1]!])) : null;
    return [da, db];
  }
  if (sb.length === 1) {
    // out [..., m] = A[..., m, k] · b[k]
    const gcol = b.reshape(g, [...go, 1]);
    const da: Ref | null = needs[0] ? b.matmul(gcol, b.reshape(bm!, [1, sb[0]!])) : null;
    const db: Ref | null = needs[1] ? b.reshape(b.matmul(b.transpose(a!), gcol), [...go.slice(0, -1), sb[0]!]) : null;
    return [da, db];
  }
  return [needs[0] ? b.matmul(g, b.transpose(bm!)) : null, needs[1] ? b.matmul(b.transpose(a!), g) : null];
};

function matmulShape(a: ArgInfo, b: ArgInfo, ctx: ShapeCtx): IShape | undefined {
  const sa = a.shape.map(ctx.resolve);
  const sb = b.shape.map(ctx.resolve);
  if (sa.length === 0 || sb.length === 0) {
    const scalar = sa.length === 0 ? a : b;
    ctx.error("NNC201", `cannot take the matrix product of a scalar (\`${ctx.text(scalar.span)}\`)`, {
      span: scalar.span,
      hint: "use `*` to scale by a scalar",
    });
    return undefined;
  }
  // Unknowns stay unresolved here so that a conflict can say where a `_` was solved.
  const left = a.shape.length === 1 ? [1, ...a.shape] : a.shape;
  const right = b.shape.length === 1 ? [...b.shape, 1] : b.shape;
  const k1 = left[left.length - 1]!;
  const k2 = right[right.length - 2]!;
  const ok = ctx.unify(k1, k2, (x, y) => {
    const textA = a.name ?? ctx.text(a.span);
    const textB = b.name ?? ctx.text(b.span);
    // Suggest the transpose that would make the product valid.
    const m = left[left.length - 2]!;
    const n = right[right.length - 1]!;
    const simple = (s: string) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(s);
    let hint: string | undefined;
    if (sb.length >= 2 && ctx.resolve(n) === ctx.resolve(k1)) hint = `did you mean \`${textA} ${simple(textB) ? textB + ".T" : "(" + textB + ").T"}\`?`;
    else if (sa.length >= 2 && ctx.resolve(m) === ctx.resolve(k2)) hint = `did you mean \`${simple(textA) ? textA + ".T" : "(" + textA + ").T"} ${textB}\`?`;
    ctx.error("NNC201", `cannot multiply ${formatShape(sa)} by ${formatShape(sb)}: ${x} ≠ ${y}`, {
      label: "inner dimensions differ",
      notes: [...originNote(a, a.shape, ctx), ...originNote(b, b.shape, ctx)],
      ...(hint ? { hint } : {}),
    });
  });
  if (!ok) return undefined;
  // Batch dims broadcast like numpy: aligned from the right, a 1 (or a
  // missing axis) repeats the other operand's matrices along that axis.
  const ba = left.slice(0, -2);
  const bb = right.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const batch: IDim[] = [];
  for (let i = 0; i < rank; i++) {
    const da = i < rank - ba.length ? 1 : ctx.resolve(ba[i - (rank - ba.length)]!);
    const db = i < rank - bb.length ? 1 : ctx.resolve(bb[i - (rank - bb.length)]!);
    if (da === 1) batch.push(db);
    else if (db === 1) batch.push(da);
    else {
      if (!ctx.unify(da, db, () => {})) {
        ctx.error("NNC202", `the batch axes of ${formatShape(sa)} and ${formatShape(sb)} cannot be broadcast: ${da} ≠ ${db}`, {
          label: "batch axes differ",
          notes: [...originNote(a, a.shape, ctx), ...originNote(b, b.shape, ctx)],
          hint: "batch axes (all but the last two) align from the right; each pair must be equal or one of them 1",
        });
        return undefined;
      }
      batch.push(ctx.resolve(da));
    }
  }
  const out: IDim[] = [...batch];
  if (sa.length >= 2) out.push(left[left.length - 2]!);
  if (sb.length >= 2) out.push(right[right.length - 1]!);
  return out.map(ctx.resolve);
}

/** Same elements, new shape: a copy into the output's place. */
const copy = ({ args: [x], out }: CpuKernelCtx<"reshape" | "flatten">) => [`${out.arr}.copyWithin(${out.off}, ${x!.off}, ${x!.off} + ${x!.size});`];

/** Same elements, new shape: one invocation per element. */
const wgslCopy = ({ args: [x], out }: WgslKernelCtx<"reshape" | "flatten">): WgslKernel => ({ mode: "threads", count: out.size, body: [`${out.ref}[i] = ${x!.ref}[i];`] });

/** Splits a shape's size into a constant factor and a sorted list of symbolic factors. */
function sizeOf(shape: IShape, ctx: ShapeCtx): { n: number; syms: string[] } | undefined {
  let n = 1;
  const syms: string[] = [];
  for (const d of shape) {
    const r = ctx.resolve(d);
    if (isVar(r)) return undefined;
    if (typeof r === "number") n *= r;
    else syms.push(r);
  }
  return { n, syms: syms.sort() };
}

export const linalgOps = {
  matmul: defineOp({
    name: "matmul",
    kind: "linalg",
    tensors: ["a", "b"],
    attrs: {},
    vjp: matmulVjp,
    cpu: "gemm",
    wgsl: "gemm",
    shape: ([a, b], _attrs, ctx) => matmulShape(a!, b!, ctx),
    doc: "matrix product (`a b` or `a @ b`), numpy matmul rules",
  }),
  transpose: defineOp({
    name: "transpose",
    kind: "shape",
    callName: "transpose",
    tensors: ["x"],
    attrs: {},
    // d xᵀ = gᵀ
    vjp: ({ g, b }) => [b.transpose(g)],
    cpu: {
      kernel: ({ args: [x], out }) =>
        x!.shape.length < 2
          ? [`${out.arr}.copyWithin(${out.off}, ${x!.off}, ${x!.off} + ${x!.size});`]
          : [`transposeLast2(${x!.arr}, ${x!.off}, ${out.arr}, ${out.off}, ${product(x!.shape.slice(0, -2))}, ${x!.shape[x!.shape.length - 2]}, ${x!.shape[x!.shape.length - 1]});`],
    },
    // One invocation per output element [.., c, r], reading x [.., r, c].
    wgsl: {
      kernel: ({ args: [x], out }) => {
        if (x!.shape.length < 2) return { mode: "threads", count: out.size, body: [`${out.ref}[i] = ${x!.ref}[i];`] };
        const r = x!.shape[x!.shape.length - 2]!;
        const c = x!.shape[x!.shape.length - 1]!;
        return {
          mode: "threads",
          count: out.size,
          body: [`let plane: u32 = i / (${r} * ${c});`, `let col: u32 = (i / ${r}) % ${c};`, `let row: u32 = i % ${r};`, `${out.ref}[i] = ${x!.ref}[plane * ${r} * ${c} + row * ${c} + col];`],
        };
      },
    },
    shape: ([x]) => (x!.shape.length < 2 ? x!.shape : [...x!.shape.slice(0, -2), x!.shape[x!.shape.length - 1]!, x!.shape[x!.shape.length - 2]!]),
    doc: "swaps the last two axes, as `x.T` does; a vector is unchanged",
  }),
  reshape: defineOp({
    name: "reshape",
    kind: "shape",
    callName: "reshape",
    tensors: ["x"],
    attrs: { shape: { kind: "dims" } },
    // d reshape(x) = reshape(g, shape of x)
    vjp: ({ g, args: [x], b }) => [b.reshape(g, b.shape(x!))],
    cpu: { kernel: copy },
    wgsl: { kernel: wgslCopy },
    shape: ([x], { shape }, ctx) => {
      const from = sizeOf(x!.shape, ctx);
      const holes = shape.filter((d) => d === -1).length;
      if (holes > 1) {
        ctx.error("NNC216", "reshape can infer at most one dimension (-1)");
        return undefined;
      }
      const known = sizeOf(shape.filter((d) => d !== -1), ctx)!;
      if (!from) {
        ctx.error("NNC216", `reshape needs the size of ${formatShape(x!.shape)} to be known`);
        return undefined;
      }
      const extra = [...from.syms];
      for (const s of known.syms) {
        const i = extra.indexOf(s);
        if (i < 0) {
          ctx.error("NNC216", `cannot reshape ${formatShape(x!.shape)} to ${formatShape(shape)}: \`${s}\` is not a factor of the size`);
          return undefined;
        }
        extra.splice(i, 1);
      }
      if (holes === 1) {
        if (from.n % known.n !== 0 || extra.length > 1 || (extra.length === 1 && from.n !== known.n)) {
          ctx.error("NNC216", `cannot reshape ${formatShape(x!.shape)} to ${formatShape(shape)}: the sizes do not divide`);
          return undefined;
        }
        const rest: IDim = extra.length === 1 ? extra[0]! : from.n / known.n;
        return shape.map((d) => (d === -1 ? rest : d));
      }
      if (extra.length > 0 || from.n !== known.n) {
        ctx.error("NNC216", `cannot reshape ${formatShape(x!.shape)} to ${formatShape(shape)}: the sizes differ`, {
          hint: "the number of elements must stay the same; -1 infers one dimension",
        });
        return undefined;
      }
      return shape;
    },
    doc: "the same elements in a new shape; each `d` is a size, a `dim` name, or −1 once (inferred)",
  }),
  flatten: defineOp({
    name: "flatten",
    kind: "shape",
    callName: "flatten",
    tensors: ["x"],
    attrs: {},
    // d flatten(x) = reshape(g, shape of x)
    vjp: ({ g, args: [x], b }) => [b.reshape(g, b.shape(x!))],
    cpu: { kernel: copy },
    wgsl: { kernel: wgslCopy },
    shape: ([x], _attrs, ctx) => {
      if (x!.shape.length === 0) {
        ctx.error("NNC220", "flatten needs at least one axis, got a scalar");
        return undefined;
      }
      let n = 1;
      for (const d of x!.shape.slice(1)) {
        const c = concrete(d, ctx, "each axis after the first given to flatten");
        if (c === undefined) return undefined;
        n *= c;
      }
      return [x!.shape[0]!, n];
    },
    doc: "keeps the first axis and flattens the rest: `[b, h, w, c]` → `[b, h·w·c]`",
  }),
  one_hot: defineOp({
    name: "one_hot",
    kind: "shape",
    callName: "one_hot",
    tensors: ["ids"],
    attrs: { n: { kind: "int" } },
    argTypes: ["i32"],
    vjp: "nograd", // integer ids have no gradient
    cpu: { kernel: ({ args: [ids], out, attrs }) => [`oneHot(${ids!.arr}, ${ids!.off}, ${ids!.size}, ${attrs.n}, ${out.arr}, ${out.off});`] },
    // An id outside [0, n) gives a row of zeros here (the CPU module throws).
    wgsl: { kernel: ({ args: [ids], out, attrs }) => ({ mode: "threads", count: out.size, body: [`${out.ref}[i] = select(0.0, 1.0, ${ids!.ref}[i / ${attrs.n}u] == i32(i % ${attrs.n}u));`] }) },
    shape: ([ids], { n }, ctx) => {
      if (n < 1) {
        ctx.error("NNC214", `one_hot needs a positive number of classes, got ${n}`);
        return undefined;
      }
      return [...ids!.shape, n];
    },
    doc: "integer ids → floats of shape `ids + [n]`: rows of the n × n identity",
  }),
};
