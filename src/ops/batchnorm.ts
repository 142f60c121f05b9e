// Batch normalisation's statistics: the mean and variance of each channel
// (the last axis) over every other axis. Their value depends on the mode,
// as dropout's does: in training, the batch's own statistics; in inference,
// the running statistics (the second argument, a param that training steps
// update and no optimizer trains, see `batchnorm` in src/ops/composites.ts).
// The rest of batchnorm is ordinary ops, so its derivative is theirs plus
// these two rules.
import { product } from "./cpu-util.ts";
import { formatShape, originNote } from "./shape-rules.ts";
import { defineOp, type ArgInfo, type GradBuilder, type Ref, type ShapeCtx, type WgslValue } from "./types.ts";

declare module "./types.ts" {
  interface OpAttrs {
    /** Training: the mean of x over every axis but the last; inference: the running mean (argument 1). */
    batch_mean: {};
    /** Training: the variance (divided by N, or N − 1 when `unbiased`, for the running estimate); inference: the running variance. */
    batch_var: { readonly unbiased: boolean };
  }
}

/** The shape rule of both: x has a channel axis; the running statistic is a vector of its size (NNC231). */
function channelStat(x: ArgInfo, running: ArgInfo, ctx: ShapeCtx): [import("./types.ts").IDim] | undefined {
  if (x.shape.length < 2) {
    ctx.error("NNC234", `batchnorm needs rows and a last axis of channels, got ${formatShape(x.shape.map(ctx.resolve))}`, {
      span: x.span,
      notes: originNote(x, x.shape, ctx),
      hint: "normalise [batch, channels] or [batch, height, width, channels]",
    });
    return undefined;
  }
  const last = x.shape[x.shape.length - 1]!;
  const ok = ctx.unify(running.shape[0]!, last, (a, b) => ctx.error("NNC231", `batchnorm's running statistics have ${a} channels, the input ${b}`));
  return ok ? [ctx.resolve(last)] : undefined;
}

/** The number of rows a channel's statistic is taken over: every axis but the last. */
const rowCount = (b: GradBuilder, x: Ref): Ref => {
  const s = b.shape(x);
  return b.count(s, s.map((_, i) => i).slice(0, -1));
};

/** The rows × width view of x for the runtime: rows as a product of sizes, width the channels. */
const view = (shape: readonly string[]) => ({ rows: product(shape.slice(0, -1)), width: shape[shape.length - 1]! });

/** One invocation per channel, summing down its column twice (mean, then squared deviations). */
function wgslStat(x: WgslValue, running: WgslValue, out: WgslValue, training: boolean, variance: false | "biased" | "unbiased") {
  const { rows, width } = view(x.shape);
  if (!training) return { mode: "threads" as const, count: width, body: [`${out.ref}[i] = ${running.ref}[i];`] };
  const body = [
    `let rows: u32 = ${rows};`,
    "var s: f32 = 0.0;",
    `for (var r: u32 = 0u; r < rows; r = r + 1u) { s = s + ${x.ref}[r * ${width} + i]; }`,
    "let m: f32 = s / f32(rows);",
  ];
  if (variance === false) return { mode: "threads" as const, count: width, body: [...body, `${out.ref}[i] = m;`] };
  const den = variance === "unbiased" ? "f32(max(rows, 2u) - 1u)" : "f32(rows)";
  return {
    mode: "threads" as const,
    count: width,
    body: [
      ...body,
      "var q: f32 = 0.0;",
      `for (var r: u32 = 0u; r < rows; r = r + 1u) { let d: f32 = ${x.ref}[r * ${width} + i] - m; q = q + d * d; }`,
      `${out.ref}[i] = q / ${den};`,
    ],
  };
}

export const batchnormOps = {
  batch_mean: defineOp({
    name: "batch_mean",
    kind: "layer",
    tensors: ["x", "running"],
    attrs: {},
    // d mean(x) = g/N at every row (training); the running statistic gets no gradient
    vjp: ({ g, args: [x], b }) => [b.div(b.op("broadcast_to", [g], { shape: b.shape(x!) }), rowCount(b, x!)), null],
    cpu: {
      kernel: ({ args: [x, run], out, training, vec }) => {
        const { rows, width } = view(x!.shape);
        return training ? [`batchMean(${vec}, f32, ${x!.off}, ${rows}, ${width}, f32, ${out.off});`] : [`f32.copyWithin(${out.off}, ${run!.off}, ${run!.off} + ${width});`];
      },
    },
    wgsl: { kernel: ({ args: [x, run], out, training }) => wgslStat(x!, run!, out, training, false) },
    shape: ([x, running], _attrs, ctx) => channelStat(x!, running!, ctx),
    doc: "in training, the mean of x over every axis but the last; in inference, the running mean",
  }),
  batch_var: defineOp({
    name: "batch_var",
    kind: "layer",
    tensors: ["x", "running"],
    attrs: { unbiased: { kind: "bool" } },
    // d var(x) = g · 2(x − mean)/den at every row (the mean's own slope sums to zero); none for the running statistic
    vjp: ({ g, args: [x, run], attrs, b }) => {
      const n = rowCount(b, x!);
      const den = attrs.unbiased ? b.sub(n, b.c(1)) : n;
      // The batch mean again, as a plain sum (batch_mean would need the running mean, which this op does not have).
      const centred = b.sub(x!, b.div(b.op("sum_to", [x!], { shape: b.shape(run!) }), n));
      return [b.div(b.mul(b.mul(b.c(2), b.op("broadcast_to", [g], { shape: b.shape(x!) })), centred), den), null];
    },
    cpu: {
      kernel: ({ args: [x, run], out, attrs, training, vec }) => {
        const { rows, width } = view(x!.shape);
        return training ? [`batchVar(${vec}, f32, ${x!.off}, ${rows}, ${width}, ${attrs.unbiased}, f32, ${out.off});`] : [`f32.copyWithin(${out.off}, ${run!.off}, ${run!.off} + ${width});`];
      },
    },
    wgsl: { kernel: ({ args: [x, run], out, attrs, training }) => wgslStat(x!, run!, out, training, attrs.unbiased ? "unbiased" : "biased") },
    shape: ([x, running], _attrs, ctx) => channelStat(x!, running!, ctx),
    doc: "in training, the variance of x over every axis but the last; in inference, the running variance",
  }),
};
