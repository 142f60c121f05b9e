// Structural ops: joining and cutting tensors along an axis (concat, slice,
// take), reordering axes (permute), dropping size-1 axes (squeeze, made by
// multi-axis reductions), and the causal mask of attention. They declare their own attributes (module augmentation, as
// activations.ts does) and are spread into OPS, so this file is the whole op.
import { formatShape, normalizeAxis, originNote } from "./shape-rules.ts";
import { product } from "./cpu-util.ts";
import { coords, strides, times } from "./wgsl-util.ts";
import { defineOp, type IDim, type ShapeCtx } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    /** `fill` replaces every element above the diagonal of the last two axes. */
    causal_mask: { readonly fill: number };
    permute: { readonly axes: readonly number[] };
    concat: { readonly axis: number };
    /** `end` null: to the end of the axis. Negative positions count from the end. */
    slice: { readonly start: number; readonly end: number | null; readonly axis: number };
    take: { readonly index: number; readonly axis: number };
    /** The gradient of slice and take: g placed at `start` along `axis` of zeros of `shape`. */
    unslice: { readonly start: number; readonly axis: number; readonly shape: import("./types.ts").Shape };
    /** Drops axes of size 1 (after a reduction over several axes with keepdims). */
    squeeze: { readonly axes: readonly number[] };
  }
}

/**
 * What causal_mask writes above the diagonal by default: large enough that
 * softmax gives those positions exactly 0 in float32 (e^−1e9 underflows),
 * but finite, so that arithmetic on a masked score (0 · it, it − it) stays a
 * number where −∞ would make NaN. A fully masked row cannot happen: the
 * diagonal, and so column 0 of every row, is never masked.
 */
export const CAUSAL_FILL = -1e9;

/** A resolved size, when it is a number. */
function knownSize(d: IDim, ctx: ShapeCtx): number | undefined {
  const r = ctx.resolve(d);
  return typeof r === "number" ? r : undefined;
}

/** The length of x[start:end] along an axis of size `dim`, checking the bounds where the size is known. */
function sliceLength(dim: IDim, start: number, end: number | null, ctx: ShapeCtx): IDim | undefined {
  const text = `${start}:${end ?? ""}`;
  const n = knownSize(dim, ctx);
  if (n !== undefined) {
    const s = start < 0 ? start + n : start;
    const e = end === null ? n : end < 0 ? end + n : end;
    if (s < 0 || e > n || e <= s) {
      ctx.error("NNC223", `slice ${text} is ${e <= s && s >= 0 && e <= n ? "empty" : "out of range"} for an axis of size ${n}`, {
        hint: `positions run from 0 to ${n - 1} (or ${-n} to -1 from the end); the end is excluded and must come after the start`,
      });
      return undefined;
    }
    return e - s;
  }
  // A symbolic size: the length is known when both ends count from the same side.
  if (end === null && start === 0) return ctx.resolve(dim);
  if (end === null && start < 0) return -start;
  if (end !== null && (start >= 0) === (end >= 0) && end > start) return end - start;
  if (end !== null && end < 0 === start < 0 && end <= start) {
    ctx.error("NNC223", `slice ${text} is empty`, { hint: "the end is excluded and must come after the start" });
    return undefined;
  }
  ctx.error("NNC223", `the length of slice ${text} depends on the size \`${String(ctx.resolve(dim))}\`, which is not known until the model is instantiated`, {
    hint: "count both ends from the same side (both from the start, or both negative from the end)",
  });
  return undefined;
}

/** A position along an axis of size `len` (a size expression), a negative one counted from the end. */
function positionExpr(pos: number, len: string): string {
  if (pos >= 0) return String(pos);
  return /^\d+$/.test(len) ? String(Number(len) + pos) : `(${len} - ${-pos})`;
}

/** The [outer, len, inner] view of a value around axis `a` (already normalised). */
function view(shape: readonly string[], a: number): { outer: string; len: string; inner: string } {
  return { outer: product(shape.slice(0, a)), len: shape[a] ?? "1", inner: product(shape.slice(a + 1)) };
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);

/** WGSL statements splitting the flat index `i` into (o, j, r) of an [outer, len, inner] view. */
function wgslSplit(len: string, inner: string): string[] {
  return [
    `let r: u32 = ${inner === "1" ? "0u" : `i % (${inner})`};`,
    `let j: u32 = ${inner === "1" ? "i" : `(i / (${inner}))`} % (${len});`,
    `let o: u32 = i / (${times(len, inner)});`,
  ];
}

/** The element (o, j, r) of a value viewed as [·, len, inner]. */
const at = (len: string, inner: string, j: string) => `(o * (${len}) + ${j}) * (${inner}) + r`;


export const structureOps = {
  causal_mask: defineOp({
    name: "causal_mask",
    kind: "shape",
    callName: "causal_mask",
    tensors: ["x"],
    attrs: { fill: { kind: "number", default: CAUSAL_FILL } },
    // d causal_mask(x) = g where kept, 0 above the diagonal: the mask of g with fill 0
    vjp: ({ g, b }) => [b.op("causal_mask", [g], { fill: 0 })],
    cpu: {
      kernel: ({ args: [x], out, attrs, num }) => {
        const s = x!.shape;
        return [`causalMask(${x!.arr}, ${x!.off}, ${out.arr}, ${out.off}, ${product(s.slice(0, -2))}, ${s[s.length - 2]}, ${s[s.length - 1]}, ${num(attrs.fill)});`];
      },
    },
    wgsl: {
      kernel: ({ args: [x], out, attrs, num }) => {
        const s = x!.shape;
        const [rows, cols] = [s[s.length - 2]!, s[s.length - 1]!];
        return { mode: "threads", count: out.size, body: [`let c: u32 = i % (${cols});`, `let r: u32 = (i / (${cols})) % (${rows});`, `${out.ref}[i] = select(${x!.ref}[i], ${num(attrs.fill)}, c > r);`] };
      },
    },
    shape: ([x], _attrs, ctx) => {
      if (x!.shape.length >= 2) return x!.shape;
      ctx.error("NNC225", `causal_mask needs at least two axes (…, queries, keys), got ${formatShape(x!.shape.map(ctx.resolve))}`, { span: x!.span, notes: originNote(x!, x!.shape, ctx) });
      return undefined;
    },
    doc: "x with every element above the diagonal of the last two axes (key after query) set to `fill`, −1e9 by default: before a softmax, attention to later positions gets weight 0",
  }),
  permute: defineOp({
    name: "permute",
    kind: "shape",
    callName: "permute",
    tensors: ["x"],
    attrs: { axes: { kind: "ints" } },
    // d permute(x, p) = permute(g, p⁻¹)
    vjp: ({ g, attrs, b }) => {
      const inverse = new Array<number>(attrs.axes.length);
      attrs.axes.forEach((a, k) => (inverse[norm(a, attrs.axes.length)] = k));
      return [b.op("permute", [g], { axes: inverse })];
    },
    cpu: { kernel: ({ args: [x], out, attrs, table }) => [`broadcastTo(${x!.arr}, ${x!.off}, ${out.arr}, ${out.off}, ${table(`permuteTable([${x!.shape.join(", ")}], [${attrs.axes.map((a) => norm(a, x!.shape.length)).join(", ")}])`)});`] },
    wgsl: {
      kernel: ({ args: [x], out, attrs }) => {
        const xs = strides(x!.shape);
        const terms = attrs.axes.map((a, k) => times(`o${k}`, xs[norm(a, x!.shape.length)]!));
        return { mode: "threads", count: out.size, body: [...coords(out.shape, "i", "o"), `${out.ref}[i] = ${x!.ref}[${terms.join(" + ") || "0u"}];`] };
      },
    },
    shape: ([x], { axes }, ctx) => {
      const r = x!.shape.length;
      const seen = axes.map((a) => norm(a, r));
      if (axes.length !== r || seen.some((a, k) => a < 0 || a >= r || seen.indexOf(a) !== k)) {
        ctx.error("NNC224", `[${axes.join(", ")}] is not a permutation of the ${r} axes of ${formatShape(x!.shape.map(ctx.resolve))}`, {
          hint: `list each axis from 0 to ${r - 1} once, in the new order (negative axes count from the end)`,
        });
        return undefined;
      }
      return seen.map((a) => x!.shape[a]!);
    },
    doc: "x with its axes reordered: axis k of the result is axis `axes[k]` of x (`permute(x, [0, 2, 1, 3])`)",
  }),
  concat: defineOp({
    name: "concat",
    kind: "shape",
    callName: "concat",
    tensors: ["a", "b"],
    variadic: true,
    // Values move unchanged, so integer ids can be joined as floats can (all of one type).
    argTypes: ["any", "any"],
    dtype: "first",
    attrs: { axis: { kind: "int", default: -1 } },
    // d concat(a, b, …) = the pieces of g along the axis
    vjp: ({ g, args, attrs, b, needs }) => {
      let start = 0;
      return args.map((x, k) => {
        const s = b.shape(x);
        const a = norm(attrs.axis, s.length);
        const n = s[a] as number; // concat's shape rule requires known sizes on the axis
        const piece = needs[k] ? b.op("slice", [g], { start, end: start + n, axis: a }) : null;
        start += n;
        return piece;
      });
    },
    cpu: {
      kernel: ({ args, out, attrs }) => {
        const a = norm(attrs.axis, out.shape.length);
        const { outer, len, inner } = view(out.shape, a);
        let before = "0";
        return args.map((x) => {
          const n = x.shape[a]!;
          const line = `copyRuns(${x.arr}, ${x.off}, ${times(n, inner)}, ${out.arr}, ${out.off}${before === "0" ? "" : ` + ${times(before, inner)}`}, ${times(len, inner)}, ${outer}, ${times(n, inner)});`;
          before = before === "0" ? n : String(Number(before) + Number(n));
          return line;
        });
      },
    },
    wgsl: {
      kernel: ({ args, out, attrs }) => {
        const a = norm(attrs.axis, out.shape.length);
        const { len, inner } = view(out.shape, a);
        let before = 0;
        const branches = args.map((x, k) => {
          const n = Number(x.shape[a]!);
          const read = `${out.ref}[i] = ${x.ref}[${at(String(n), inner, before === 0 ? "j" : `(j - ${before}u)`)}];`;
          before += n;
          return k === args.length - 1 ? `{ ${read} }` : `if (j < ${before}u) { ${read} }`;
        });
        return { mode: "threads", count: out.size, body: [...wgslSplit(len, inner), branches.join(" else ")] };
      },
    },
    shape: (args, { axis }, ctx) => {
      const first = args[0]!;
      const r = first.shape.length;
      const a = normalizeAxis(axis, r, ctx);
      if (a === undefined) return undefined;
      let total = 0;
      for (const [k, x] of args.entries()) {
        const all = () => args.map((y) => formatShape(y.shape.map(ctx.resolve))).join(", ");
        if (x.dtype !== first.dtype) {
          ctx.error("NNC222", "concat needs tensors of one element type: integers and floats do not mix", { span: x.span, notes: originNote(x, x.shape, ctx) });
          return undefined;
        }
        if (x.shape.length !== r) {
          ctx.error("NNC222", `concat needs tensors of one rank, got ${all()}`, { span: x.span, notes: originNote(x, x.shape, ctx) });
          return undefined;
        }
        const n = knownSize(x.shape[a]!, ctx);
        if (n === undefined) {
          ctx.error("NNC222", `concat needs a known size along axis ${axis}, but argument ${k + 1} has \`${String(ctx.resolve(x.shape[a]!))}\` there`, { span: x.span });
          return undefined;
        }
        total += n;
        for (let d = 0; d < r; d++) {
          if (d === a) continue;
          const clash = () =>
            ctx.error("NNC222", `cannot concatenate ${all()} along axis ${axis}: every other axis must agree, and axis ${d} differs`, {
              span: x.span,
              notes: [...originNote(first, first.shape, ctx), ...originNote(x, x.shape, ctx)],
            });
          if (!ctx.unify(first.shape[d]!, x.shape[d]!, clash)) return undefined;
        }
      }
      return first.shape.map((d, i) => (i === a ? total : ctx.resolve(d)));
    },
    doc: "the tensors joined along the axis, in order; every other axis must agree, and the sizes along the axis be known",
  }),
  slice: defineOp({
    name: "slice",
    kind: "shape",
    callName: "slice",
    tensors: ["x"],
    attrs: { start: { kind: "int" }, end: { kind: "int?", default: null }, axis: { kind: "int", default: -1 } },
    argTypes: ["any"], // integer ids too: `ids[:, :-1]`
    dtype: "first",
    // d slice(x) = g put back in place among zeros
    vjp: ({ g, args: [x], attrs, b }) => [b.op("unslice", [g], { start: attrs.start, axis: norm(attrs.axis, b.shape(x!).length), shape: b.shape(x!) })],
    cpu: {
      kernel: ({ args: [x], out, attrs }) => {
        const a = norm(attrs.axis, x!.shape.length);
        const { outer, len, inner } = view(x!.shape, a);
        return [`sliceAxis(${x!.arr}, ${x!.off}, ${out.arr}, ${out.off}, ${outer}, ${len}, ${inner}, ${positionExpr(attrs.start, len)}, ${out.shape[a]});`];
      },
    },
    wgsl: {
      kernel: ({ args: [x], out, attrs }) => {
        const a = norm(attrs.axis, x!.shape.length);
        const { len, inner } = view(x!.shape, a);
        return { mode: "threads", count: out.size, body: [...wgslSplit(out.shape[a]!, inner), `${out.ref}[i] = ${x!.ref}[${at(len, inner, `${positionExpr(attrs.start, len)} + j`)}];`] };
      },
    },
    shape: ([x], { start, end, axis }, ctx) => {
      const a = normalizeAxis(axis, x!.shape.length, ctx);
      if (a === undefined) return undefined;
      const n = sliceLength(x!.shape[a]!, start, end, ctx);
      return n === undefined ? undefined : x!.shape.map((d, i) => (i === a ? n : d));
    },
    doc: "the positions `start` up to (not including) `end` along the axis, to the end without one; negative positions count from the end; also written `x[:, start:end]`",
  }),
  take: defineOp({
    name: "take",
    kind: "shape",
    callName: "take",
    tensors: ["x"],
    attrs: { index: { kind: "int" }, axis: { kind: "int" } },
    argTypes: ["any"],
    dtype: "first",
    // d take(x) = g put back at the index among zeros
    vjp: ({ g, args: [x], attrs, b }) => [b.op("unslice", [g], { start: attrs.index, axis: norm(attrs.axis, b.shape(x!).length), shape: b.shape(x!) })],
    cpu: {
      kernel: ({ args: [x], out, attrs }) => {
        const { outer, len, inner } = view(x!.shape, norm(attrs.axis, x!.shape.length));
        return [`sliceAxis(${x!.arr}, ${x!.off}, ${out.arr}, ${out.off}, ${outer}, ${len}, ${inner}, ${positionExpr(attrs.index, len)}, 1);`];
      },
    },
    wgsl: {
      kernel: ({ args: [x], out, attrs }) => {
        const { len, inner } = view(x!.shape, norm(attrs.axis, x!.shape.length));
        return { mode: "threads", count: out.size, body: [...wgslSplit("1", inner), `${out.ref}[i] = ${x!.ref}[${at(len, inner, positionExpr(attrs.index, len))}];`] };
      },
    },
    shape: ([x], { index, axis }, ctx) => {
      const a = normalizeAxis(axis, x!.shape.length, ctx);
      if (a === undefined) return undefined;
      const n = knownSize(x!.shape[a]!, ctx);
      if (n !== undefined && (index >= n || index < -n)) {
        ctx.error("NNC223", `index ${index} is out of range for an axis of size ${n}`, { hint: `indices run from 0 to ${n - 1}, or ${-n} to -1 from the end` });
        return undefined;
      }
      return x!.shape.filter((_, i) => i !== a);
    },
    doc: "the entries at position `index` along the axis, which is dropped; a negative index counts from the end; also written `x[:, -1]`",
  }),
  unslice: defineOp({
    name: "unslice",
    kind: "shape",
    tensors: ["g"],
    attrs: { start: { kind: "int" }, axis: { kind: "int" }, shape: { kind: "dims" } },
    // d unslice(g) = the slice of the incoming gradient where g was put
    vjp: ({ g, args: [x], attrs, b }) => {
      const count = b.shape(x!).length === attrs.shape.length ? (b.shape(x!)[attrs.axis] as number) : 1;
      const piece = b.op("slice", [g], { start: attrs.start, end: attrs.start + count === 0 ? null : attrs.start + count, axis: attrs.axis });
      return [b.reshape(piece, b.shape(x!))];
    },
    cpu: {
      kernel: ({ args: [g], out, attrs }) => {
        const { outer, len, inner } = view(out.shape, attrs.axis);
        const count = g!.shape.length === out.shape.length ? g!.shape[attrs.axis]! : "1";
        return [`unsliceAxis(${g!.arr}, ${g!.off}, ${out.arr}, ${out.off}, ${outer}, ${len}, ${inner}, ${positionExpr(attrs.start, len)}, ${count});`];
      },
    },
    wgsl: {
      kernel: ({ args: [g], out, attrs }) => {
        const { len, inner } = view(out.shape, attrs.axis);
        const count = g!.shape.length === out.shape.length ? g!.shape[attrs.axis]! : "1";
        const start = positionExpr(attrs.start, len);
        return {
          mode: "threads",
          count: out.size,
          body: [...wgslSplit(len, inner), `if (j >= ${start} && j < ${start} + ${count}) { ${out.ref}[i] = ${g!.ref}[${at(count, inner, `(j - ${start})`)}]; } else { ${out.ref}[i] = 0.0; }`],
        };
      },
    },
    shape: (_args, { shape }) => shape,
    doc: "g placed at `start` along the axis of zeros of `shape`: the gradient of slice and take",
  }),
  squeeze: defineOp({
    name: "squeeze",
    kind: "shape",
    tensors: ["x"],
    attrs: { axes: { kind: "ints" } },
    // d squeeze(x) = g reshaped back to x's shape
    vjp: ({ g, args: [x], b }) => [b.reshape(g, b.shape(x!))],
    cpu: { kernel: ({ args: [x], out }) => [`${out.arr}.copyWithin(${out.off}, ${x!.off}, ${x!.off} + ${x!.size});`] },
    wgsl: { kernel: ({ args: [x], out }) => ({ mode: "threads", count: out.size, body: [`${out.ref}[i] = ${x!.ref}[i];`] }) },
    shape: ([x], { axes }, ctx) => {
      const r = x!.shape.length;
      const drop = axes.map((a) => norm(a, r));
      return x!.shape.filter((_, i) => !drop.includes(i)).map(ctx.resolve);
    },
    doc: "x without the given axes, each of size 1",
  }),
};
