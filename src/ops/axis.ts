// Ops along an axis: softmax, reductions, argmax.
import { normalizeAxis } from "./shape-rules.ts";
import { axisView } from "./cpu-util.ts";
import { axisView as wgslAxis, strided, workgroupReduce } from "./wgsl-util.ts";
import { defineOp, type CpuRule, type WgslRule, type WgslValue, type GradBuilder, type IShape, type OpAttrs, type OpDef, type OpName, type Ref, type Shape, type ShapeCtx, type VjpRule } from "./types.ts";

function reduced(shape: IShape, axis: number | null, keepdims: boolean, ctx: ShapeCtx): IShape | undefined {
  if (axis === null) return keepdims ? shape.map(() => 1) : [];
  const a = normalizeAxis(axis, shape.length, ctx);
  if (a === undefined) return undefined;
  return keepdims ? shape.map((d, i) => (i === a ? 1 : d)) : shape.filter((_, i) => i !== a);
}

/** The axes a reduction ran over, normalised. */
function reducedAxes(shape: Shape, axis: number | null): number[] {
  if (axis === null) return shape.map((_, i) => i);
  return [axis < 0 ? axis + shape.length : axis];
}

/** Spreads a reduced value back over the input's shape (the inverse of a reduction's shape change). */
function spread(b: GradBuilder, r: Ref, input: Shape, axis: number | null, keepdims: boolean): Ref {
  const axes = reducedAxes(input, axis);
  const kept = keepdims ? r : b.reshape(r, input.map((d, i) => (axes.includes(i) ? 1 : d)));
  return b.op("broadcast_to", [kept], { shape: input });
}

type ReduceName = "sum" | "mean" | "max";
type ReduceAttrs = { readonly axis: number | null; readonly keepdims: boolean };

/** An axis kernel of the runtime: fn(x, xOff, out, outOff, outer, len, inner). */
function axisKernel<K extends OpName>(fn: string, axisOf: (attrs: OpAttrs[K]) => number | null): CpuRule<K> {
  return {
    kernel: ({ args: [x], out, attrs }) => {
      const v = axisView(x!, axisOf(attrs));
      return [`${fn}(${x!.arr}, ${x!.off}, ${out.arr}, ${out.off}, ${v.outer}, ${v.len}, ${v.inner});`];
    },
  };
}

/** A product of dims (`dim_block * dim_width`) as one divisor: grouped, or `/` and `%` would bind to its first factor. */
const grouped = (size: string): string => (/^\w+$/.test(size) ? size : `(${size})`);

/**
 * A WGSL reduction along an axis: one workgroup per (outer, inner) row, its
 * invocations striding the axis, then a tree in workgroup memory. `finish`
 * gets the row's elements by index `j` and writes the row's results.
 */
function wgslAxisKernel<K extends OpName>(axisOf: (attrs: OpAttrs[K]) => number | null, finish: (at: (j: string) => string, out: WgslValue, idx: (j: string) => string, len: string) => string[]): WgslRule<K> {
  return {
    kernel: ({ args: [x], out, attrs }) => {
      const v = wgslAxis(x!, axisOf(attrs));
      const inner = grouped(v.inner);
      const base = v.inner === "1" ? `row * ${v.len}` : `(row / ${inner}) * ${v.len} * ${inner} + row % ${inner}`;
      const idx = (j: string) => `base + ${v.inner === "1" ? j : `${j} * ${v.inner}`}`;
      const at = (j: string) => `${x!.ref}[${idx(j)}]`;
      return { mode: "rows", count: v.outer === "1" ? v.inner : v.inner === "1" ? v.outer : `${v.outer} * ${v.inner}`, body: [`let base: u32 = ${base};`, ...finish(at, out, idx, v.len)] };
    },
  };
}

/** sum, mean or max of a row: the reduction, then one invocation writes it. */
function wgslReduce<K extends ReduceName>(kind: ReduceName): WgslRule<K> {
  return wgslAxisKernel<K>((a) => a.axis, (at, out, _idx, len) => [
    `var part: f32 = ${kind === "max" ? "-3.4028234663852886e38" : "0.0"};`,
    ...strided("j", len, [kind === "max" ? `part = max(part, ${at("j")});` : `part = part + ${at("j")};`]),
    ...workgroupReduce("part", "total", kind === "max" ? "max" : "sum"),
    `if (lid == 0u) { ${out.ref}[row] = ${kind === "mean" ? `total / f32(${len})` : "total"}; }`,
  ]);
}

/** softmax or log_softmax of a row: its maximum, then Σ exp(x − max), then each element. */
function wgslSoftmax<K extends SoftmaxName>(log: boolean): WgslRule<K> {
  return wgslAxisKernel<K>((a) => a.axis, (at, out, idx, len) => {
    const put = (j: string) => `${out.ref}[${idx(j)}]`;
    return [
      "var part: f32 = -3.4028234663852886e38;",
      ...strided("j", len, [`part = max(part, ${at("j")});`]),
      ...workgroupReduce("part", "m", "max"),
      "part = 0.0;",
      ...strided("j", len, [`part = part + exp(${at("j")} - m);`]),
      ...workgroupReduce("part", "s", "sum"),
      ...strided("j", len, [log ? `${put("j")} = ${at("j")} - (m + log(s));` : `${put("j")} = exp(${at("j")} - m) / s;`]),
    ];
  });
}

const REDUCE_KERNELS = { sum: "reduceSum", mean: "reduceMean", max: "reduceMax" } as const;

/** An op along one axis of x (a reduction, softmax): callable by its name, the rest as given. */
function axisOp<F extends ReduceName | SoftmaxName, K extends F>(name: K, rule: Omit<OpDef<F>, "name" | "kind" | "callName" | "tensors">): OpDef<K> {
  // The rule is checked as OpDef<F>; TypeScript cannot see that the four fields added complete it for K.
  return { name, kind: "reduce", callName: name, tensors: ["x"], ...rule } as unknown as OpDef<K>;
}

function reduction<K extends ReduceName>(name: K, doc: string, vjp: VjpRule<K>): OpDef<K> {
  return axisOp<ReduceName, K>(name, {
    attrs: { axis: { kind: "int?", default: null }, keepdims: { kind: "bool", default: false } },
    vjp: vjp as VjpRule<ReduceName>,
    cpu: axisKernel<ReduceName>(REDUCE_KERNELS[name], (a) => a.axis),
    wgsl: wgslReduce<ReduceName>(name),
    shape: ([x], { axis, keepdims }, ctx) => reduced(x!.shape, axis, keepdims, ctx),
    doc,
  });
}

const sumVjp = ({ g, args: [x], attrs, b }: { g: Ref; args: readonly Ref[]; attrs: ReduceAttrs; b: GradBuilder }) =>
  spread(b, g, b.shape(x!), attrs.axis, attrs.keepdims);

type SoftmaxName = "softmax" | "log_softmax";
function softmaxLike<K extends SoftmaxName>(name: K, doc: string, vjp: VjpRule<K>): OpDef<K> {
  return axisOp<SoftmaxName, K>(name, {
    attrs: { axis: { kind: "int", default: -1 } },
    vjp: vjp as VjpRule<SoftmaxName>,
    cpu: axisKernel<SoftmaxName>(name === "softmax" ? "softmax" : "logSoftmax", (a) => a.axis),
    wgsl: wgslSoftmax<SoftmaxName>(name === "log_softmax"),
    shape: ([x], { axis }, ctx) => (normalizeAxis(axis, x!.shape.length, ctx) === undefined ? undefined : x!.shape),
    doc,
  });
}

export const axisOps = {
  // d softmax(x) = y · (g − Σ_axis g·y)
  softmax: softmaxLike("softmax", "exp(x) normalised to sum to 1 along the axis; same shape", ({ g, out, attrs, b }) => [
    b.mul(out, b.sub(g, b.op("sum", [b.mul(g, out)], { axis: attrs.axis, keepdims: true }))),
  ]),
  // d log_softmax(x) = g − eʸ · Σ_axis g
  log_softmax: softmaxLike("log_softmax", "x − logsumexp(x) along the axis, computed stably; same shape", ({ g, out, attrs, b }) => [
    b.sub(g, b.mul(b.op("exp", [out], {}), b.op("sum", [g], { axis: attrs.axis, keepdims: true }))),
  ]),
  // d Σx = g spread over the summed axes
  sum: reduction("sum", "the sum along the axis, or a list of axes (without one: of every element); `keepdims` keeps the axis as size 1", (a) => [sumVjp(a)]),
  // d mean(x) = g spread over the axes, divided by their size
  mean: reduction("mean", "the mean along the axis, or a list of axes (without one: of every element); `keepdims` keeps the axis as size 1", (a) => {
    const shape = a.b.shape(a.args[0]!);
    return [a.b.div(sumVjp(a), a.b.count(shape, reducedAxes(shape, a.attrs.axis)))];
  }),
  // d max(x) = g split evenly among the elements equal to the maximum: k ties
  // get g/k each (as PyTorch's amax and JAX), so the total passed back is g,
  // a subgradient, and the mean of the one-sided finite differences.
  max: reduction("max", "the largest element along the axis, or a list of axes (without one: of every element); `keepdims` keeps the axis as size 1", ({ g, args: [x], out, attrs, b }) => {
    const shape = b.shape(x!);
    const mask = b.op("eq", [x!, spread(b, out, shape, attrs.axis, attrs.keepdims)], {});
    const ties = b.op("sum", [mask], { axis: attrs.axis, keepdims: attrs.keepdims });
    return [b.mul(mask, spread(b, b.div(g, ties), shape, attrs.axis, attrs.keepdims))];
  }),
  argmax: defineOp({
    name: "argmax",
    kind: "reduce",
    callName: "argmax",
    tensors: ["x"],
    attrs: { axis: { kind: "int?", default: null } },
    vjp: "nograd",
    cpu: axisKernel<"argmax">("argmax", (a) => a.axis),
    // One invocation per row, in order: the first maximum wins, as on the CPU.
    wgsl: {
      kernel: ({ args: [x], out, attrs }) => {
        const v = wgslAxis(x!, attrs.axis);
        const at = (j: string) => `${x!.ref}[base + ${v.inner === "1" ? j : `${j} * ${v.inner}`}]`;
        return {
          mode: "threads",
          count: v.outer === "1" ? v.inner : v.inner === "1" ? v.outer : `${v.outer} * ${v.inner}`,
          body: [
            `let base: u32 = ${v.inner === "1" ? `i * ${v.len}` : `(i / ${grouped(v.inner)}) * ${v.len} * ${v.inner} + i % ${grouped(v.inner)}`};`,
            "var best: i32 = 0;",
            `var bv: f32 = ${at("0u")};`,
            `for (var j: u32 = 1u; j < ${v.len}; j = j + 1u) {`,
            `  let e: f32 = ${at("j")};`,
            "  if (e > bv) { best = i32(j); bv = e; }",
            "}",
            `${out.ref}[i] = best;`,
          ],
        };
      },
    },
    dtype: "i32",
    shape: ([x], { axis }, ctx) => reduced(x!.shape, axis, false, ctx),
    doc: "the index of the largest element along the axis (without one: in the flattened tensor), as an integer; passes no gradient",
  }),
};
